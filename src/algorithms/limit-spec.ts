import { ConfigError } from '../core/errors.js';
import { parseDuration, parseRate, type Duration, type RateInput } from '../core/duration.js';

/** The rate-limit algorithms sluice implements, each with its own stated guarantee (README). */
export type Algorithm = 'gcra' | 'sliding-window' | 'fixed-window';

const ALGORITHMS: readonly Algorithm[] = ['gcra', 'sliding-window', 'fixed-window'];

/** One limit as a user writes it: a rate string, or an object that adds per-limit options. */
export type LimitInput =
  | RateInput
  | { rate: RateInput; algorithm?: Algorithm; burst?: number; slack?: Duration; smooth?: Duration; arrivalJitter?: Duration };

/** Defaults a limiter applies to limits that do not set their own. */
export interface LimitDefaults {
  algorithm?: Algorithm | undefined;
  burst?: number | undefined;
  slack?: Duration | undefined;
  smooth?: Duration | undefined;
  /**
   * The arrival jitter of limits that do not set their own (LimitSpec.jitterMs): a duration,
   * or a rule giving it from a limit's interval (a limiter on real time passes
   * defaultArrivalJitterMs). Default 0.
   */
  arrivalJitter?: (Duration | ((intervalMs: number) => number)) | undefined;
}

/**
 * LimitSpec: one normalised limit — at most `limit` units per `intervalMs` under `algorithm`.
 * `burst` (GCRA and sliding window) is how many units may start back to back after an
 * idle spell; `slackMs` is how late a start may be and still keep its turn (see gcra.ts).
 */
export interface LimitSpec {
  readonly algorithm: Algorithm;
  readonly limit: number;
  readonly intervalMs: number;
  readonly burst: number;
  readonly slackMs: number;
  /**
   * Smoothing window W (smoothing.ts): no window of length W or longer holds more than
   * `burst - 1 + ceil(L·N/T)` unit starts. Absent: off.
   */
  readonly smoothMs?: number | undefined;
  /**
   * Arrival jitter J: how much the time from this limit's decision to the request's arrival
   * at the server may vary — the caller's start lag, the event loop, the network, the
   * server's own queue. A sliding window counts each start for `intervalMs + J`, so that
   * no window of length `intervalMs` of the server's arrivals holds more than `limit`
   * (arrivals in `[t, t + T)` were started within `T + J` of each other). Absent: 0, exact on
   * the limiter's own clock. GCRA and fixed windows state what it means for them instead
   * (README, "At the server").
   */
  readonly jitterMs?: number | undefined;
}

/** The share of the interval a default arrival jitter takes: what it may cost a window's rate (2 %, at most). */
const DEFAULT_JITTER_SHARE = 0.02;
/**
 * The most a default arrival jitter is: the lateness of a request on a new TLS connection
 * (two round trips more than one on a warm connection), which is where arrivals spread most.
 */
export const DEFAULT_JITTER_MS = 100;

/**
 * defaultArrivalJitterMs: the arrival jitter a limiter on real time assumes when none is
 * given — 2 % of the interval, at most 100 ms: 20 ms at a second (the rate then loses 2 %),
 * 100 ms from 5 s on (a minute loses 0.17 %, an hour 0.003 %), 2 ms for `'10/100ms'`. Short
 * windows would lose too much to a margin the size of a slow handshake; long ones lose
 * nothing worth keeping a 429 for. sluiceFetch, llmFetch and harvest widen it when the
 * server shows it was not enough (ArrivalMargin).
 */
export function defaultArrivalJitterMs(intervalMs: number): number {
  return Math.min(DEFAULT_JITTER_MS, intervalMs * DEFAULT_JITTER_SHARE);
}

/**
 * The largest cost this limit can ever admit in one call: `burst` for GCRA, `limit` for the
 * windows. A larger cost would wait forever, so limiters refuse it with a ConfigError.
 */
export function capacityOf(spec: LimitSpec): number {
  // A paced sliding window admits any cost up to its limit (see sliding-window.ts).
  return spec.algorithm === 'gcra' ? spec.burst : spec.limit;
}

/**
 * Default slack: how far a paced limit may catch up after a late timer (BENCHMARKS.md,
 * accuracy and timers). A Node timer wakes 0.1–1 ms late on a quiet machine and several ms
 * late on a loaded one; every wake-up later than the slack loses its lateness for good.
 *
 * - `sliding-window`: 1 % of the interval, at most 10 ms, and never less than the gcra
 *   default. Its log keeps every window `[t, t+T)` at N whatever the slack, so the pacer
 *   can afford to let a late wake-up catch up: at most `s·N/T` (≤ N/100) units more than
 *   `burst` start back to back.
 * - `gcra` (and `fixed-window`, which ignores it): half an emission interval, at most 1 ms.
 *   A token bucket has no window to bound it, and a server mirrored by one would see slack
 *   as extra burst.
 */
