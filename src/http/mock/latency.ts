import { parseDuration, type Duration } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';
import type { Random } from './random.js';

/** A latency: fixed (`'200ms'`, `250`), uniform (`'200ms-1.5s'`, `{ min, max }`). */
export type LatencySpec = Duration | { min: Duration; max: Duration };

/** One phase of a schedule: this latency for `for` (mock time), or forever when `for` is absent. */
export interface LatencyPhase {
  latency: LatencySpec;
  for?: Duration | undefined;
}

/**
 * A latency, or a schedule of them: `'8s-30s:2m, 100ms-300ms'` is 8–30 s for two minutes,
 * then 100–300 ms (durations are mock time, divided by `timeScale`).
 */
export type LatencyInput = LatencySpec | string | readonly LatencyPhase[];

/** A latency model: real milliseconds for a request arriving `elapsedMs` after the schedule began. */
export interface LatencyModel {
  sample(elapsedMs: number, random: Random): number;
  /** True when every phase is a fixed 0: the mock then answers without touching the clock. */
  readonly instant: boolean;
}

interface Phase {
  min: number;
  max: number;
  untilMs: number;
}

/** Parses a LatencyInput; throws ConfigError naming `field`. */
export function parseLatency(input: LatencyInput, timeScale: number, field = 'latency'): LatencyModel {
  const phases = toPhases(input, field).map((p, i): Phase => {
    const name = Array.isArray(input) ? `${field}[${i}]` : field;
    const [min, max] = parseSpec(p.latency, name);
    if (max < min) throw new ConfigError(name, p.latency, 'the maximum latency must not be below the minimum');
    return { min: min / timeScale, max: max / timeScale, untilMs: p.for === undefined ? Infinity : parseDuration(p.for, `${name}.for`) / timeScale };
  });
  if (phases.length === 0) throw new ConfigError(field, input, 'needs at least one phase');
  let end = 0;
  for (const phase of phases) phase.untilMs = end += phase.untilMs;
  phases[phases.length - 1]!.untilMs = Infinity; // the last phase lasts
  return {
    instant: phases.every((p) => p.max === 0),
    sample(elapsedMs, random) {
      const phase = phases.find((p) => elapsedMs < p.untilMs) ?? phases[phases.length - 1]!;
      return phase.min + random() * (phase.max - phase.min);
    },
  };
}

function toPhases(input: LatencyInput, field: string): LatencyPhase[] {
  if (Array.isArray(input)) return input as LatencyPhase[];
  if (typeof input === 'string' && (input.includes(',') || input.includes(':'))) {
    return input.split(',').map((part) => {
      const [latency, span, extra] = part.split(':').map((s) => s.trim());
      if (!latency || extra !== undefined || span === '') throw new ConfigError(field, input, "use e.g. '200ms-1s' or '8s-30s:2m, 100ms-300ms'");
      return span === undefined ? { latency } : { latency, for: span };
    });
  }
  return [{ latency: input as LatencySpec }];
}

function parseSpec(spec: LatencySpec, field: string): [number, number] {
  if (typeof spec === 'object' && spec !== null) return [parseDuration(spec.min, `${field}.min`), parseDuration(spec.max, `${field}.max`)];
  if (typeof spec === 'string' && spec.includes('-')) {
    const [min, max, extra] = spec.split('-');
    if (extra !== undefined || !min || !max) throw new ConfigError(field, spec, "a range is 'min-max', e.g. '200ms-1.5s'");
    return [parseDuration(min, field), parseDuration(max, field)];
  }
  const fixed = parseDuration(spec, field);
  return [fixed, fixed];
}
