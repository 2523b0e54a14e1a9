import { abortReason } from './errors.js';
import { unwatchAbort, watchAbort } from './abort-watch.js';

/**
 * `promise`, or a rejection with the signal's reason as soon as it aborts; the listener is
 * removed either way. For waiting on something shared (a gate, another caller's work) that
 * one caller may stop waiting for without cancelling it for the others.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    watchAbort(signal, onAbort);
    void promise.then(resolve, reject).finally(() => unwatchAbort(signal, onAbort));
  });
}