export function defaultSlackMs(limit: number, intervalMs: number, algorithm: Algorithm = 'gcra'): number {
  const tight = Math.min(1, intervalMs / limit / 2);
  return algorithm === 'sliding-window' ? Math.max(tight, Math.min(10, intervalMs / 100)) : tight;
}

/**
 * Normalises one or several limits; throws ConfigError naming `field` (e.g. `limits[1]`).
 *
 * Pacing: the limit with the shortest interval paces (default burst: `defaults.burst`, else
 * 1, and `defaults.smooth`); longer limits without a burst of their own are exact caps
 * (burst = limit, no smoothing). So
 * `['100/1m', '5000/1h']` runs at 100/min, spread out, until the hour's 5000 are spent —
 * rather than at 5000/60 = 83/min, which pacing by the hour would impose.
 */
export function toLimitSpecs(input: LimitInput | readonly LimitInput[], defaults: LimitDefaults, field = 'limits'): LimitSpec[] {
  const list: readonly LimitInput[] = Array.isArray(input) ? input : [input as LimitInput];
  if (list.length === 0) throw new ConfigError(field, input, 'needs at least one limit');
  const parsed = list.map((item, i) => {
    const name = Array.isArray(input) ? `${field}[${i}]` : field;
    const own = typeof item === 'object' && item !== null && 'rate' in item ? item : undefined;
    return { item, own, name, rate: parseRate(own ? own.rate : (item as RateInput), own ? `${name}.rate` : name) };
  });
  const shortest = Math.min(...parsed.map((p) => p.rate.intervalMs));
  return parsed.map(({ item, name, rate }) => {
    const paces = rate.intervalMs === shortest;
    return toLimitSpec(item, paces ? defaults : { ...defaults, burst: rate.limit, smooth: undefined }, name, rate);
  });
}

function toLimitSpec(item: LimitInput, defaults: LimitDefaults, field: string, rate: { limit: number; intervalMs: number }): LimitSpec {
  const own = typeof item === 'object' && item !== null && 'rate' in item ? item : undefined;
  const { limit, intervalMs } = rate;
  const algorithm = own?.algorithm ?? defaults.algorithm ?? 'sliding-window';
  if (!ALGORITHMS.includes(algorithm)) {
    throw new ConfigError(own?.algorithm ? `${field}.algorithm` : 'algorithm', algorithm, `must be one of ${ALGORITHMS.join(', ')}`);
  }
  const burstField = own?.burst !== undefined ? `${field}.burst` : 'burst';
  const burst = own?.burst ?? defaults.burst ?? 1;
  if (!Number.isFinite(burst) || burst < 1) throw new ConfigError(burstField, burst, 'must be a finite number >= 1');
  if (algorithm !== 'fixed-window' && burst > limit) {
    throw new ConfigError(burstField, burst, `must not exceed the limit (${limit}) it bursts within`);
  }
  const slackInput = own?.slack ?? defaults.slack;
  const slackMs =
    slackInput === undefined
      ? defaultSlackMs(limit, intervalMs, algorithm)
      : parseDuration(slackInput, own?.slack !== undefined ? `${field}.slack` : 'slack');
  const jitterMs = jitterOf(own?.arrivalJitter, defaults.arrivalJitter, field, intervalMs);
  const smoothInput = own?.smooth ?? defaults.smooth;
  if (smoothInput === undefined) return { algorithm, limit, intervalMs, burst, slackMs, jitterMs };
  const smoothField = own?.smooth !== undefined ? `${field}.smooth` : 'smooth';
  const smoothMs = parseDuration(smoothInput, smoothField);
  if (algorithm === 'fixed-window') throw new ConfigError(smoothField, smoothInput, 'applies to gcra and sliding-window limits, not fixed-window');
  if (!(smoothMs > 0 && smoothMs <= intervalMs)) throw new ConfigError(smoothField, smoothInput, `must be a duration > 0 and at most the interval (${intervalMs} ms)`);
  return { algorithm, limit, intervalMs, burst, slackMs, smoothMs, jitterMs };
}

/** A limit's arrival jitter: its own, else the default (a duration or a rule by interval), else 0. */
function jitterOf(own: Duration | undefined, fallback: LimitDefaults['arrivalJitter'], field: string, intervalMs: number): number {
  if (own !== undefined) return parseDuration(own, `${field}.arrivalJitter`);
  if (fallback === undefined) return 0;
  return typeof fallback === 'function' ? fallback(intervalMs) : parseDuration(fallback, 'arrivalJitter');
}

/** A short human form for stats and errors, e.g. `gcra 100/60000ms burst 1`. */
export function describeSpec(spec: LimitSpec): string {
  const burst = spec.algorithm === 'fixed-window' ? '' : ` burst ${spec.burst}`;
  return `${spec.algorithm} ${spec.limit}/${spec.intervalMs}ms${burst}`;
}
