import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock, MemoryStore, type RateStore } from '../../../src/index.js';
import { PartitionedRateLimiter, RedisStore } from '../../../src/redis.js';
import { cleanup, connect, keysWithTtl, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

describe('PartitionedRateLimiter', () => {
  it('gives each partition its own limit through one object', async () => {
    const clock = new ManualClock();
    const limiter = new PartitionedRateLimiter({ limits: { rate: '2/1s', burst: 2 }, clock });
    for (const user of ['ann', 'bob']) {
      assert.equal((await limiter.tryAcquire(user)).granted, true);
      assert.equal((await limiter.tryAcquire(user)).granted, true);
    }
    const refused = await limiter.tryAcquire('ann');
    assert.equal(refused.granted, false);
    assert.equal(refused.retryAfterMs, 1000);
    assert.equal((await limiter.tryAcquire('cat')).granted, true, 'a third user is not affected');
  });

  it('chooses limits per partition', async () => {
    const limiter = new PartitionedRateLimiter({
      limits: (tenant) => (tenant === 'premium' ? { rate: '5/1s', burst: 5 } : { rate: '1/1s', burst: 1 }),
      clock: new ManualClock(),
    });
    let premium = 0;
    let free = 0;
    for (let i = 0; i < 10; i++) {
      if ((await limiter.tryAcquire('premium')).granted) premium++;
      if ((await limiter.tryAcquire('free')).granted) free++;
    }
    assert.deepEqual({ premium, free }, { premium: 5, free: 1 });
  });

  it('drops idle partitions but not their limit state, and never one with waiters', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore();
    const limiter = new PartitionedRateLimiter({ limits: '1/10s', store, clock, idleMs: 1000 });
    for (let i = 0; i < 100; i++) await limiter.acquire(`user-${i}`);
    const waiting = limiter.acquire('user-0'); // waits 10 s for its turn
    assert.equal(limiter.size, 100);
    await clock.advance(1500);
    await limiter.tryAcquire('someone');
    assert.equal(limiter.size, 2, 'only the partition with a waiter and the new one remain');
    // user-5's limiter is gone, its limit is not: the store still holds its start.
    assert.equal((await limiter.tryAcquire('user-5')).granted, false);
    await clock.advance(10_000);
    await waiting;
  });

  it('keeps partition keys apart however they are spelled', async () => {
    const store = new MemoryStore();
    const seen: string[] = [];
    const spy: RateStore = {
      reserve: (key, limits, cost, now) => {
        seen.push(key);
        return store.reserve(key, limits, cost, now);
      },
      refund: (key, limits, cost, now) => store.refund(key, limits, cost, now),
    };
    const limiter = new PartitionedRateLimiter({ limits: '1/1s', store: spy, name: 'api:v1', clock: new ManualClock() });
    for (const part of ['a:b', 'a%3Ab', 'a']) await limiter.tryAcquire(part);
    assert.equal(new Set(seen).size, 3);
    assert.ok(seen.every((key) => key.startsWith('api%3Av1:')));
  });
});

describe('PartitionedRateLimiter over RedisStore', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('partitioned');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('decides like the memory store for every partition, and each partition key expires', async () => {
    const clock = new ManualClock();
    const redis = new PartitionedRateLimiter({ limits: '3/1s', store: new RedisStore(client, { prefix, unsafeCallerClockForTests: true }), clock });
    const memory = new PartitionedRateLimiter({ limits: '3/1s', clock });
    for (let step = 0; step < 60; step++) {
      const user = `user-${(step * 7) % 5}`;
      assert.deepEqual(await redis.tryAcquire(user), await memory.tryAcquire(user), `step ${step}`);
      await clock.advance(37);
    }
    const keys = await keysWithTtl(client, prefix);
    assert.ok(keys.size >= 5);
    for (const [key, ttl] of keys) assert.ok(ttl > 0, `${key} has a TTL`);
  });
});
