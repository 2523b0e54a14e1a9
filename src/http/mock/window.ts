/**
 * WindowLog: an exact sliding-window log — the cost recorded at each instant, kept while it
 * is inside the window `[t, t + interval)`. The mock keeps its own implementation rather than
 * reusing sluice's limiter math on purpose: it is the referee the limiter is tested against,
 * so a bug shared by both would go unseen.
 */
export class WindowLog {
  private times: number[] = [];
  private costs: number[] = [];
  private head = 0;
  private sum = 0;

  constructor(
    readonly limit: number,
    readonly intervalMs: number,
  ) {}

  /** Cost recorded in the window ending at `now` (after dropping what has left it). */
  used(now: number): number {
    this.expire(now);
    return this.sum;
  }

  /**
   * Milliseconds until `cost` more fits, judged as if it were `now + graceMs` (0: fits now);
   * Infinity when `cost` exceeds the limit. Does not record anything.
   */
  waitMs(now: number, cost: number, graceMs = 0): number {
    if (cost > this.limit) return Number.POSITIVE_INFINITY;
    this.expire(now);
    const at = now + graceMs;
    let used = this.sum;
    for (let i = this.head; i < this.times.length; i++) {
      if (used + cost <= this.limit) break;
      if (at - this.times[i]! >= this.intervalMs) {
        used -= this.costs[i]!;
        continue;
      }
      // Entry i must leave before cost fits: wait until it does, then look again.
      used -= this.costs[i]!;
      if (used + cost <= this.limit) return Math.max(0, this.times[i]! + this.intervalMs - at);
    }
    return 0;
  }

  add(now: number, cost: number): void {
    this.expire(now);
    this.times.push(now);
    this.costs.push(cost);
    this.sum += cost;
  }

  /** Milliseconds until the oldest entry leaves (something frees); the whole interval when empty. */
  nextFreeMs(now: number): number {
    this.expire(now);
    return this.head < this.times.length ? this.times[this.head]! + this.intervalMs - now : this.intervalMs;
  }

  /** Milliseconds until every entry has left and the full limit is back; 0 when empty. */
  fullResetMs(now: number): number {
    this.expire(now);
    return this.head < this.times.length ? this.times[this.times.length - 1]! + this.intervalMs - now : 0;
  }

  clear(): void {
    this.times = [];
    this.costs = [];
    this.head = 0;
    this.sum = 0;
  }

  private expire(now: number): void {
    while (this.head < this.times.length && now - this.times[this.head]! >= this.intervalMs) {
      this.sum -= this.costs[this.head]!;
      this.head++;
    }
    if (this.head === this.times.length) {
      this.clear(); // also drops accumulated float error
    } else if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.costs = this.costs.slice(this.head);
      this.head = 0;
    }
  }
}
