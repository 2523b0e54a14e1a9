import type { Clock, Timer } from '../core/clock.js';

/** Something with a deadline: `expire()` is called at `at` unless it was removed first. `queued` belongs to the queue. */
export interface Deadline {
  readonly at: number;
  queued: boolean;
  expire(): void;
}

/**
 * DeadlineQueue: the deadlines of one timeout policy, served by one timer. Every deadline
 * is `now + the same ms` on a monotonic clock, so they arrive in order and a FIFO queue is
 * sorted by construction: no heap, no timer per call (setting and clearing a Node timer
 * costs more than the rest of a policy stack).
 *
 * The timer is set for the head's deadline; when it fires early for a call that already
 * finished, it is set again for the new head. When no deadline is left, the timer is
 * cancelled once the event loop turns (a setImmediate), so back-to-back calls reuse it
 * while an idle process is not kept alive by it.
 *
 * Memory: one slot per call started within the last `ms`, freed as the head passes it.
 */
export class DeadlineQueue {
  /** entries[head, tail) are queued or removed; slots from tail on are reused. */
  private entries: Deadline[] = [];
  private head = 0;
  private tail = 0;
  private live = 0;
  private timer: Timer | undefined;
  private releasing = false;

  constructor(private readonly clock: Clock) {}

  /** Queues `deadline`; its `at` must not precede that of the last one added. */
  add(deadline: Deadline): void {
    deadline.queued = true;
    this.entries[this.tail++] = deadline;
    this.live++;
    if (this.timer === undefined) this.arm(deadline.at);
  }

  /** Takes `deadline` out of the queue; does nothing if it already expired or was removed. */
  remove(deadline: Deadline): void {
    if (!deadline.queued) return;
    deadline.queued = false;
    this.live--;
    this.trim();
    if (this.live === 0) this.releaseWhenIdle();
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    for (;;) {
      this.trim();
      if (this.head === this.tail) break;
      const next = this.entries[this.head]!;
      if (next.at > now) break;
      this.head++;
      next.queued = false;
      this.live--;
      next.expire();
    }
    this.trim();
    if (this.head < this.tail) this.arm(this.entries[this.head]!.at);
  };

  private arm(at: number): void {
    this.timer = this.clock.timer(this.onTimer, at - this.clock.now());
  }

  /** Skips removed entries at the head; restarts at slot 0 when empty, compacts when mostly dead. */
  private trim(): void {
    const entries = this.entries;
    while (this.head < this.tail && !entries[this.head]!.queued) this.head++;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    } else if (this.head > 1024 && this.head * 2 > this.tail) {
      this.entries = entries.slice(this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
  }

  private releaseWhenIdle(): void {
    if (this.releasing || this.timer === undefined) return;
    this.releasing = true;
    setImmediate(() => {
      this.releasing = false;
      if (this.live === 0 && this.timer !== undefined) {
        this.timer.cancel();
        this.timer = undefined;
        this.entries = []; // drop stale references while idle
      }
    });
  }
}
