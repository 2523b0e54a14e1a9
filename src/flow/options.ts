import { checkName } from '../core/telemetry.js';
import type { AdaptiveLimit } from '../adaptive/adaptive-limit.js';
import { Gradient2Limit } from '../adaptive/gradient2-limit.js';
import { RateSizedLimit } from '../adaptive/rate-sized-limit.js';
import { RateLimiter } from '../limiters/rate-limiter.js';
import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError, RejectedError, TimeoutError } from '../core/errors.js';
import type { Policy } from '../policies/policy.js';
import type { FlowOptions } from './types.js';

/** FlowOptions checked and with defaults filled in; what the engine runs on. */
export interface FlowConfig<I> {
  name: string;
  clock: Clock;
  rate: RateLimiter | undefined;
  /** A fixed limit, or the adaptive algorithm that sets it. */
  fixedLimit: number;
  adaptive: AdaptiveLimit | undefined;
  cost: ((item: I) => number) | undefined;
  retry: Policy | undefined;
  breaker: Policy | undefined;
  timeout: Policy | undefined;
  ordered: boolean;
  buffer: number;
  window: number | undefined;
  stopOnError: boolean;
  signal: AbortSignal | undefined;
  guard: FlowOptions<I>['guard'];
  isDrop: (error: unknown) => boolean;
  /** Average cost of recent items, for sizing 'auto' by items rather than rate units. */
  averageCost: { value: number };
}

const DEFAULT_CONCURRENCY = 16;

export function resolveOptions<I>(options: FlowOptions<I> = {}): FlowConfig<I> {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
  const clock = options.clock ?? systemClock;
  const name = checkName(options.name, 'flow');
  const rate = toRateLimiter(options.rate, clock, name);
  const averageCost = { value: 1 };
  const concurrency = options.concurrency ?? (rate ? 'auto' : DEFAULT_CONCURRENCY);
  let fixedLimit = 0;
  let adaptive: AdaptiveLimit | undefined;
  if (typeof concurrency === 'number') {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError('concurrency', concurrency, "must be a whole number >= 1, 'auto' or an AdaptiveLimit");
    fixedLimit = concurrency;
  } else if (concurrency === 'auto') {
    adaptive = rate
      ? new RateSizedLimit({ itemsPerMs: () => sustainedRatePerMs(rate) / averageCost.value })
      : new Gradient2Limit({ initial: DEFAULT_CONCURRENCY });
  } else if (concurrency !== null && typeof concurrency === 'object' && typeof concurrency.onSample === 'function') {
    adaptive = concurrency;
  } else {
    throw new ConfigError('concurrency', concurrency, "must be a whole number >= 1, 'auto' or an AdaptiveLimit");
  }
  const buffer = options.buffer ?? 16;
  if (!Number.isInteger(buffer) || buffer < 1) throw new ConfigError('buffer', buffer, 'must be a whole number >= 1');
  const window = options.window;
  if (window !== undefined && (!Number.isInteger(window) || window < 1)) throw new ConfigError('window', window, 'must be a whole number >= 1');
  for (const field of ['retry', 'breaker', 'timeout'] as const) {
    const policy = options[field];
    if (policy !== undefined && (policy === null || typeof policy.execute !== 'function')) {
      throw new ConfigError(field, policy, 'must be a Policy (an object with execute(fn, context))');
    }
  }
  if (options.cost !== undefined && typeof options.cost !== 'function') throw new ConfigError('cost', options.cost, 'must be a function of the item');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new ConfigError('signal', options.signal, 'must be an AbortSignal');
  return {
    name,
    clock,
    rate,
    fixedLimit,
    adaptive,
    cost: options.cost,
    retry: options.retry,
    breaker: options.breaker,
    timeout: options.timeout,
    ordered: options.ordered ?? false,
    buffer,
    window,
    stopOnError: options.stopOnError ?? false,
    signal: options.signal,
    guard: options.guard,
    isDrop: options.isDrop ?? isOverloadError,
    averageCost,
  };
}

function toRateLimiter(rate: FlowOptions<unknown>['rate'], clock: Clock, name: string): RateLimiter | undefined {
  if (rate === undefined) return undefined;
  if (rate instanceof RateLimiter) return rate;
  try {
    return new RateLimiter({ limits: rate, clock, name });
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError('rate', rate, error.message);
    throw error;
  }
}

/** The slowest steady rate among the limiter's limits, in units per ms: what it can sustain. */
export function sustainedRatePerMs(limiter: RateLimiter): number {
  let rate = Number.POSITIVE_INFINITY;
  for (const spec of limiter.limits) rate = Math.min(rate, spec.limit / spec.intervalMs);
  return rate;
}

/** The default drop test: errors that say "too much", not "this item is bad". */
export function isOverloadError(error: unknown): boolean {
  if (error instanceof TimeoutError || error instanceof RejectedError) return true;
  if (error === null || typeof error !== 'object') return false;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const code = status ?? statusCode;
  return code === 429 || code === 503;
}
