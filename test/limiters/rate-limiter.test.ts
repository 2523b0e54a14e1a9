import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { ConfigError, ManualClock, QueueFullError, RateLimitedError, RateLimiter } from '../../src/index.js';

function limiter(limits: ConstructorParameters<typeof RateLimiter>[0]['limits'], extra: Partial<ConstructorParameters<typeof RateLimiter>[0]> = {}) {
  const clock = new ManualClock();
  return { clock, limiter: new RateLimiter({ limits, clock, ...extra }) };
}

describe('RateLimiter', () => {
  it('paces a queue evenly: 5/s starts one every 200 ms', async () => {
    const { clock, limiter: l } = limiter('5/s', { slack: 0 });
    const starts: number[] = [];
    for (let i = 0; i < 6; i++) void l.run(() => starts.push(clock.now()));
    await clock.runAll();
    assert.deepEqual(starts, [0, 200, 400, 600, 800, 1000]);
  });

  it('uses one timer however many wait', async () => {
    const { clock, limiter: l } = limiter('1/s');
    for (let i = 0; i < 1000; i++) void l.acquire();
    await clock.advance(0);
    assert.equal(clock.pendingTimers, 1);
    assert.equal(l.stats().waiting, 999);
    await clock.runAll();
    assert.equal(l.stats().admitted, 1000);
  });

  it('all limits must admit: 2/s (paced, burst 2) and 3/10s (an exact cap)', async () => {
    const { clock, limiter: l } = limiter(['2/s', '3/10s'], { burst: 2 });
    const starts: number[] = [];
    for (let i = 0; i < 4; i++) void l.run(() => starts.push(clock.now()));
    await clock.runAll();
    assert.deepEqual(starts, [0, 0, 1000, 10_000]);
  });

  it('tryAcquire never waits and never jumps the queue', async () => {
    const { clock, limiter: l } = limiter('1/s');
    assert.deepEqual(await l.tryAcquire(), { granted: true, retryAfterMs: 0 });
    const refused = await l.tryAcquire();
    assert.equal(refused.granted, false);
    assert.ok(refused.retryAfterMs > 990 && refused.retryAfterMs <= 1000);
    const waiting = l.acquire();
    await clock.advance(1000);
    await waiting;
    void l.acquire();
    await clock.advance(2000); // the limit has room again, but a waiter queued first is served first
    void l.acquire();
    assert.equal((await l.tryAcquire()).granted, false);
    await clock.runAll();
  });

  it('maxWaitMs refuses at once with RateLimitedError carrying retryAfterMs', async () => {
    const { limiter: l } = limiter('1/s', { slack: 0 });
    await l.acquire();
    await assert.rejects(l.acquire({ maxWaitMs: 500 }), (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs === 1000);
    assert.equal(l.stats().waiting, 0);
    assert.equal(l.stats().rejected, 1);
  });

  it('maxWaitMs counts the queue ahead', async () => {
    const { clock, limiter: l } = limiter('10/s', { slack: 0 });
    for (let i = 0; i < 10; i++) void l.acquire();
    await assert.rejects(l.acquire({ maxWaitMs: 500 }), RateLimitedError);
    await clock.runAll();
  });

  it('aborting a waiter frees its place, rejects with the reason and removes its listener', async () => {
    const { clock, limiter: l } = limiter('1/s', { slack: 0 });
    await l.acquire();
    const controller = new AbortController();
    const aborted = l.acquire({ signal: controller.signal });
    const next: number[] = [];
    void l.run(() => next.push(clock.now()));
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    controller.abort(new Error('caller gave up'));
    await assert.rejects(aborted, /caller gave up/);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    await clock.runAll();
    assert.deepEqual(next, [1000]); // the next waiter took the freed place
    assert.equal(l.stats().aborted, 1);
  });

  it('an admitted waiter leaves no abort listener behind', async () => {
    const { clock, limiter: l } = limiter('1/s');
    await l.acquire();
    const controller = new AbortController();
    const waiting = l.acquire({ signal: controller.signal });
    await clock.runAll();
    await waiting;
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('an already aborted signal rejects at once', async () => {
    const { limiter: l } = limiter('1/s');
    await assert.rejects(l.acquire({ signal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.equal(l.stats().admitted, 0);
  });

  it('queueSize bounds the waiters: QueueFullError beyond it', async () => {
    const { clock, limiter: l } = limiter('1/s', { queueSize: 2 });
    await l.acquire();
    void l.acquire();
    void l.acquire();
    await assert.rejects(l.acquire(), QueueFullError);
    await clock.runAll();
  });

  it('a cost no limit can ever admit is a ConfigError at once, not an endless wait', async () => {
    const { limiter: l } = limiter({ rate: '10/s', algorithm: 'gcra', burst: 3 });
    await assert.rejects(l.acquire({ cost: 4 }), (e: unknown) => e instanceof ConfigError && e.field === 'cost');
    await assert.rejects(l.tryAcquire(0), (e: unknown) => e instanceof ConfigError && e.field === 'cost');
    await assert.rejects(l.acquire({ cost: Number.NaN }), ConfigError);
  });

  it('bad options are ConfigErrors naming the field', async () => {
    const { limiter: l } = limiter('1/s');
    await assert.rejects(l.acquire({ maxWaitMs: -1 }), (e: unknown) => e instanceof ConfigError && e.field === 'maxWaitMs');
    await assert.rejects(l.acquire({ priority: Number.POSITIVE_INFINITY }), (e: unknown) => e instanceof ConfigError && e.field === 'priority');
    assert.throws(() => new RateLimiter({ limits: [] }), (e: unknown) => e instanceof ConfigError && e.field === 'limits');
    assert.throws(() => new RateLimiter({ limits: ['1/s', 'x/s'] }), (e: unknown) => e instanceof ConfigError && e.field === 'limits[1]');
    assert.throws(() => new RateLimiter({ limits: { rate: '5/s', burst: 9 } }), (e: unknown) => e instanceof ConfigError && e.field === 'limits.burst');
    assert.throws(() => new RateLimiter({ limits: '5/s', algorithm: 'leaky' as never }), (e: unknown) => e instanceof ConfigError && e.field === 'algorithm');
  });

  it("a limiter given another limiter's own store and key shares its limit, across the store's sweeps of idle keys", async () => {
    const clock = new ManualClock();
    const a = new RateLimiter({ limits: '5/s', burst: 5, clock });
    const b = new RateLimiter({ limits: '5/s', burst: 5, clock, store: a.store });
    const other = new RateLimiter({ limits: '1000000/s', clock, store: a.store, key: 'other' });
    const grantedOf = async (l: RateLimiter, n: number) => {
      let granted = 0;
      for (let i = 0; i < n; i++) if ((await l.tryAcquire()).granted) granted++;
      return granted;
    };
    assert.equal((await grantedOf(a, 3)) + (await grantedOf(b, 3)), 5);
    await clock.advance(2000); // both idle: the store may sweep the key now
    for (let i = 0; i < 5000; i++) await other.tryAcquire(); // past a sweep (every 4096 operations)
    assert.equal((await grantedOf(a, 3)) + (await grantedOf(b, 3)), 5, 'a and b still share one limit');
  });

  it('acquire(cost, options) takes the cost given first, as acquire({ cost }) does', async () => {
    const { clock, limiter: l } = limiter('300/s', { burst: 300 });
    await l.acquire(250);
    assert.equal((await l.tryAcquire(100)).granted, false, 'acquire(250) took 250 units, not 1');
    await l.acquire(40, { priority: 1 });
    assert.equal((await l.tryAcquire(11)).granted, false);
    assert.equal((await l.tryAcquire(10)).granted, true);
    await assert.rejects(l.acquire(2, { cost: 3 } as never), (e: unknown) => e instanceof ConfigError && e.field === 'cost');
    await assert.rejects(l.acquire(0), (e: unknown) => e instanceof ConfigError && e.field === 'cost');
    await clock.runAll();
    assert.equal(l.stats().waiting, 0);
  });

  it('options that are not an object, and a run() of something not a function, are ConfigErrors before anything is taken', async () => {
    const { limiter: l } = limiter('1/s');
    await assert.rejects(l.acquire('5' as never), (e: unknown) => e instanceof ConfigError && e.field === 'options');
    await assert.rejects(l.acquire(null as never), (e: unknown) => e instanceof ConfigError && e.field === 'options');
    await assert.rejects(l.run('work' as never), (e: unknown) => e instanceof ConfigError && e.field === 'fn');
    assert.equal(l.stats().admitted, 0);
    assert.equal((await l.tryAcquire()).granted, true, 'nothing was taken by the refused calls');
  });

  it('setLimits changes the rate at runtime and keeps waiters in order', async () => {
    const { clock, limiter: l } = limiter('1/s', { slack: 0 });
    const starts: number[] = [];
    for (let i = 0; i < 4; i++) void l.run(() => starts.push(clock.now()));
    await clock.advance(1000);
    l.setLimits('10/s');
    await clock.runAll();
    assert.deepEqual(starts, [0, 1000, 1100, 1200]);
  });

  it('setLimits rejects waiters whose cost the new limits can never admit', async () => {
    const { clock, limiter: l } = limiter({ rate: '10/s', algorithm: 'gcra', burst: 5 });
    await l.acquire({ cost: 5 });
    const big = l.acquire({ cost: 5 });
    const small = l.acquire({ cost: 1 });
    l.setLimits({ rate: '10/s', algorithm: 'gcra', burst: 2 });
    await assert.rejects(big, ConfigError);
    await clock.runAll();
    await small;
  });

  it('run passes the result through and a throwing fn rejects without hurting the limiter', async () => {
    const { clock, limiter: l } = limiter('100/s');
    assert.equal(await l.run(() => 42), 42);
    const throwing = assert.rejects(
      l.run(() => {
        throw new Error('boom');
      }),
      /boom/,
    );
    const later = l.run(async () => 'ok');
    await clock.runAll();
    await throwing;
    assert.equal(await later, 'ok');
  });
});

describe('RateLimiter refund and charge (estimate corrections)', () => {
  it('refund gives units back so waiters start sooner', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ limits: { rate: '100/1m', burst: 100 }, clock });
    await l.acquire({ cost: 100 });
    const starts: number[] = [];
    void l.run(() => starts.push(clock.now()), { cost: 40 });
    await clock.advance(1000);
    assert.deepEqual(starts, []);
    await l.refund(60); // the call used 40, not 100
    await clock.advance(0);
    assert.deepEqual(starts, [1000]);
  });

  it('charge records usage beyond the estimate; later callers wait for it to drain', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ limits: { rate: '100/1m', burst: 100 }, clock });
    await l.acquire({ cost: 50 });
    await l.charge(70); // it used 120 in all: 20 over the limit
    const starts: number[] = [];
    void l.run(() => starts.push(clock.now()), { cost: 10 });
    await clock.runAll();
    assert.deepEqual(starts, [60_000]); // the window must drain below 90 first
    await assert.rejects(l.charge(-1), (e: unknown) => e instanceof ConfigError && e.field === 'cost');
  });

  it('reserve: a Reservation gives back units of its own start, whatever started since — freed when that start leaves', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ limits: { rate: '100/1s', burst: 100 }, clock });
    const a = await l.reserve(60); // at 0
    await clock.advance(400);
    await l.reserve(40); // at 400: full
    await a.refund(50); // a used 10
    assert.equal(a.units, 10);
    assert.equal((await l.tryAcquire(50)).granted, true, '10 + 40 + 50');
    await clock.advance(600);
    assert.equal((await l.tryAcquire(10)).granted, true, "at 1000 a's 10 have left the window");
  });

  it('reserve: a waiter is stamped when the queue admits it, and its refund comes back to it', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ limits: { rate: '2/1s', burst: 2 }, clock });
    await l.reserve(2); // at 0: full
    const waiting = l.reserve(1, { priority: 1 });
    await clock.advance(1000);
    const late = await waiting; // admitted at 1000
    await l.reserve(1); // at 1000: full again
    await clock.advance(500);
    await late.refund();
    assert.equal(late.units, 0);
    assert.equal((await l.tryAcquire(1)).granted, true, 'its unit came back');
    await assert.rejects(late.refund(-1), (e: unknown) => e instanceof ConfigError && e.field === 'units');
    await assert.rejects(late.charge(Number.NaN), (e: unknown) => e instanceof ConfigError && e.field === 'units');
    await assert.rejects(l.reserve(3), (e: unknown) => e instanceof ConfigError && e.field === 'cost');
  });

  it('reserve: a charge counts the extra units where the start was, so they leave with it', async () => {
    const clock = new ManualClock();
    const l = new RateLimiter({ limits: { rate: '100/1s', burst: 100 }, clock });
    const a = await l.reserve(10); // at 0
    await clock.advance(300);
    await a.charge(80); // a used 90
    assert.equal((await l.tryAcquire(11)).granted, false, '90 + 11 > 100');
    await clock.advance(700);
    assert.equal((await l.tryAcquire(100)).granted, true, 'at 1000 all of a has left, not at 1300');
  });
});
