const SIZE = 128;
const RECOMPUTE_EVERY = 16;

/**
 * LatencyWindow: the last 128 latencies and a cached quantile of them, recomputed every
 * 16 samples so a call pays no sort. Fixed memory.
 */
export class LatencyWindow {
  private readonly samples = new Float64Array(SIZE);
  private count = 0;
  private sinceRecompute = 0;
  private cached = Number.NaN;

  constructor(private readonly quantile: number) {}

  add(ms: number): void {
    this.samples[this.count % SIZE] = ms;
    this.count++;
    if (++this.sinceRecompute >= RECOMPUTE_EVERY) this.recompute();
  }

  /** The quantile of the recent samples, or NaN until `minSamples` have been seen. */
  value(minSamples: number): number {
    if (this.count < minSamples) return Number.NaN;
    if (Number.isNaN(this.cached) || this.sinceRecompute > 0) this.recompute();
    return this.cached;
  }

  private recompute(): void {
    this.sinceRecompute = 0;
    const n = Math.min(this.count, SIZE);
    if (n === 0) return;
    const sorted = this.samples.slice(0, n).sort();
    this.cached = sorted[Math.min(n - 1, Math.floor(this.quantile * n))]!;
  }
}
