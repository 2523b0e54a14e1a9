/**
 * SendLog: when the latest requests to one server left — the last `capacity` of them, in a
 * fixed ring (8 bytes each), in the order they were noted. Enough to tell how much of a
 * window this client itself used: whether a server's refusal or its `remaining: 0` is of
 * our own making (ArrivalMargin, AdaptiveRate).
 */
export class SendLog {
  private readonly at: Float64Array;
  private kept = 0;
  private next = 0;

  constructor(readonly capacity: number) {
    this.at = new Float64Array(capacity);
  }

  add(at: number): void {
    this.at[this.next] = at;
    this.next = (this.next + 1) % this.capacity;
    if (this.kept < this.capacity) this.kept++;
  }

  /** How many sends noted fall in (from, to]. */
  countIn(from: number, to: number): number {
    let n = 0;
    for (let i = 0; i < this.kept; i++) {
      const at = this.at[i]!;
      if (at > from && at <= to) n++;
    }
    return n;
  }

  /** The sends noted at or before `to`, latest first. */
  latestUpTo(to: number): number[] {
    return Array.from(this.at.subarray(0, this.kept))
      .filter((t) => t <= to)
      .sort((a, b) => b - a);
  }
}

/**
 * ownFill: whether the sends in `log` explain a server's `remaining: 0` for the request
 * sent at `sentAt` — at least `needed` of them within the `windowMs` before it, widened by
 * twice the arrival jitter `jitterMs` (the requests a server's window holds arrived within
 * it, so were sent within it and the jitter's spread; counting only the window would miss
 * the ones that arrived late, and take a full window of ours for others' use). Then the
 * server's window is full of this client's own requests, which its own windows already
 * count: the server's next slot frees as our oldest ages out, before our pacing sends the
 * next, so nothing should wait for the server's reset. Otherwise others use the quota too.
 */
export function ownFill(log: SendLog, sentAt: number, needed: number, windowMs: number, jitterMs: number): boolean {
  return log.countIn(sentAt - windowMs - 2 * jitterMs, sentAt) >= Math.min(log.capacity, Math.max(1, needed));
}
