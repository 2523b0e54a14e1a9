// The canary over the `sluice/redis` entry: ioredis clients made with the canary as their
// password (the issue's own case: RateLimiter.charge() over a RedisStore, today over one
// that cannot reach Redis), against the real
// Redis and against a closed port, and every error, event and stats() walked for it.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { PartitionedRateLimiter, RateLimiter, sluiceFetch, type SluiceFetchEvent } from '../../src/index.js';
import { RedisConcurrencyLimiter, RedisStore } from '../../src/redis.js';
import { skipRedis, uniquePrefix } from '../store/redis/redis-available.js';
import { CANARY, PLANTED, assertNoCanary, errorOf } from './canary.js';

/** An ioredis client whose options carry the canary; Redis without ACLs accepts any password for `default`. */
function clientOn(port: number): Redis {
  const client = new Redis({ host: '127.0.0.1', port, username: 'default', password: CANARY, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  client.on('error', () => {});
  return client;
}

describe('canary: sluice/redis', { skip: skipRedis }, () => {
  let up: Redis;
  let down: Redis;
  before(async () => {
    up = clientOn(6379);
    await up.connect();
    down = clientOn(await closedPort());
    down.connect().catch(() => {});
  });
  after(() => {
    up.disconnect();
    down.disconnect();
  });

  it('RedisStore and its RateLimiter: bad options show no password', async () => {
    const store = new RedisStore(up, { prefix: uniquePrefix('canary') });
    const limiter = new RateLimiter({ limits: '5/1s', store, key: 'canary' });
    await limiter.acquire();
    await limiter.charge(1);
    const errors = [
      await errorOf(() => new RedisStore({ options: { password: CANARY } } as never)),
      await errorOf(() => new RedisStore(up, { onUnavailable: PLANTED.bearer as never })),
      await errorOf(() => new RedisStore(up, { timeoutMs: PLANTED.basic as never })),
      await errorOf(() => new RedisStore(up, { prefix: `{${PLANTED.apiKeyQuery}}` })),
      await errorOf(() => new RedisStore(up, { prefix: PLANTED.oauth as never })),
      await errorOf(() => new PartitionedRateLimiter({ limits: '1/1s', store }).acquire(PLANTED.oauth as never)),
    ];
    for (const error of errors) assertNoCanary('RedisStore', error);
    assertNoCanary('RateLimiter.stats()', limiter.stats());
    assertNoCanary('RedisStore.stats()', store.stats());
  });

  it('Redis unreachable: StoreUnavailableError, the adaptive rate’s sharing events and stats show no password', async () => {
    const store = new RedisStore(down, { onUnavailable: 'reject' });
    const limiter = new RateLimiter({ limits: '5/1s', store, key: 'canary' });
    assertNoCanary('RedisStore unavailable', await errorOf(() => limiter.acquire()));
    assertNoCanary('RedisStore unavailable, charge()', await errorOf(() => limiter.charge(1)));
    assertNoCanary('RedisStore.stats()', store.stats());

    const events: SluiceFetchEvent[] = [];
    const fetchVia = sluiceFetch({
      rate: new RateLimiter({ limits: '5/1s', store, key: 'canary-fetch' }),
      retry: false,
      fetch: () => Promise.resolve(new Response('ok')),
      onEvent: (e) => events.push(e),
    });
    assertNoCanary('sluiceFetch over an unreachable store', await errorOf(() => fetchVia(PLANTED.apiKeyQuery)));
    assertNoCanary('sluiceFetch events over an unreachable store', events);
  });

  it('RedisConcurrencyLimiter: bad options, an unreachable Redis and a closed limiter show no password', async () => {
    const unreachable = new RedisConcurrencyLimiter(down, { limit: 1, onUnavailable: 'reject', key: 'canary' });
    const closed = new RedisConcurrencyLimiter(up, { limit: 1, prefix: uniquePrefix('canary'), key: 'canary' });
    await closed.close();
    const errors = [
      await errorOf(() => new RedisConcurrencyLimiter({ options: { password: CANARY } } as never, { limit: 1 })),
      await errorOf(() => new RedisConcurrencyLimiter(up, { limit: PLANTED.bearer as never })),
      await errorOf(() => new RedisConcurrencyLimiter(up, { limit: 1, key: PLANTED.oauth as never })),
      await errorOf(() => new RedisConcurrencyLimiter(up, PLANTED.headers as never)),
      await errorOf(() => unreachable.run(() => 1)),
      await errorOf(() => closed.run(() => 1)),
    ];
    for (const error of errors) assertNoCanary('RedisConcurrencyLimiter', error);
    assertNoCanary('RedisConcurrencyLimiter.stats()', unreachable.stats());
    await unreachable.close();
  });

  it('the client itself still carries the password (it is the caller’s), and still connects with it', () => {
    assert.equal(up.options.password, CANARY);
    assert.equal(up.status, 'ready');
  });
});

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
