import { flushMicrotasks, type ManualClock } from '../../src/core/clock.js';

/**
 * Runs `work` to completion on a ManualClock: fires timers one instant at a time until
 * the promise settles. Fails (instead of hanging the suite) if the work is stuck with no
 * timer left to fire, which is exactly the "one item hangs the rest" bug.
 */
export async function drive<T>(clock: ManualClock, work: Promise<T>, maxSteps = 1_000_000): Promise<T> {
  let settled = false;
  const guarded = work.finally(() => {
    settled = true;
  });
  guarded.catch(() => {});
  for (let step = 0; !settled; step++) {
    if (step > maxSteps) throw new Error('drive: too many steps');
    if (!(await clock.next())) {
      await flushMicrotasks();
      if (!settled && clock.pendingTimers === 0) {
        await flushMicrotasks();
        if (!settled) throw new Error('drive: work is stuck with no timer pending');
      }
    }
  }
  return guarded;
}

/** Collects every result of an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** A generator that records how far it has been read and whether it was closed. */
export function tracked<T>(items: Iterable<T>): { source: Generator<T>; read: () => number; closed: () => boolean } {
  let read = 0;
  let closed = false;
  function* gen(): Generator<T> {
    try {
      for (const item of items) {
        read++;
        yield item;
      }
    } finally {
      closed = true;
    }
  }
  return { source: gen(), read: () => read, closed: () => closed };
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Records unhandled rejections while `fn` runs; the suite asserts there are none. */
export async function noUnhandledRejections(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    await fn();
    await flushMicrotasks();
    await flushMicrotasks();
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return seen;
}
