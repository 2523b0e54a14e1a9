// Twin: src/store/lua/fixed-window.ts — the same math in Lua, which RedisStore runs; parity
// proven by test/store/redis/memory-vs-redis.test.ts and test/store/redis/conformance.test.ts.
// Change both, or neither.
import type { LimitSpec } from './limit-spec.js';
import { EPSILON_MS, type LimitState } from './limit-state.js';

/**
 * Fixed window: a counter per window `[k * interval, (k + 1) * interval)` of the clock.
 * Cheapest of the three, and the one most servers use.
 *
 * Guarantee: at most `limit` in each aligned window. Boundary burst: `limit` starts at the
 * end of one window and `limit` more at the start of the next put up to `2 * limit` starts
 * in a span shorter than `interval` — use it to mirror a server that counts this way,
 * not to protect one that counts in sliding windows.
 */
export class FixedWindowState implements LimitState {
  private window = Number.NEGATIVE_INFINITY;
  private used = 0;
  private limit: number;
  private interval: number;

  constructor(spec: LimitSpec) {
    this.limit = spec.limit;
    this.interval = spec.intervalMs;
  }

  update(spec: LimitSpec, _now: number): void {
    if (spec.intervalMs !== this.interval) {
      this.window = Number.NEGATIVE_INFINITY;
      this.used = 0;
    }
    this.limit = spec.limit;
    this.interval = spec.intervalMs;
  }

  waitMs(now: number, cost: number): number {
    const window = Math.floor(now / this.interval);
    const used = window === this.window ? this.used : 0;
    if (used + cost <= this.limit + EPSILON_MS) return 0;
    if (cost > this.limit) return Number.POSITIVE_INFINITY;
    return Math.max(0, (window + 1) * this.interval - now);
  }

  take(now: number, cost: number): void {
    const window = Math.floor(now / this.interval);
    if (window !== this.window) {
      this.window = window;
      this.used = 0;
    }
    this.used += cost;
  }

  reserve(now: number, cost: number): number {
    const wait = this.waitMs(now, cost);
    if (wait === 0) this.take(now, cost);
    return wait;
  }

  refund(now: number, cost: number, at?: number): void {
    // A start of a window that has ended is no longer counted: nothing to give back.
    if (Math.floor((at ?? now) / this.interval) === this.window) this.used = Math.max(0, this.used - cost);
  }

  charge(now: number, cost: number, at: number): void {
    // Counted in the window it was used in, if that window is still the current one.
    if (Math.floor(at / this.interval) === Math.floor(now / this.interval)) this.take(now, cost);
  }

  idleAt(): number {
    return (this.window + 1) * this.interval;
  }
}
