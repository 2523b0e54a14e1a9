/** A subscription's undo: calling it removes the listener; calling it again does nothing. */
export type Disposer = () => void;

/** Subscribe to an event: `policy.onRetry((e) => log(e))` returns the Disposer. */
export type Subscribe<T> = (listener: (event: T) => void) => Disposer;

/**
 * Emitter: one typed event. Emitters test `active` before building an event object, so an
 * event nobody listens to costs one property read.
 *
 * A listener that throws cannot change the outcome of what emitted: as with EventTarget,
 * its error is rethrown from a fresh microtask (an uncaught exception), not swallowed.
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

/**
 * EventHub: several named events, one Emitter each, made on first subscription — so a
 * component with many events pays nothing for those nobody listens to.
 */
export class EventHub<Events extends object> {
  /** Each value is the Emitter<Events[K]> of its key K. */
  private readonly emitters = new Map<keyof Events, unknown>();

  on<K extends keyof Events>(name: K, listener: (payload: Events[K]) => void): Disposer {
    let emitter = this.emitters.get(name) as Emitter<Events[K]> | undefined;
    if (emitter === undefined) {
      emitter = new Emitter<Events[K]>();
      this.emitters.set(name, emitter);
    }
    return emitter.subscribe(listener);
  }

  /** True while anyone listens to `name`: guard expensive payloads with it. */
  has(name: keyof Events): boolean {
    return (this.emitters.get(name) as Emitter<unknown> | undefined)?.active ?? false;
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const emitter = this.emitters.get(name) as Emitter<Events[K]> | undefined;
    if (emitter?.active) emitter.emit(payload);
  }
}
