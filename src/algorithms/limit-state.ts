// Twins of rescaleTat and refundedTat: the Lua functions of the same names in
// src/store/lua/gcra.ts; parity proven by test/store/redis/memory-vs-redis.test.ts.
import type { LimitSpec } from './limit-spec.js';

/**
 * LimitState: the state of one limit for one key, with time passed in. No I/O, no timers:
 * the same math runs in memory and (translated to Lua) in Redis.
 */
export interface LimitState {
  /** Milliseconds from `now` until `cost` fits (0: it fits now). Does not change the state. */
  waitMs(now: number, cost: number): number;
  /** Records a start of `cost` at `now`. The caller has seen `waitMs(now, cost) === 0`. */
  take(now: number, cost: number): void;
  /**
   * `waitMs` then, if it is 0, `take`, in one pass: what a store with a single limit calls
   * per request (the sliding window then expires its log once, not twice).
   */
  reserve(now: number, cost: number): number;
  /**
   * Gives back `cost` previously taken (a cancelled start or an over-estimate). `at`: the
   * instant the start was recorded (its stamp), whose units are given back — only while it
   * is still counted, never more than it holds, and never as credit a later start has used
   * (each algorithm says how). Undefined: the newest start's.
   */
  refund(now: number, cost: number, at?: number): void;
  /**
   * Records `cost` used by the start recorded at `at` beyond what it took (an estimate that
   * was too low), without asking: it may push the limit past full. Windows count it where
   * it was used, at `at`; a pacer from `now` (it keeps no past to put it in). `at === now`
   * records usage of the moment.
   */
  charge(now: number, cost: number, at: number): void;
  /** The instant from which the state equals a fresh one, so it can be forgotten. */
  idleAt(): number;
  /** Applies a changed rate at `now`, in place (setLimits, adaptive rate). */
  update(spec: LimitSpec, now: number): void;
}

/** Tolerance for floating-point drift in `k * interval / limit` sums, in ms. */
export const EPSILON_MS = 1e-9;

/**
 * rescaleTat carries a pacer's debt across a rate change in units, not milliseconds: one
 * unit owed at the old rate is one unit owed at the new. Kept in milliseconds, a speed-up
 * from 1/s to 10/s would take a whole old second to show.
 */
export function rescaleTat(tat: number, now: number, oldEmission: number, newEmission: number): number {
  // A debt within float noise of none (a take refunded at the same instant) stays none:
  // scaled by a large rate ratio the noise would become a wait (9 ns at 1/10ms → 2/250ms).
  if (!(tat - now > EPSILON_MS) || oldEmission === newEmission) return tat;
  return now + ((tat - now) / oldEmission) * newEmission;
}

/**
 * refundedTat: a pacer's `tat` after `units` of one start are given back at `now`. A
 * pacer's tat is the latest of `a_k + emission · (cost from start k on)` over its starts
 * k, so giving back units of start i lowers the terms up to i by `units · emission` and
 * leaves the later ones: the new tat is the larger of `tat − units · emission` and the
 * tat of the later starts alone, which `later` bounds from above (−Infinity when none
 * came after it; `tat` when nothing is known of them: no credit). Never below `now`: a
 * refund restores capacity, it cannot bank credit beyond a full bucket. With an upper
 * bound for `later` the tat stays at or above the true one, so the pacing bound holds for
 * what was really started.
 */
export function refundedTat(tat: number, now: number, units: number, emission: number, later: number): number {
  return Math.max(now, tat - units * emission, Math.min(tat, later));
}
