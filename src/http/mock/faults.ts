import { ConfigError } from '../../core/errors.js';

/**
 * Faults the mock injects into admitted requests:
 * - `5xx`: a 500, 502, 503 or 504 with a JSON error body;
 * - `hang`: no answer at all, until the client gives up or the mock closes;
 * - `reset`: the connection is reset (TCP RST) instead of an answer;
 * - `truncated`: headers promise the full body, half of it arrives, then the connection drops;
 * - `malformed`: a complete, well-framed 200 whose JSON is cut short.
 */
export type FaultKind = '5xx' | 'hang' | 'reset' | 'truncated' | 'malformed';
export const FAULT_KINDS: readonly FaultKind[] = ['5xx', 'hang', 'reset', 'truncated', 'malformed'];

/** Probability of each fault per admitted request, e.g. `{ '5xx': 0.01, reset: 0.005 }` or `'5xx=0.01,reset=0.005'`. */
export type FaultRates = Partial<Record<FaultKind, number>>;

/** Parses and checks fault rates: each in [0, 1], together at most 1. Throws ConfigError. */
export function parseFaults(input: FaultRates | string | undefined, field = 'faults'): Required<FaultRates> {
  const rates: Required<FaultRates> = { '5xx': 0, hang: 0, reset: 0, truncated: 0, malformed: 0 };
  if (input === undefined) return rates;
  const entries: [string, unknown][] =
    typeof input === 'string'
      ? input
          .split(',')
          .filter((s) => s.trim() !== '')
          .map((part) => {
            const [name, value, extra] = part.split('=').map((s) => s.trim());
            if (value === undefined || extra !== undefined) throw new ConfigError(field, input, "use e.g. '5xx=0.01,reset=0.005'");
            return [name!, value === '' ? NaN : Number(value)];
          })
      : typeof input === 'object' && input !== null
        ? Object.entries(input)
        : [[field, input]];
  for (const [name, value] of entries) {
    if (!FAULT_KINDS.includes(name as FaultKind)) throw new ConfigError(`${field}.${name}`, value, `is not a fault; use ${FAULT_KINDS.join(', ')}`);
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new ConfigError(`${field}.${name}`, value, 'must be a probability between 0 and 1');
    rates[name as FaultKind] = value;
  }
  const total = FAULT_KINDS.reduce((sum, kind) => sum + rates[kind], 0);
  if (total > 1 + 1e-9) throw new ConfigError(field, input, `probabilities add up to ${total}, more than 1`);
  return rates;
}

/** The fault for a uniform draw `u` in [0, 1): each kind owns a slice as wide as its rate. */
export function pickFault(u: number, rates: Required<FaultRates>): FaultKind | undefined {
  let edge = 0;
  for (const kind of FAULT_KINDS) {
    edge += rates[kind];
    if (u < edge) return kind;
  }
  return undefined;
}
