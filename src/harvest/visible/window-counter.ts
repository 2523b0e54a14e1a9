const SLOT_MS = 250;
const SLOTS = 20; // 20 × 250 ms: the last 5 s

/**
 * WindowCounter: events per second over the last ~5 s, in a ring of 250 ms slots, so
 * memory is constant and the figure follows the rate within a quarter of a second.
 * Times are ms since the harvest started.
 */
export class WindowCounter {
  private readonly counts = new Float64Array(SLOTS);
  private readonly slotOf = new Float64Array(SLOTS).fill(-1);

  record(t: number, n = 1): void {
    const slot = Math.floor(t / SLOT_MS);
    const i = slot % SLOTS;
    if (this.slotOf[i] !== slot) {
      this.slotOf[i] = slot;
      this.counts[i] = 0;
    }
    this.counts[i]! += n;
  }

  perSecond(t: number): number {
    const current = Math.floor(t / SLOT_MS);
    let total = 0;
    for (let i = 0; i < SLOTS; i++) if (this.slotOf[i]! > current - SLOTS) total += this.counts[i]!;
    const windowStart = Math.max(0, (current - SLOTS + 1) * SLOT_MS);
    // At least one second: early in a run a handful of requests over a few ms is not a rate.
    const span = Math.max(1000, t - windowStart);
    return (total * 1000) / span;
  }
}
