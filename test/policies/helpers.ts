// Shared test helpers: leak counting and deterministic randomness.
import { after, before } from 'node:test';

interface Registration {
  signal: AbortSignal;
  listener: unknown;
}

/**
 * Counts abort listeners on every AbortSignal while a test file runs, by wrapping
 * AbortSignal's add/removeEventListener. A listener counts as live while it is registered
 * on a signal that has not aborted (an aborted signal never fires again, so whatever it
 * holds is garbage with it). Call at the top of a test file.
 */
export function trackAbortListeners(): { live(): number } {
  const registrations = new Set<Registration>();
  type Add = EventTarget['addEventListener'];
  type Remove = EventTarget['removeEventListener'];
  const proto = AbortSignal.prototype as unknown as { addEventListener?: Add; removeEventListener?: Remove };
  const add = EventTarget.prototype.addEventListener;
  const remove = EventTarget.prototype.removeEventListener;
  before(() => {
    proto.addEventListener = function (this: AbortSignal, ...args: Parameters<Add>) {
      const [type, listener] = args;
      if (type === 'abort' && listener != null) {
        let known = false;
        for (const r of registrations) if (r.signal === this && r.listener === listener) known = true;
        if (!known) registrations.add({ signal: this, listener });
      }
      return add.apply(this, args);
    };
    proto.removeEventListener = function (this: AbortSignal, ...args: Parameters<Remove>) {
      const [type, listener] = args;
      if (type === 'abort') for (const r of registrations) if (r.signal === this && r.listener === listener) registrations.delete(r);
      return remove.apply(this, args);
    };
  });
  after(() => {
    delete proto.addEventListener;
    delete proto.removeEventListener;
  });
  return {
    live() {
      let n = 0;
      for (const r of registrations) {
        if (r.signal.aborted) registrations.delete(r);
        else n++;
      }
      return n;
    },
  };
}

/** mulberry32: a small seeded PRNG returning numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A promise's state without waiting: tests check what has settled after clock.advance. */
export function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown; promise: Promise<T> } {
  const state: { settled: boolean; value?: T; error?: unknown; promise: Promise<T> } = { settled: false, promise };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

/** A function whose calls stay pending until the test settles them, one by one. */
export function deferredCalls<T>(): {
  fn: (ctx: { signal: AbortSignal }) => Promise<T>;
  calls: { resolve(value: T): void; reject(error: unknown): void; signal: AbortSignal }[];
} {
  const calls: { resolve(value: T): void; reject(error: unknown): void; signal: AbortSignal }[] = [];
  return {
    calls,
    fn: ({ signal }) =>
      new Promise<T>((resolve, reject) => {
        calls.push({ resolve, reject, signal });
      }),
  };
}

/** An Error carrying an HTTP status, as HTTP clients throw. */
export function httpError(status: number, headers: Record<string, string> = {}): Error & { status: number; response: { status: number; headers: Record<string, string> } } {
  return Object.assign(new Error(`HTTP ${status}`), { status, response: { status, headers } });
}

/** Lets pending callbacks run, then fires every timer in order until none are left. */
export async function runAll(clock: { advance(ms: number): Promise<void>; runAll(): Promise<void> }): Promise<void> {
  await clock.advance(0);
  await clock.runAll();
}
