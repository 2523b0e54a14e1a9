import type { Disposer } from './events.js';

/** How a caller left a limiter's queue: started, refused, or gone on its signal's abort. */
export type WaitResult = 'admitted' | 'rejected' | 'aborted';

/**
 * WaitSink: told of each caller that leaves a queue — how and after how many milliseconds
 * in it — with a string constant and a number, so a sink that aggregates (sluice/otel's
 * time in queue) costs no object per caller. The events API (`onQueueLeft`) builds an
 * event and watches each caller's promise; this is its price-conscious twin.
 */
export type WaitSink = (result: WaitResult, waitMs: number) => void;

/**
 * QueueWaits: the wait sinks of one limiter and the clock its queue times callers on.
 * While `active` the queue stamps each caller it takes in (one clock read) and reports it
 * when it leaves (another); inactive, the queue reads no clock.
 */
export class QueueWaits {
  private sinks: WaitSink[] = [];
  /** True while any sink listens: a plain field, read per queued caller. */
  active = false;

  constructor(readonly now: () => number) {}

  /** Adds `sink`; the disposer removes it (once; calling again does nothing). */
  subscribe(sink: WaitSink): Disposer {
    // Copy on write, so a sink removed while reporting does not skip its neighbour.
    this.sinks = [...this.sinks, sink];
    this.active = true;
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      const i = this.sinks.indexOf(sink);
      if (i >= 0) this.sinks = [...this.sinks.slice(0, i), ...this.sinks.slice(i + 1)];
      this.active = this.sinks.length > 0;
    };
  }

  /**
   * Reports a caller that entered the queue at `since` (NaN: it came in before anyone
   * listened, and its wait is unknown) and leaves it now. A sink that throws cannot change
   * what the limiter does: its error is rethrown from a fresh microtask, as Emitter does.
   */
  left(result: WaitResult, since: number): void {
    if (!this.active || Number.isNaN(since)) return;
    const waitMs = this.now() - since;
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]!(result, waitMs);
      } catch (error) {
        rethrowLater(error);
      }
    }
  }
}

/** A sink's error, thrown where it cannot change the limiter's decision: an uncaught exception from a fresh microtask. */
function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
