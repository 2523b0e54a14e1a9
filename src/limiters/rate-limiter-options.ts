import type { Clock } from '../core/clock.js';
import type { Duration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import type { RateStore } from '../store/store.js';
import type { Algorithm, LimitInput } from '../algorithms/limit-spec.js';

export interface RateLimiterOptions {
  /** One limit or several that must all admit, e.g. `'100/1m'` or `['100/1m', '5000/1h']`. */
  limits: LimitInput | readonly LimitInput[];
  /** Algorithm for limits that do not name one. Default `'sliding-window'` (exact and paced). */
  algorithm?: Algorithm | undefined;
  /** Units that may start back to back, for limits that do not set their own. Default 1 (evenly paced). */
  burst?: number | undefined;
  /** How late a start may be and keep its turn (see gcra.ts). Default: half of `interval / limit`, at most 1 ms. */
  slack?: Duration | undefined;
  /**
   * No window of this length or longer holds more than the limit's share of it (plus
   * burst − 1), for limits that do not set their own; windows shorter than it may still catch
   * up after a late timer. E.g. `'100ms'` at 1000/s: never more than 100 starts in any
   * 100 ms, 250 in any 250 ms. Default: off (smoothing.ts, README "smooth").
   */
  smooth?: Duration | undefined;
  /**
   * Arrival jitter J, for limits that do not set their own: how much the time from this
   * limiter's decision to the request's arrival at the server may vary (the caller's start,
   * the event loop, the network, the server's queue). A sliding window counts each start for
   * `interval + J`, so no window of the server's of length `interval` holds more than the
   * limit, given arrivals no more than J apart in their lateness; it costs `J / (T + J)` of
   * the rate. Default on real time: 2 % of each limit's interval, at most 100 ms; on virtual
   * time (ManualClock) 0. `0` is exactness on this limiter's clock alone (and its start
   * lag). GCRA and fixed windows: README, "At the server".
   */
  arrivalJitter?: Duration | undefined;
  /** Where limit state lives. Default: a MemoryStore of this limiter's own. */
  store?: RateStore | undefined;
  /** The name of this limit in the store: limiters sharing a store and key share the limit. */
  key?: string | undefined;
  /** What this limiter is called in events and metrics (a label: few and stable, never per request). Default 'rate-limiter'. */
  name?: string | undefined;
  /** Most callers that may wait at once; beyond it `acquire` rejects with QueueFullError. Default unbounded. */
  queueSize?: number | undefined;
  clock?: Clock | undefined;
}

export interface AcquireOptions {
  /** Units this call uses (tokens, rows…). Default 1. */
  cost?: number | undefined;
  /** Aborting stops the wait, frees the caller's place in the queue and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Higher is served first; FIFO among equals. Default 0. */
  priority?: number | undefined;
  /** Refuse at once with RateLimitedError if the wait would be longer than this. Default: wait as long as it takes. */
  maxWaitMs?: number | undefined;
}

/** The answer of `tryAcquire`: granted now, or not with the milliseconds until it might be. */
export interface Decision {
  granted: boolean;
  retryAfterMs: number;
}

export interface RateLimiterStats {
  /** Calls admitted so far. */
  admitted: number;
  /** Calls refused: maxWaitMs exceeded, queue full, tryAcquire refusals. */
  rejected: number;
  /** Calls aborted while waiting. */
  aborted: number;
  /** Callers waiting now, and the sum of their costs. */
  waiting: number;
  waitingCost: number;
  limits: string[];
}

/** Throws a ConfigError naming `field` unless `amount` is a positive finite number. */
export function checkAmount(amount: number, field: string): void {
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0) {
    throw new ConfigError(field, amount, 'must be a positive finite number');
  }
}

/** The first invalid option other than `cost` as a ConfigError, or undefined. */
export function invalidOption({ maxWaitMs, priority, signal }: AcquireOptions): ConfigError | undefined {
  if (maxWaitMs !== undefined && !(typeof maxWaitMs === 'number' && maxWaitMs >= 0)) {
    return new ConfigError('maxWaitMs', maxWaitMs, 'must be a number of milliseconds >= 0');
  }
  if (priority !== undefined && !(typeof priority === 'number' && Number.isFinite(priority))) {
    return new ConfigError('priority', priority, 'must be a finite number');
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) return new ConfigError('signal', signal, 'must be an AbortSignal');
  return undefined;
}
