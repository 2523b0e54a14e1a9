import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, ManualClock, RateLimiter, toLimitSpecs } from '../../../src/index.js';
import { RedisStore } from '../../../src/redis.js';
import { leaseFleetProperty, mostInWindow, type Start } from './lease-fleet.js';
import { cleanup, commandCalls, connect, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

describe('leased permits (RedisStore lease)', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('leases');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('refuses a bad lease option by name, before any call to Redis', () => {
    const named = (field: string) => (error: unknown) => error instanceof ConfigError && error.field === field;
    assert.throws(() => new RedisStore(client, { lease: 'yes' as unknown as boolean }), named('lease'));
    assert.throws(() => new RedisStore(client, { lease: { periodMs: 0 } }), named('lease.periodMs'));
    assert.throws(() => new RedisStore(client, { lease: { demandMs: -1 } }), named('lease.demandMs'));
    assert.throws(() => new RedisStore(client, { lease: { maxShare: 1.5 } }), named('lease.maxShare'));
  });

  it('a fleet of members with leases never starts more than the limit allows, on random schedules of spends, waits, closes and deaths', async () => {
    const leased = await leaseFleetProperty(client, prefix, 60);
    assert.ok(leased > 0, 'some starts were spent from leases (the property is not vacuous)');
  });

  it('a lease spent at the end of its period still counts a full window from its start: another member cannot start a window early', async () => {
    const key = 'late-spend';
    const lease = { periodMs: 10, demandMs: 20, maxShare: 1 };
    const [a, b] = [0, 1].map(() => new RedisStore(client, { prefix, lease, unsafeCallerClockForTests: true }));
    const [spec] = toLimitSpecs([{ rate: '10/100ms', burst: 10 }], {});
    const specs = [spec!];
    const starts: Start[] = [];
    for (const now of [0, 1]) {
      assert.equal(await a!.reserve(key, specs, 1, now), 0);
      starts.push({ at: now, cost: 1 });
    }
    // At t = 1 member A measured 2 units/ms and took a lease of the 8 left; it spends them at the last moment.
    for (let i = 0; i < 8; i++) {
      assert.equal(await a!.reserve(key, specs, 1, 10.9), 0);
      starts.push({ at: 10.9, cost: 1 });
    }
    assert.equal(a!.stats().leased, 8);
    // 100 ms after the lease was decided its units are still counted: they started at 10.9.
    const waits = await b!.reserveInOrder(key, specs, Array.from({ length: 10 }, () => 1), 101);
    for (const wait of waits) if (wait === 0) starts.push({ at: 101, cost: 1 });
    assert.ok(mostInWindow(starts, 100) <= 10, `a window of 100 ms held ${mostInWindow(starts, 100)} starts: ${waits.join(',')}`);
  });

  it('a lease given back after its window has passed gives nothing back (close on a caller clock takes the time it is told)', async () => {
    // found by the fleet property: a close decided at the store's stale latest instant gave
    // back a start that had already left its window, as credit for another member
    const key = 'stale-close';
    const lease = { periodMs: 1, demandMs: 5, maxShare: 1 };
    const [a, b] = [0, 1].map(() => new RedisStore(client, { prefix, lease, unsafeCallerClockForTests: true }));
    const [spec] = toLimitSpecs([{ rate: '3/100ms', burst: 3 }], {});
    const specs = [spec!];
    assert.equal(await a!.reserve(key, specs, 1, 0), 0);
    assert.equal(await a!.reserve(key, specs, 1, 0.5), 0); // and a lease of the 1 left, never spent
    const waits = await b!.reserveInOrder(key, specs, [1, 1, 1], 101.6); // all of a's have left (span 101)
    assert.deepEqual(waits, [0, 0, 0]);
    await a!.close(101.7);
    assert.notEqual(await b!.reserve(key, specs, 1, 101.8), 0, 'the window is full: nothing came back');
  });

  it('a sequential caller makes one Redis call per lease, not per admission, and close gives the unspent permits back', async () => {
    const key = 'sequential';
    const store = new RedisStore(client, { prefix, lease: { periodMs: 20, demandMs: 20, maxShare: 1 }, unsafeCallerClockForTests: true });
    const [spec] = toLimitSpecs([{ rate: '100/1s', burst: 100 }], {});
    const specs = [spec!];
    const calls = (): Promise<number> => commandCalls(client, 'evalsha');
    const before = await calls();
    let now = 0;
    for (let i = 0; i < 60; i++) {
      assert.equal(await store.reserve(key, specs, 1, now), 0);
      now += 0.5; // 2 per ms: a lease of about 20 ms of demand covers 40
    }
    const used = (await calls()) - before;
    assert.ok(used <= 10, `60 admissions took ${used} script calls`);
    assert.ok(store.stats().leased >= 45, JSON.stringify(store.stats()));
    // 40 more fit the window only if close gave back every unspent permit
    await store.close();
    const other = new RedisStore(client, { prefix, unsafeCallerClockForTests: true });
    const waits = await other.reserveInOrder(key, specs, Array.from({ length: 40 }, () => 1), now);
    assert.deepEqual(waits.filter((w) => w === 0).length, 40, `after close, the window had room for the 40 not started: ${waits.join(',')}`);
  });

  it('a caller nobody waits ahead of starts on a held lease at once, with no queue turn and no call to Redis', async () => {
    const clock = new ManualClock(1_000);
    const store = new RedisStore(client, { prefix, lease: { periodMs: 50, demandMs: 50, maxShare: 1 }, unsafeCallerClockForTests: true });
    const limiter = new RateLimiter({ limits: { rate: '1000/1s', burst: 1000 }, store, key: 'held', clock });
    // Two admissions 1 ms apart measure this member's rate (1/ms); the second call takes a lease of about 50 ms of it.
    await limiter.acquire();
    await clock.advance(1);
    await limiter.acquire();
    const admitted = limiter.stats().admitted;
    const leased = store.stats().leased;
    const started = limiter.acquire();
    assert.equal(limiter.stats().admitted, admitted + 1, 'admitted before the call returned: no queue turn, no round trip');
    assert.equal(store.stats().leased, leased + 1);
    await started;
    await store.close(clock.now());
  });

  it('a newcomer does not start on a held lease ahead of callers already waiting', async () => {
    const clock = new ManualClock(1_000);
    const store = new RedisStore(client, { prefix, lease: { periodMs: 50, demandMs: 50, maxShare: 1 }, unsafeCallerClockForTests: true });
    const limiter = new RateLimiter({ limits: { rate: '1000/1s', burst: 1000 }, store, key: 'fifo', clock });
    const order: number[] = [];
    // The first two join the queue together (one round trip); the third comes while they wait for Redis.
    const first = limiter.acquire().then(() => order.push(1));
    const second = limiter.acquire().then(() => order.push(2));
    await new Promise((resolve) => setImmediate(resolve));
    const third = limiter.acquire().then(() => order.push(3));
    await Promise.all([first, second, third]);
    assert.deepEqual(order, [1, 2, 3]);
    await store.close(clock.now());
  });

  it('under a binding limit, spending a lease asks for no other ahead of need: no script call the limit would refuse', async () => {
    const key = 'binding-refill';
    const store = new RedisStore(client, { prefix, lease: { periodMs: 50, demandMs: 50, maxShare: 1 }, unsafeCallerClockForTests: true });
    const [spec] = toLimitSpecs([{ rate: '5/1s', burst: 5 }], {});
    const specs = [spec!];
    const calls = (): Promise<number> => commandCalls(client, 'evalsha');
    assert.equal(await store.reserve(key, specs, 1, 0), 0);
    // 2/ms measured: this call's lease asks for about 100 and gets the 3 left — the limit binds
    assert.equal(await store.reserve(key, specs, 1, 1), 0);
    const before = await calls();
    for (let i = 0; i < 3; i++) assert.equal(await store.reserve(key, specs, 1, 1.5), 0);
    assert.equal(store.stats().leased, 3);
    assert.equal((await calls()) - before, 0, 'the last permit spent asked for no refill');
    await store.close(1.5);
  });

  it('a RateLimiter over a leasing store admits as before and serves its queue from leases', async () => {
    const store = new RedisStore(client, { prefix, lease: true });
    const limiter = new RateLimiter({ limits: '100000/1s', store, key: 'limiter' });
    for (let i = 0; i < 200; i++) await limiter.acquire();
    assert.equal(limiter.stats().admitted, 200);
    assert.ok(store.stats().leased > 0, JSON.stringify(store.stats()));
    await store.close();
  });
});
