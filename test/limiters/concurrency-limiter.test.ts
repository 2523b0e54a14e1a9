import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConcurrencyLimiter, ConfigError, ManualClock, QueueFullError } from '../../src/index.js';

describe('ConcurrencyLimiter', () => {
  it('never has more than `limit` in flight under random work, throws and aborts; every call is accounted for', async () => {
    const opArb = fc.record({
      work: fc.integer({ min: 0, max: 50 }),
      outcome: fc.constantFrom('ok', 'reject', 'throw'),
      abortAfter: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined, freq: 3 }),
      priority: fc.constantFrom(0, 0, 1),
      gap: fc.integer({ min: 0, max: 10 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), fc.array(opArb, { maxLength: 60 }), async (limit, queueSize, ops) => {
        const clock = new ManualClock();
        const limiter = new ConcurrencyLimiter({ limit, queueSize });
        let inFlight = 0;
        let most = 0;
        const settled: string[] = [];
        const signals: AbortSignal[] = [];
        for (const op of ops) {
          let signal: AbortSignal | undefined;
          if (op.abortAfter !== undefined) {
            const controller = new AbortController();
            signal = controller.signal;
            signals.push(signal);
            clock.timer(() => controller.abort(), op.abortAfter);
          }
          limiter
            .run(
              () => {
                inFlight++;
                most = Math.max(most, inFlight);
                if (op.outcome === 'throw') {
                  inFlight--;
                  throw new Error('sync throw');
                }
                return clock.sleep(op.work).then(() => {
                  inFlight--;
                  if (op.outcome === 'reject') throw new Error('async failure');
                  return 'ok';
                });
              },
              { signal, priority: op.priority },
            )
            .then(
              () => settled.push('ok'),
              (e: Error) => settled.push(e.name),
            );
          await clock.advance(op.gap);
        }
        await clock.runAll();
        assert.ok(most <= limit, `${most} in flight, limit ${limit}`);
        assert.equal(settled.length, ops.length, 'every call settled');
        const s = limiter.stats();
        assert.equal(s.inFlight, 0);
        assert.equal(s.waiting, 0);
        assert.equal(s.started + s.rejected + s.aborted, s.submitted);
        assert.equal(s.submitted, ops.length);
        for (const signal of signals) assert.equal(getEventListeners(signal, 'abort').length, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('permits: release is idempotent and frees exactly one slot', async () => {
    const limiter = new ConcurrencyLimiter({ limit: 1 });
    const first = await limiter.acquire();
    let second = false;
    void limiter.acquire().then(() => (second = true));
    first.release();
    first.release();
    await new Promise((r) => setImmediate(r));
    assert.equal(second, true);
    assert.equal(limiter.stats().inFlight, 1);
  });

  it("queueSize with onFull 'reject' fails fast with QueueFullError", async () => {
    const limiter = new ConcurrencyLimiter({ limit: 1, queueSize: 1 });
    const p = await limiter.acquire();
    const queued = limiter.acquire();
    await assert.rejects(limiter.acquire(), QueueFullError);
    p.release();
    (await queued).release();
  });

  it("queueSize with onFull 'wait' holds callers outside the queue, in order", async () => {
    const limiter = new ConcurrencyLimiter({ limit: 1, queueSize: 1, onFull: 'wait' });
    const order: number[] = [];
    const gate = await limiter.acquire();
    const runs = [1, 2, 3].map((i) => limiter.run(async () => order.push(i)));
    assert.equal(limiter.stats().waiting, 1);
    assert.equal(limiter.stats().overflow, 2);
    gate.release();
    await Promise.all(runs);
    assert.deepEqual(order, [1, 2, 3]);
  });

  it('setLimit raises and lowers the limit at runtime', async () => {
    const limiter = new ConcurrencyLimiter({ limit: 1 });
    const held = [await limiter.acquire()];
    const more = [limiter.acquire(), limiter.acquire()];
    limiter.setLimit(3);
    held.push(...(await Promise.all(more)));
    assert.equal(limiter.stats().inFlight, 3);
    limiter.setLimit(1);
    let started = false;
    void limiter.acquire().then(() => (started = true));
    held.pop()!.release();
    held.pop()!.release();
    await new Promise((r) => setImmediate(r));
    assert.equal(started, false, 'still one in flight, at the new limit');
    held.pop()!.release();
    await new Promise((r) => setImmediate(r));
    assert.equal(started, true);
  });

  it('limit Infinity is no bound: every call starts at once', async () => {
    const pool = new ConcurrencyLimiter({ limit: Number.POSITIVE_INFINITY });
    const gates: Array<() => void> = [];
    const runs = Array.from({ length: 1000 }, () => pool.run(() => new Promise<void>((resolve) => gates.push(resolve))));
    await Promise.resolve();
    assert.equal(pool.stats().inFlight, 1000);
    assert.equal(pool.stats().waiting, 0);
    for (const open of gates) open();
    await Promise.all(runs);
    pool.setLimit(2);
    assert.equal(pool.limit, 2);
    assert.throws(() => new ConcurrencyLimiter({ limit: Number.NaN }), (e: unknown) => e instanceof ConfigError && e.field === 'limit');
    assert.throws(() => new ConcurrencyLimiter({ limit: Number.NEGATIVE_INFINITY }), (e: unknown) => e instanceof ConfigError && e.field === 'limit');
  });

  it('bad options are ConfigErrors naming the field', () => {
    assert.throws(() => new ConcurrencyLimiter({ limit: 0 }), (e: unknown) => e instanceof ConfigError && e.field === 'limit');
    assert.throws(() => new ConcurrencyLimiter({ limit: 1.5 }), (e: unknown) => e instanceof ConfigError && e.field === 'limit');
    assert.throws(() => new ConcurrencyLimiter({ limit: 1, onFull: 'drop' as never }), (e: unknown) => e instanceof ConfigError && e.field === 'onFull');
  });

  it('a run() of something not a function, options that are not an object, and an aborted signal are refused without taking a slot', async () => {
    const pool = new ConcurrencyLimiter({ limit: 1 });
    await assert.rejects(pool.run('work' as never), (e: unknown) => e instanceof ConfigError && e.field === 'fn');
    await assert.rejects(pool.acquire(5 as never), (e: unknown) => e instanceof ConfigError && e.field === 'options');
    await assert.rejects(pool.run(() => 1, 'x' as never), (e: unknown) => e instanceof ConfigError && e.field === 'options');
    await assert.rejects(pool.acquire({ signal: AbortSignal.abort() }), { name: 'AbortError' });
    await assert.rejects(pool.run(() => 1, { signal: AbortSignal.abort() }), { name: 'AbortError' });
    const stats = pool.stats();
    assert.equal(stats.inFlight, 0);
    assert.equal(stats.started, 0);
    assert.equal(stats.aborted, 2);
    assert.equal(stats.submitted, stats.started + stats.rejected + stats.aborted);
    const permit = await pool.acquire();
    permit.release();
  });

  it('watched (onQueueLeft, as sluice/otel does), a queued acquire() still gets its permit and holds its slot', async () => {
    // The watcher used to queue a wrapper task in the permit's place: the caller got
    // undefined, and the wrapper's end freed the slot at once — the limit no longer held.
    const pool = new ConcurrencyLimiter({ limit: 1 });
    const waits: number[] = [];
    pool.onQueueLeft((event) => waits.push(event.waitMs));
    const first = await pool.acquire();
    const second = pool.acquire();
    first.release();
    const permit = await second;
    assert.equal(typeof permit?.release, 'function');
    assert.equal(pool.stats().inFlight, 1, 'the slot is held until the permit is released');
    assert.equal(waits.length, 1);
    permit.release();
    assert.equal(pool.stats().inFlight, 0);
  });
});
