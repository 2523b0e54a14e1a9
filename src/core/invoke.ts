/** Calls `fn` and always returns a promise: a synchronous throw becomes a rejection. */
export function invoke<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A promise that is already fulfilled, shared so fast paths allocate nothing. */
export const RESOLVED: Promise<void> = Promise.resolve();
