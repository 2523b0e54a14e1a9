import type { TimelinePoint } from '../monitor.js';
import { LogHistogram } from './log-histogram.js';

/** Per-bucket latency scale: 25 % bins from 1 ms to ~21 min in 64 counters (256 bytes). */
const bucketLatency = (): LogHistogram => new LogHistogram(1, 1.25, 64);

/**
 * A bucket being filled: a TimelinePoint's counts and gauges (gauges as they stood at the
 * end of the bucket, except inFlight: its peak), with the latencies still a histogram.
 */
type Bucket = Omit<TimelinePoint, 'atMs' | 'latencyP50Ms' | 'latencyP95Ms'> & { latency: LogHistogram | undefined };

/**
 * BucketSeries: the report's time series in equal buckets, one per index from the start
 * of the harvest (no gaps, so an idle or paused stretch shows as such). When it would
 * hold more than `maxBuckets`, neighbouring buckets merge pairwise and the width doubles,
 * so memory stays under `maxBuckets` buckets however long the run (a 10 h run at 1 s
 * buckets ends at 32 s buckets, 1,125 of them). Merges are exact for counts and latency
 * histograms; times are ms since the harvest started.
 */
export class BucketSeries {
  private buckets: Bucket[] = [];
  private width: number;
  // Gauges carried into each new bucket until an event changes them.
  private rateLimit: number | undefined;
  private concurrencyLimit = 0;
  private inFlight = 0;
  private paused = false;

  constructor(
    bucketMs: number,
    private readonly maxBuckets = 2000,
  ) {
    if (!(bucketMs > 0) || !Number.isFinite(bucketMs)) throw new RangeError(`bucketMs must be > 0, got ${bucketMs}`);
    if (!(maxBuckets >= 2)) throw new RangeError(`maxBuckets must be >= 2, got ${maxBuckets}`);
    this.width = bucketMs;
  }

  /** Current bucket width in ms (bucketMs doubled once per merge). */
  get widthMs(): number {
    return this.width;
  }

  get length(): number {
    return this.buckets.length;
  }

  request(t: number): void {
    this.at(t).requests++;
  }

  throttled(t: number): void {
    this.at(t).throttled++;
  }

  error(t: number): void {
    this.at(t).errors++;
  }

  records(t: number, n: number): void {
    this.at(t).records += n;
  }

  latency(t: number, ms: number): void {
    const bucket = this.at(t);
    (bucket.latency ??= bucketLatency()).record(ms);
  }

  concurrency(t: number, limit: number, inFlight: number): void {
    const bucket = this.at(t);
    bucket.concurrencyLimit = this.concurrencyLimit = limit;
    bucket.inFlight = Math.max(bucket.inFlight, inFlight);
    this.inFlight = inFlight;
  }

  rate(t: number, perSecond: number | undefined): void {
    this.at(t).rateLimit = this.rateLimit = perSecond;
  }

  pause(t: number, paused: boolean): void {
    const before = this.buckets.length;
    const bucket = this.at(t);
    if (paused) bucket.paused = true;
    // A pause that ends exactly where a bucket it created starts never touched that bucket.
    else if (this.buckets.length > before && bucket === this.buckets[this.buckets.length - 1] && t % this.width === 0) bucket.paused = false;
    this.paused = paused;
  }

  /** Fills buckets up to `t`, so the series covers the whole run even after the last event. */
  advanceTo(t: number): void {
    this.at(t);
  }

  points(): TimelinePoint[] {
    return this.buckets.map((b, i) => ({
      atMs: i * this.width,
      requests: b.requests,
      throttled: b.throttled,
      errors: b.errors,
      records: b.records,
      rateLimit: b.rateLimit,
      concurrencyLimit: b.concurrencyLimit,
      inFlight: b.inFlight,
      latencyP50Ms: b.latency?.quantile(0.5),
      latencyP95Ms: b.latency?.quantile(0.95),
      paused: b.paused,
    }));
  }

  private at(t: number): Bucket {
    const time = Number.isFinite(t) && t > 0 ? t : 0;
    while (Math.floor(time / this.width) >= this.maxBuckets) this.merge();
    const index = Math.floor(time / this.width);
    // An event stamped before the newest bucket (a late report) lands where it happened.
    while (this.buckets.length <= index) this.buckets.push(this.fresh());
    return this.buckets[index]!;
  }

  private fresh(): Bucket {
    return {
      requests: 0,
      throttled: 0,
      errors: 0,
      records: 0,
      rateLimit: this.rateLimit,
      concurrencyLimit: this.concurrencyLimit,
      inFlight: this.inFlight,
      paused: this.paused,
      latency: undefined,
    };
  }

  private merge(): void {
    const merged: Bucket[] = [];
    for (let i = 0; i < this.buckets.length; i += 2) {
      const a = this.buckets[i]!;
      const b = this.buckets[i + 1];
      merged.push(b ? combine(a, b) : a);
    }
    this.buckets = merged;
    this.width *= 2;
  }
}

/** Two neighbouring buckets as one: counts add, gauges take the later value, peaks the max. */
function combine(a: Bucket, b: Bucket): Bucket {
  let latency = a.latency ?? b.latency;
  if (a.latency && b.latency) {
    latency = a.latency;
    latency.add(b.latency);
  }
  return {
    requests: a.requests + b.requests,
    throttled: a.throttled + b.throttled,
    errors: a.errors + b.errors,
    records: a.records + b.records,
    rateLimit: b.rateLimit,
    concurrencyLimit: b.concurrencyLimit,
    inFlight: Math.max(a.inFlight, b.inFlight),
    paused: a.paused || b.paused,
    latency,
  };
}
