/**
 * The signal handed to a function when the caller gave none. A fresh one per call, not a
 * shared never-aborting signal: work that adds abort listeners and never removes them
 * (they would never fire) must not pile them onto one object for the life of the process.
 */
export function signalOrNew(signal: AbortSignal | undefined): AbortSignal {
  return signal ?? new AbortController().signal;
}

/**
 * Links `child` to `parent`: aborting the parent aborts the child with the same reason.
 * Returns the unlink function, which removes the listener — call it when the child's work
 * ends, or a long-lived parent accumulates one listener per call.
 */
export function link(parent: AbortSignal | undefined, child: AbortController): () => void {
  if (parent === undefined) return noop;
  if (parent.aborted) {
    child.abort(parent.reason);
    return noop;
  }
  const onAbort = (): void => child.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return () => parent.removeEventListener('abort', onAbort);
}

function noop(): void {}
