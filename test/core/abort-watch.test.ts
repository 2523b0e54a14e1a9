import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { unwatchAbort, watchAbort } from '../../src/core/abort-watch.js';
import { ConcurrencyLimiter, constant, ManualClock, RateLimiter, RetryPolicy } from '../../src/index.js';

describe('watchAbort', () => {
  it('calls what one signal watches in the order it was added, through one listener, and keeps none after', () => {
    const controller = new AbortController();
    const called: number[] = [];
    const callbacks = Array.from({ length: 50 }, (_, i) => () => called.push(i));
    for (const cb of callbacks) watchAbort(controller.signal, cb);
    unwatchAbort(controller.signal, callbacks[7]!);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    controller.abort();
    assert.deepEqual(called, callbacks.map((_, i) => i).filter((i) => i !== 7));
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('takes the listener off the signal when the last watcher leaves', () => {
    const controller = new AbortController();
    const a = (): void => {};
    const b = (): void => {};
    watchAbort(controller.signal, a);
    watchAbort(controller.signal, b);
    unwatchAbort(controller.signal, a);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    unwatchAbort(controller.signal, b);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    watchAbort(controller.signal, a);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
  });

  it('a watcher that throws does not stop the others; its error is reported on its own', () => {
    const controller = new AbortController();
    const reported: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (task: () => void) => {
      try {
        task();
      } catch (error) {
        reported.push(error);
      }
    };
    try {
      const called: string[] = [];
      watchAbort(controller.signal, () => called.push('a'));
      watchAbort(controller.signal, () => {
        throw new Error('boom');
      });
      watchAbort(controller.signal, () => called.push('c'));
      controller.abort();
      assert.deepEqual(called, ['a', 'c']);
      assert.equal((reported[0] as Error).message, 'boom');
    } finally {
      globalThis.queueMicrotask = original;
    }
  });

  it('property: calls exactly what EventTarget listeners would, in the same order, whatever is added and removed (even by a watcher as it runs)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('watch' as const), id: fc.nat(9) }),
      fc.record({ kind: fc.constant('unwatch' as const), id: fc.nat(9) }),
      fc.record({ kind: fc.constant('removeOnFire' as const), id: fc.nat(9), other: fc.nat(9) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const run = (add: (s: AbortSignal, f: () => void) => void, remove: (s: AbortSignal, f: () => void) => void): string[] => {
          const controller = new AbortController();
          const called: string[] = [];
          const fns = new Map<number, () => void>();
          const fnOf = (id: number, other?: number): (() => void) => {
            let fn = fns.get(id);
            if (fn === undefined) {
              fn = () => {
                called.push(String(id));
                const o = others.get(id);
                if (o !== undefined && fns.has(o)) remove(controller.signal, fns.get(o)!);
              };
              fns.set(id, fn);
            }
            if (other !== undefined) others.set(id, other);
            return fn;
          };
          const others = new Map<number, number>();
          for (const o of ops) {
            if (o.kind === 'watch') add(controller.signal, fnOf(o.id));
            else if (o.kind === 'removeOnFire') add(controller.signal, fnOf(o.id, o.other));
            else if (fns.has(o.id)) remove(controller.signal, fns.get(o.id)!);
          }
          controller.abort();
          return called;
        };
        const native = run(
          (s, f) => s.addEventListener('abort', f, { once: true }),
          (s, f) => s.removeEventListener('abort', f),
        );
        assert.deepEqual(run(watchAbort, unwatchAbort), native);
      }),
    );
  });
});

describe('one signal shared by many waiting calls', () => {
  it('a thousand queued acquires, runs and retry sleeps on one signal add one listener each kind at most, and Node warns of none', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const clock = new ManualClock();
      const controller = new AbortController();
      const { signal } = controller;
      const rate = new RateLimiter({ limits: '1/1s', clock });
      const concurrency = new ConcurrencyLimiter({ limit: 1, clock });
      const retry = new RetryPolicy({ attempts: 3, backoff: constant(60_000), clock });
      const outcomes: Promise<'done' | 'aborted'>[] = [];
      const outcome = (p: Promise<unknown>): void => void outcomes.push(p.then(() => 'done' as const, () => 'aborted' as const));
      for (let i = 0; i < 1000; i++) {
        outcome(rate.acquire({ signal }));
        outcome(concurrency.run(() => new Promise(() => {}), { signal }));
        outcome(retry.execute(() => Promise.reject(new Error('again')), { signal }));
      }
      await clock.advance(0);
      assert.ok(getEventListeners(signal, 'abort').length <= 3, `${getEventListeners(signal, 'abort').length} listeners`);
      controller.abort();
      const settled = await Promise.all(outcomes.filter((_, i) => i % 3 !== 1 || i > 1));
      // The first acquire starts at once, the first run never ends; every other call ends with the abort.
      assert.equal(settled.filter((s) => s === 'aborted').length, 2998);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning'), []);
      assert.equal(getEventListeners(signal, 'abort').length, 0);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
