/** How many answers EstimateScale remembers. */
const REMEMBERED = 64;

/**
 * EstimateScale: how far token estimates fall short of what calls used — the largest ratio
 * `used / estimate` among the last 64 answers, and never below 1. TokenQuota reserves each
 * estimate times it.
 *
 * Why: a call in flight holds only its reservation until its answer corrects it. If it will
 * use more, the calls admitted beside it meanwhile are admitted on a window that counts
 * less than the server's, which can then overrun — a fleet sharing one TPM most of all.
 * Reserved at the largest recent shortfall, a call holds what it will most likely use; the
 * excess is given back exactly when it answers (Reservation), so over-reserving costs room
 * while calls run, not quota. The largest rather than a typical ratio: a call that uses
 * more than it holds is what overruns. The last 64 only: estimates that become good again
 * stop costing room.
 */
export class EstimateScale {
  private readonly ratios = new Float64Array(REMEMBERED);
  private next = 0;
  private count = 0;
  private largest = 1;

  /** The factor estimates are reserved at: at least 1. */
  get value(): number {
    return this.largest;
  }

  /** Learns from one answer: `used` tokens against an `estimate` of them. */
  observe(estimate: number, used: number): void {
    if (!(estimate > 0 && used >= 0 && Number.isFinite(used))) return;
    this.ratios[this.next] = used / estimate;
    this.next = (this.next + 1) % REMEMBERED;
    if (this.count < REMEMBERED) this.count++;
    let largest = 1;
    for (let i = 0; i < this.count; i++) if (this.ratios[i]! > largest) largest = this.ratios[i]!;
    this.largest = largest;
  }
}
