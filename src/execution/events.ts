/** A subscription's undo: calling it removes the listener; calling it again does nothing. */
export type Disposer = () => void;

/** Subscribe to an event: `policy.onRetry((e) => log(e))` returns the Disposer. */
export type Subscribe<T> = (listener: (event: T) => void) => Disposer;

/**
 * Emitter: a small typed event source. Policies test `active` before building an event
 * object, so an event nobody listens to costs one property read.
 *
 * A listener that throws does not change the policy's outcome: as with EventTarget, the
 * error is rethrown on a later turn (an uncaught exception), not swallowed.
 */
export class Emitter<T> {
  private listeners: ((event: T) => void)[] = [];

  /** Adds `listener`; the same function added twice is called twice and needs two disposers. */
  readonly subscribe: Subscribe<T> = (listener) => {
    // Copy on write, so a listener that unsubscribes during emit does not skip its neighbour.
    this.listeners = [...this.listeners, listener];
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners = [...this.listeners.slice(0, i), ...this.listeners.slice(i + 1)];
    };
  };

  /** True while anyone listens. */
  get active(): boolean {
    return this.listeners.length > 0;
  }

  /** Number of listeners (tests assert it returns to 0). */
  get size(): number {
    return this.listeners.length;
  }

  emit(event: T): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
