/**
 * The bucket boundaries of the time-in-queue histogram, in seconds: OpenTelemetry's
 * semantic conventions advise them for every duration histogram (http.client.request.duration
 * among them), so sluice's charts line up with the rest of a dashboard. Both modes of
 * `instrument` use them: `'record'` passes them to the SDK as advice, `'aggregate'` counts
 * into them itself.
 */
export const DURATION_BOUNDARIES: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);

/** What a BucketHistogram holds, as OpenTelemetry's Histogram data point value has it. */
export interface BucketSnapshot {
  buckets: { boundaries: number[]; counts: number[] };
  sum: number;
  count: number;
  min: number;
  max: number;
}

/**
 * BucketHistogram: an explicit-bucket histogram aggregated in place — a count per bucket,
 * sum, count, min and max — so recording a value allocates nothing. Buckets are
 * upper-inclusive as OpenTelemetry's are: bucket i holds (b[i-1], b[i]], the last one
 * (b[n-1], +Inf). Values the SDK's histogram drops are dropped here too: NaN and negatives.
 */
export class BucketHistogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;

  constructor(private readonly boundaries: readonly number[]) {
    this.counts = new Float64Array(boundaries.length + 1);
  }

  /** Values recorded so far. */
  get size(): number {
    return this.count;
  }

  record(value: number): void {
    if (!(value >= 0)) return;
    // A linear scan: waits are mostly short, so the first few boundaries answer.
    const boundaries = this.boundaries;
    let i = 0;
    while (i < boundaries.length && value > boundaries[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** A copy of what it holds, cumulative since it was made. */
  snapshot(): BucketSnapshot {
    return { buckets: { boundaries: [...this.boundaries], counts: Array.from(this.counts) }, sum: this.sum, count: this.count, min: this.min, max: this.max };
  }
}
