import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, RateLimiter, toLimitSpecs } from '../../../src/index.js';
import { encodeKeyPart, RedisStore } from '../../../src/redis.js';
import { cleanup, connect, flushScripts, keysWithTtl, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('encodeKeyPart', () => {
  it('is injective and keeps braces, colons and whitespace out of keys', () => {
    const parts = ['a:b', 'a%3ab', 'a%3Ab', '{tag}', '}{', 'a b', 'a\nb', '\ud800', '\udc00', 'ünï', ''];
    const encoded = parts.map(encodeKeyPart);
    assert.equal(new Set(encoded).size, parts.length);
    for (const e of encoded) assert.doesNotMatch(e, /[{}:\s]/);
  });
});

describe('RedisStore on Redis time', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('store');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('refuses more limits than a script takes when the limiter is made or its limits are set, never inside a wait', () => {
    const store = new RedisStore(client, { prefix });
    const many = Array.from({ length: 13 }, (_, i) => `${i + 1}/s`);
    const namesLimits = (error: unknown): boolean => error instanceof ConfigError && error.field === 'limits';
    assert.throws(() => new RateLimiter({ limits: many, store, key: 'many' }), namesLimits);
    const limiter = new RateLimiter({ limits: many.slice(0, 12), store, key: 'many' });
    assert.throws(() => limiter.setLimits(many), namesLimits);
    assert.throws(() => limiter.setLimits(many.slice(0, 7).map((rate) => ({ rate, smooth: '100ms' }))), namesLimits, 'a limit with smooth counts twice');
  });

  it('gives every key the shortest TTL that keeps its state, and lets idle keys go', async () => {
    const store = new RedisStore(client, { prefix });
    await store.reserve('gcra', toLimitSpecs({ rate: '10/1s', algorithm: 'gcra' }, {}), 1, 0);
    await store.reserve('sliding', toLimitSpecs({ rate: '10/200ms', algorithm: 'sliding-window' }, {}), 1, 0);
    await store.reserve('fixed', toLimitSpecs({ rate: '10/200ms', algorithm: 'fixed-window' }, {}), 1, 0);
    const ttls = await keysWithTtl(client, prefix);
    const ttl = (part: string): number[] => [...ttls].filter(([key]) => key.includes(`{${part}}`)).map(([, t]) => t);
    assert.ok(ttl('gcra').every((t) => t > 0 && t <= 101), `gcra: one emission (100 ms): ${ttl('gcra')}`);
    assert.equal(ttl('sliding').length, 1, 'one key per limit: the log and its header share it');
    assert.ok(ttl('sliding').every((t) => t > 150 && t <= 211), `sliding: the window plus start lag: ${ttl('sliding')}`);
    assert.ok(ttl('fixed').every((t) => t > 0 && t <= 201), `fixed: to the end of the window: ${ttl('fixed')}`);
    await sleep(260);
    assert.equal((await keysWithTtl(client, prefix)).size, 0, 'all gone once idle');
  });

  it('puts every key of one limiter under one hash tag, inside the prefix', async () => {
    const store = new RedisStore(client, { prefix });
    const limits = toLimitSpecs(['5/1s', { rate: '100/1m', algorithm: 'gcra' }, { rate: '1000/1h', algorithm: 'fixed-window' }], {});
    await store.reserve('user}{:1', limits, 1, 0);
    const keys = [...(await keysWithTtl(client, `${prefix}{user`)).keys()];
    assert.equal(keys.length, 3, 'one key per limit');
    for (const key of keys) {
      assert.ok(key.startsWith(`${prefix}{user%7d%7b%3a1}:`), key);
      assert.equal(key.split('{').length, 2, 'one tag: Cluster hashes exactly it');
    }
    assert.throws(() => new RedisStore(client, { prefix: 'a{b}' }), ConfigError);
  });

  it('decides up to 12 limits in one script, and refuses more with a ConfigError', async () => {
    const store = new RedisStore(client, { prefix });
    const rates = ['5/1s', { rate: '50/1m', algorithm: 'gcra' }, { rate: '500/1h', algorithm: 'fixed-window' }] as const;
    const twelve = toLimitSpecs(Array.from({ length: 12 }, (_, i) => rates[i % 3]!), {});
    assert.equal(await store.reserve('many', twelve, 1, 0), 0);
    assert.ok((await store.reserve('many', twelve, 1, 0)) > 0, 'the paced 5/1s limits wait');
    assert.throws(() => store.reserve('more', toLimitSpecs(Array.from({ length: 13 }, () => '5/1s'), {}), 1, 0), ConfigError);
  });

  it('reloads its script after SCRIPT FLUSH (NOSCRIPT) and goes on deciding', async () => {
    const limiter = new RateLimiter({ limits: { rate: '100/1s', burst: 100 }, store: new RedisStore(client, { prefix }), key: 'flush' });
    await limiter.acquire();
    await flushScripts(client);
    for (let i = 0; i < 5; i++) await limiter.acquire();
    assert.equal(limiter.stats().admitted, 6);
  });

  it("serves a RateLimiter's callers in order, many per round trip", async () => {
    const store = new RedisStore(client, { prefix });
    let calls = 0;
    const inOrder = store.reserveInOrder.bind(store);
    store.reserveInOrder = (...args) => {
      calls++;
      return inOrder(...args);
    };
    const limiter = new RateLimiter({ limits: { rate: '1000000/1s', burst: 1000 }, store, key: 'in-order' });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 300 }, (_, i) => limiter.run(() => order.push(i))));
    assert.deepEqual(order, Array.from({ length: 300 }, (_, i) => i), 'admitted in the order they came');
    // batches of 16, 32, 64, 64… (in-order-batch.ts): one round trip per waiter before
    assert.ok(calls <= 8, `${calls} round trips for 300 callers`);
  });

  it('admits exactly the limit across 200 concurrent callers', async () => {
    // startLagMs: 1000 — a cold burst of 200 answers takes this process longer than the
    // default lag to handle, and late answers are (rightly) given back; here only the count matters.
    const store = new RedisStore(client, { prefix, startLagMs: 1000 });
    const limiter = new RateLimiter({ limits: { rate: '50/10s', burst: 50 }, store, key: 'race' });
    const decisions = await Promise.all(Array.from({ length: 200 }, () => limiter.tryAcquire()));
    assert.equal(decisions.filter((d) => d.granted).length, 50);
  });
});
