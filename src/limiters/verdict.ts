import { RateLimitedError } from '../core/errors.js';

/**
 * Verdict: what a RateLimiter decides for a caller — Go's `Reservation`. One decision
 * serves tryAcquire, acquire, run and the head of the queue alike; only how long the caller
 * may wait differs (`maxWaitMs`: 0 for tryAcquire).
 */
export type Verdict = Started | Waiting | Refused;

/** `cost` was taken from the limits: the caller starts now. */
export interface Started {
  readonly kind: 'start';
}

/** Nothing taken: the caller waits its turn, about `waitMs` (the store's answer, or an estimate behind the queue). */
export interface Waiting {
  readonly kind: 'wait';
  readonly waitMs: number;
}

/** Nothing taken: the caller would wait `waitMs`, longer than it may. */
export interface Refused {
  readonly kind: 'refuse';
  readonly waitMs: number;
}

/** Shared: the path of a limit that never binds allocates nothing. */
export const STARTED: Started = { kind: 'start' };

/** The verdict on a store's answer `wait` (0: it took the cost) for a caller that may wait `maxWaitMs`. */
export function verdictOn(wait: number, maxWaitMs: number): Verdict {
  return wait === 0 ? STARTED : waitOrRefuse(wait, maxWaitMs);
}

/**
 * A caller that cannot start now and would wait `waitMs`: it waits, or is refused when that
 * is longer than `maxWaitMs` — the one place maxWaitMs refuses.
 */
export function waitOrRefuse(waitMs: number, maxWaitMs: number): Waiting | Refused {
  return waitMs > maxWaitMs ? { kind: 'refuse', waitMs } : { kind: 'wait', waitMs };
}

/** What a refused acquire or run rejects with. */
export function refusalError(refused: Refused): RateLimitedError {
  return new RateLimitedError(`rate limit: would wait ${Math.ceil(refused.waitMs)} ms, more than maxWaitMs`, refused.waitMs);
}
