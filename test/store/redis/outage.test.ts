import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RateLimiter, StoreUnavailableError, toLimitSpecs } from '../../../src/index.js';
import { RedisStore } from '../../../src/redis.js';
import { OwnRedis } from './own-redis.js';
import { skipRedis } from './redis-available.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that reconnects every 100 ms and never holds a command across an outage for long. */
function client(port: number): Redis {
  const redis = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 100, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  return redis;
}

async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
}

describe('Redis stops and comes back', { skip: skipRedis }, () => {
  let server: OwnRedis;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await OwnRedis.start();
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server.stop();
  });

  it("timing check: under 'wait' nothing starts while Redis is down, and limiting resumes within 2 s", async () => {
    const redis = client(server.port);
    await ready(redis);
    const limiter = new RateLimiter({ limits: '50/1s', store: new RedisStore(redis, { prefix: 'outage:' }) });
    const starts: number[] = [];
    const errors: unknown[] = [];
    let running = true;
    const callers = Array.from({ length: 8 }, async () => {
      while (running) {
        try {
          await limiter.acquire();
          starts.push(performance.now());
        } catch (error) {
          errors.push(error);
        }
      }
    });
    await sleep(1500);
    await server.stop();
    const downAt = performance.now();
    await sleep(3000);
    const restartAt = performance.now();
    await server.start();
    const upAt = performance.now();
    await sleep(2500);
    running = false;
    await Promise.race([Promise.all(callers), sleep(2000)]);
    redis.disconnect();

    assert.deepEqual(errors, [], 'no caller saw an error');
    assert.ok(starts.filter((t) => t < downAt).length > 50, 'it ran before the outage');
    const during = starts.filter((t) => t > downAt + 20 && t < restartAt);
    assert.equal(during.length, 0, `${during.length} starts while Redis was down`);
    const firstAfter = starts.find((t) => t >= restartAt);
    assert.ok(firstAfter !== undefined && firstAfter - upAt < 2000, `first start ${firstAfter === undefined ? 'never' : `${(firstAfter - upAt).toFixed(0)} ms`} after Redis was back`);
    const resumed = starts.filter((t) => t >= restartAt);
    const perSecond = Math.max(...resumed.map((t) => resumed.filter((u) => u >= t && u < t + 1000).length));
    assert.ok(perSecond <= 50, `after the restart a 1 s window held ${perSecond} starts (limit 50)`);
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });

  it("'reject' fails at once with StoreUnavailableError; 'local' admits its share of the limit", async () => {
    const down = client(1); // nothing listens on port 1: never ready
    const specs = toLimitSpecs('100/1s', {});
    const reject = new RedisStore(down, { onUnavailable: 'reject' });
    await assert.rejects(Promise.resolve(reject.reserve('k', specs, 1, 0)), StoreUnavailableError);
    const limiter = new RateLimiter({ limits: '100/1s', store: new RedisStore(down, { onUnavailable: 'reject' }) });
    await assert.rejects(limiter.acquire(), (error: unknown) => error instanceof StoreUnavailableError && error.retryAfterMs > 0);

    const local = new RedisStore(down, { onUnavailable: 'local', localShare: 0.25 });
    const wideOpen = toLimitSpecs({ rate: '100/1s', burst: 100 }, {});
    let admitted = 0;
    for (let i = 0; i < 100; i++) if ((await local.reserve('k', wideOpen, 1, 0)) === 0) admitted++;
    assert.equal(admitted, 25, 'a quarter of the limit');
    const wait = await local.reserve('k', wideOpen, 1, 0);
    assert.ok(wait > 0 && wait <= 500, 'told to ask again soon (Redis may be back)');
    down.disconnect();
    assert.deepEqual(unhandled, []);
  });

  it('a request that runs after its deadline changes nothing (no stale reservation after a stall)', async () => {
    const redis = client(server.port);
    const admin = client(server.port);
    await Promise.all([ready(redis), ready(admin)]);
    const store = new RedisStore(redis, { prefix: 'stale:', timeoutMs: 200 });
    const specs = toLimitSpecs('10/1s', {});
    assert.equal(await store.reserve('warm-up', specs, 1, 0), 0); // learns Redis's clock
    const stall = admin.call('DEBUG', 'SLEEP', '0.6'); // Redis stops answering for 600 ms
    await sleep(20);
    const started = performance.now();
    const wait = await store.reserve('k', specs, 1, 0);
    const waited = performance.now() - started;
    assert.ok(wait > 0, "not admitted: under 'wait' it is told to ask again");
    assert.ok(waited < 450, `the caller stopped waiting after its timeout (${waited.toFixed(0)} ms)`);
    await stall;
    await sleep(50); // the queued EVALSHA has now run, after its deadline
    assert.deepEqual(await admin.keys('stale:{k}*'), [], 'the late request recorded nothing');
    assert.equal(store.stats().unavailable, 1);
    redis.disconnect();
    admin.disconnect();
  });
});
