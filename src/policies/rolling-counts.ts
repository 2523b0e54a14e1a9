import type { Clock } from '../core/clock.js';

const BUCKETS = 10;

/**
 * RollingCounts: a few counters summed over a sliding time window, kept in ten buckets
 * of a tenth of the window each. A count stays in the sums for between 0.9 and 1 window
 * lengths. Fixed memory; reading or adding costs O(1) except when whole buckets expire.
 */
export class RollingCounts {
  private readonly bucketMs: number;
  private readonly buckets: Float64Array;
  private readonly sums: Float64Array;
  /** Index (time / bucketMs, floored) of the newest bucket. */
  private current: number;

  constructor(
    private readonly fields: number,
    windowMs: number,
    private readonly clock: Clock,
  ) {
    this.bucketMs = windowMs / BUCKETS;
    this.buckets = new Float64Array(fields * BUCKETS);
    this.sums = new Float64Array(fields);
    this.current = Math.floor(clock.now() / this.bucketMs);
  }

  /**
   * Adds `n` (default 1) to counter `field` at `now`. A caller that adds and sums several
   * times for one event passes the same `now` to each: a clock read is a good share of a
   * breaker's cost per call.
   */
  add(field: number, n = 1, now = this.clock.now()): void {
    this.roll(now);
    this.buckets[(this.current % BUCKETS) * this.fields + field]! += n;
    this.sums[field]! += n;
  }

  /** Counter `field` summed over the window ending at `now`. */
  sum(field: number, now = this.clock.now()): number {
    this.roll(now);
    return this.sums[field]!;
  }

  clear(): void {
    this.buckets.fill(0);
    this.sums.fill(0);
  }

  private roll(now: number): void {
    const index = Math.floor(now / this.bucketMs);
    if (index <= this.current) return;
    const stale = Math.min(BUCKETS, index - this.current);
    for (let i = 1; i <= stale; i++) {
      const base = ((this.current + i) % BUCKETS) * this.fields;
      for (let f = 0; f < this.fields; f++) {
        this.sums[f]! -= this.buckets[base + f]!;
        this.buckets[base + f] = 0;
      }
    }
    this.current = index;
  }
}
