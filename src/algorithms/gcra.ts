// Twin: src/store/lua/gcra.ts — the same math in Lua, which RedisStore runs (gcraWait also
// paces the Lua sliding window); parity proven by test/store/redis/memory-vs-redis.test.ts
// and test/store/redis/conformance.test.ts. Change both, or neither.
import type { LimitSpec } from './limit-spec.js';
import { EPSILON_MS, refundedTat, rescaleTat, type LimitState } from './limit-state.js';

/**
 * GCRA (generic cell rate algorithm) — a token bucket kept as one number, the theoretical
 * arrival time `tat`. One unit is worth `emission = interval / limit` ms; the bucket holds
 * `burst` units plus `slackMs` worth of time.
 *
 * Why slack: a timer set for the instant a waiter may start fires a little late (Node's
 * timers have millisecond granularity). Without slack every late wake-up is time lost for
 * good and a busy limiter falls well short of its rate (BENCHMARKS.md, timers). Slack lets a start come up to `slackMs`
 * before its ideal instant, so the limiter's timer is set that much early, and a wake-up up
 * to `slackMs` late still lands on the ideal schedule: the rate is kept, not eroded.
 *
 * Guarantee: the cost started in any interval of length t is at most
 * `burst + (t + slackMs) * limit / interval` — so for unit costs at most
 * `burst + floor((t + slackMs) * limit / interval)` starts. Cost is counted net of refunds:
 * a refund of the newest start gives its units back whole, one of an older start gives
 * nothing (a token bucket keeps no record of the starts after it, and they may have used
 * the time its units held; see refundedTat).
 */
export class GcraState implements LimitState {
  private tat = Number.NEGATIVE_INFINITY;
  /** When the newest start was recorded; meaningful only while `tat > now` (lastStart). */
  private last = Number.NEGATIVE_INFINITY;
  private emission: number;
  private tolerance: number;
  private burst: number;

  constructor(spec: LimitSpec) {
    this.emission = spec.intervalMs / spec.limit;
    this.tolerance = spec.burst * this.emission + spec.slackMs;
    this.burst = spec.burst;
  }

  update(spec: LimitSpec, now: number): void {
    const emission = spec.intervalMs / spec.limit;
    this.tat = rescaleTat(this.tat, now, this.emission, emission);
    this.emission = emission;
    this.tolerance = spec.burst * this.emission + spec.slackMs;
    this.burst = spec.burst;
  }

  waitMs(now: number, cost: number): number {
    if (cost > this.burst) return Number.POSITIVE_INFINITY;
    return gcraWait(this.tat, now, cost, this.emission, this.tolerance);
  }

  take(now: number, cost: number): void {
    this.last = now;
    this.tat = Math.max(this.tat, now) + cost * this.emission;
  }

  reserve(now: number, cost: number): number {
    if (cost > this.burst) return Number.POSITIVE_INFINITY;
    const after = Math.max(this.tat, now) + cost * this.emission;
    const wait = after - now - this.tolerance;
    if (wait > EPSILON_MS) return wait;
    this.last = now; // the newest: a Clock never goes back (Redis TIME may: lua/gcra.ts keeps the later)
    this.tat = after;
    return 0;
  }

  refund(now: number, cost: number, at?: number): void {
    // The newest start's units come back whole; an older one's would be credit the starts
    // after it may have used, which a bucket cannot tell: none (refundedTat).
    const later = at === undefined || at >= this.lastStart(now) ? Number.NEGATIVE_INFINITY : this.tat;
    this.tat = refundedTat(this.tat, now, cost, this.emission, later);
  }

  charge(now: number, cost: number, at: number): void {
    // Paced from now, an upper bound of the bucket with the units at `at`. Usage of the
    // moment (`at` = now) is a start, later than every other; usage of an older start is not.
    this.last = Math.max(this.lastStart(now), at);
    this.tat = Math.max(this.tat, now) + cost * this.emission;
  }

  /**
   * The newest start, while the bucket is not full: once `tat <= now` every later start's
   * debt has drained and a refund can credit nothing (refundedTat clamps to now), so it is
   * forgotten — as Redis forgets it with the key (lua/gcra.ts).
   */
  private lastStart(now: number): number {
    return this.tat > now ? this.last : Number.NEGATIVE_INFINITY;
  }

  idleAt(): number {
    return this.tat;
  }
}

/**
 * gcraWait is the pure decision: how long until `cost` units fit, given the theoretical
 * arrival time. A cost fits when, after adding it, the bucket is no more than
 * `tolerance` ms ahead of now.
 */
export function gcraWait(tat: number, now: number, cost: number, emission: number, tolerance: number): number {
  const after = Math.max(tat, now) + cost * emission;
  const wait = after - now - tolerance;
  return wait > EPSILON_MS ? wait : 0;
}
