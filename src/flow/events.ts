/** A listener disposer: call it to unsubscribe; calling it again does nothing. */
export type Disposer = () => void;

/**
 * Emitter: small typed subscriptions. `on` returns a disposer; `emit` costs one length
 * check when nobody listens, so callers guard expensive payloads with `has(name)`.
 * A listener that throws cannot break the component that emitted: its error is rethrown
 * from a fresh microtask, where it surfaces as an uncaught exception like any other bug.
 */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Array<(payload: never) => void>>();

  on<K extends keyof Events>(name: K, listener: (payload: Events[K]) => void): Disposer {
    let list = this.listeners.get(name);
    if (list === undefined) {
      list = [];
      this.listeners.set(name, list);
    }
    const fn = listener as (payload: never) => void;
    list.push(fn);
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      const current = this.listeners.get(name);
      if (current === undefined) return;
      const i = current.indexOf(fn);
      if (i >= 0) current.splice(i, 1);
      if (current.length === 0) this.listeners.delete(name);
    };
  }

  has(name: keyof Events): boolean {
    return this.listeners.has(name);
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const list = this.listeners.get(name);
    if (list === undefined) return;
    for (const listener of list.slice()) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch (error) {
        // A faulty listener must not corrupt the flow's state; surface it like an uncaught error.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
