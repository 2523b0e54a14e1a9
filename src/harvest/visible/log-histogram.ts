/**
 * LogHistogram: latency counts in fixed log-scale bins, so memory is constant however many
 * samples arrive, two histograms with the same scale merge exactly (add the counts), and a
 * percentile is within half a bin (a factor of sqrt(growth)) of the true value.
 * Samples at or below `minMs` land in the first bin, above the range in the last; the
 * answer is always clamped to the smallest and largest sample seen.
 */
export class LogHistogram {
  private readonly counts: Uint32Array;
  private readonly logGrowth: number;
  private total = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  /**
   * @param minMs upper edge of the first bin, e.g. 0.01
   * @param growth ratio between bin edges, e.g. 1.05 for 5 % bins
   * @param bins number of bins, e.g. 600; the range ends at minMs * growth ** (bins - 1)
   */
  constructor(
    private readonly minMs: number,
    private readonly growth: number,
    bins: number,
  ) {
    this.counts = new Uint32Array(bins);
    this.logGrowth = Math.log(growth);
  }

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const last = this.counts.length - 1;
    const i = ms <= this.minMs ? 0 : Math.min(last, Math.ceil(Math.log(ms / this.minMs) / this.logGrowth));
    this.counts[i]!++;
    this.total++;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /** Adds `other`'s samples to this one; both must have been built with the same scale. */
  add(other: LogHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  /** The q-quantile (0 < q <= 1) by nearest rank, or undefined with no samples. */
  quantile(q: number): number | undefined {
    if (this.total === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        // The bin's geometric middle halves the worst-case error of reporting an edge.
        const middle = i === 0 ? this.minMs : this.minMs * this.growth ** (i - 0.5);
        return Math.min(this.max, Math.max(this.min, middle));
      }
    }
    return this.max;
  }
}
