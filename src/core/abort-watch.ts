/**
 * One 'abort' listener per AbortSignal, however many waiters watch it.
 *
 * A caller who passes one signal to a thousand queued calls (a job's shutdown signal, a
 * request's) would otherwise add a thousand listeners to it, and Node warns at the
 * eleventh ("MaxListenersExceededWarning: Possible EventTarget memory leak detected") — a
 * warning about sluice's bookkeeping, not the caller's code. Here the signal holds one
 * listener, and the waiters are a Set: adding and removing one is cheaper than an
 * EventTarget listener, and they are called in the order they were added, as the
 * EventTarget would call them.
 */
interface Watch {
  readonly callbacks: Set<() => void>;
  /** The one listener on the signal. */
  readonly fire: () => void;
}

const watches = new WeakMap<AbortSignal, Watch>();

/** Calls `onAbort` once when `signal` aborts, unless `unwatchAbort` removes it first. The signal must not be aborted yet. */
export function watchAbort(signal: AbortSignal, onAbort: () => void): void {
  let watch = watches.get(signal);
  if (watch === undefined) {
    const callbacks = new Set<() => void>();
    const made: Watch = { callbacks, fire: () => fire(signal, made) };
    watch = made;
    watches.set(signal, made);
    signal.addEventListener('abort', made.fire, { once: true });
  }
  watch.callbacks.add(onAbort);
}

/**
 * Removes `onAbort` from what `signal` calls when it aborts (nothing when it was never added
 * or has been called). The last one removed takes the signal's listener with it: a
 * long-lived signal keeps nothing of calls that have finished.
 */
export function unwatchAbort(signal: AbortSignal, onAbort: () => void): void {
  const watch = watches.get(signal);
  if (watch === undefined || !watch.callbacks.delete(onAbort) || watch.callbacks.size > 0) return;
  watches.delete(signal);
  signal.removeEventListener('abort', watch.fire);
}

function fire(signal: AbortSignal, watch: Watch): void {
  const { callbacks } = watch;
  // A watcher may remove others as it runs (a waiter that cancels its batch): each is
  // checked before it is called.
  for (const onAbort of [...callbacks]) {
    if (!callbacks.delete(onAbort)) continue;
    try {
      onAbort();
    } catch (error) {
      // As an EventTarget reports a listener's throw: on its own, without stopping the others.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
  if (watches.get(signal) === watch) watches.delete(signal);
}
