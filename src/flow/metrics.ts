import type { LatencySummary } from './types.js';

const MIN_MS = 0.001;
const GROWTH = 1.05;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = 540; // 1 µs … ~4 days at 5% resolution

/**
 * LatencyHistogram: fixed log-scale buckets, so recording is O(1) and memory is constant
 * however many items pass; percentiles are within 5% of the true value.
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private count = 0;
  private max = 0;

  record(ms: number): void {
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH));
    this.counts[i]!++;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  summary(): LatencySummary {
    return { count: this.count, p50: this.quantile(0.5), p90: this.quantile(0.9), p99: this.quantile(0.99), max: this.max };
  }

  private quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, i === 0 ? MIN_MS : MIN_MS * GROWTH ** i);
    }
    return this.max;
  }
}

/** RateMeter: events per second over the last 10 one-second buckets; constant memory. */
export class RateMeter {
  private readonly counts = new Float64Array(10);
  private readonly seconds = new Float64Array(10).fill(-1);
  private first = Number.NaN;

  record(now: number): void {
    if (Number.isNaN(this.first)) this.first = now;
    const second = Math.floor(now / 1000);
    const slot = second % 10;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot]!++;
  }

  perSecond(now: number): number {
    if (Number.isNaN(this.first)) return 0;
    const second = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < 10; i++) if (this.seconds[i]! > second - 10) total += this.counts[i]!;
    // Over the time actually covered, so a flow 2 s old is not reported at a fifth of its rate.
    const span = Math.min(10_000, Math.max(1, now - Math.max(this.first, (second - 9) * 1000)));
    return (total * 1000) / span;
  }
}
