// Every key a script touches must be in its KEYS: Redis Cluster routes a script by its
// declared keys, and Dragonfly refuses undeclared ones. Redis checks ACL key permissions on
// every command a script runs, so each script call here goes through a user allowed exactly
// the keys that call declares; a touch of any other key fails with NOPERM.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { adaptationParams } from '../../../src/algorithms/rate-adaptation.js';
import { RateLimiter } from '../../../src/index.js';
import { RedisConcurrencyLimiter, RedisStore } from '../../../src/redis.js';
import { cleanup, connect, mastersOf, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

/** A glob pattern matching `key` alone (ACL key patterns are globs). */
function exactly(key: string): string {
  return `~${key.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}`;
}

describe('scripts touch only the keys they declare', { skip: skipRedis }, () => {
  let admin: TestClient;
  let client: TestClient;
  /** ACL users are per server: on a Cluster, the same user on every master. */
  const setUser = async (...args: string[]): Promise<void> => {
    for (const node of mastersOf(admin)) await node.acl('SETUSER', user, ...args);
  };
  const user = `sluice-keys-${randomBytes(4).toString('hex')}`;
  const prefix = uniquePrefix('declared-keys');
  /** Every script call's failure, including those a store swallows (a refund, a release). */
  const refused: string[] = [];
  let calls = 0;

  before(async () => {
    admin = await connect();
    await setUser('reset', 'on', 'nopass', '+@all', 'allchannels');
    client = await connect({ username: user, password: 'any' });
    // One script call at a time: the user's keys are set to that call's KEYS just before it.
    let chain: Promise<unknown> = Promise.resolve();
    for (const method of ['evalsha', 'eval'] as const) {
      const original = client[method].bind(client) as (...args: (string | number)[]) => Promise<unknown>;
      (client as unknown as Record<string, unknown>)[method] = (...args: (string | number)[]): Promise<unknown> => {
        const keys = args.slice(2, 2 + Number(args[1])).map(String);
        const call = chain.then(async () => {
          await setUser('resetkeys', ...keys.map(exactly));
          calls++;
          return original(...args).catch((error: unknown) => {
            const message = (error as Error).message;
            if (!message.startsWith('NOSCRIPT')) refused.push(message);
            throw error;
          });
        });
        chain = call.catch(() => {});
        return call;
      };
    }
  });
  after(async () => {
    client.disconnect();
    for (const node of mastersOf(admin)) await node.acl('DELUSER', user);
    await cleanup(admin, prefix);
    admin.disconnect();
  });

  it('the rate scripts — every algorithm, smoothing, several limits, refunds, charges, leases', async () => {
    for (const lease of [false, true]) {
      const store = new RedisStore(client, { prefix, lease });
      const limiter = new RateLimiter({
        limits: [{ rate: '50/1s', smooth: '200ms', burst: 50 }, { rate: '500/1m', algorithm: 'gcra', burst: 100 }, { rate: '5000/1h', algorithm: 'fixed-window' }],
        store,
        key: `all-${String(lease)}`,
      });
      for (let i = 0; i < 20; i++) await limiter.acquire();
      const reservation = await limiter.reserve(2);
      await reservation.refund(1);
      await reservation.charge(3);
      await limiter.tryAcquire(50);
      await store.reserve(`direct-${String(lease)}`, limiter.limits, 1, 0);
      await store.close();
    }
    assert.deepEqual(refused, []);
    assert.ok(calls > 10, `${calls} script calls went through the restricted user`);
  });

  it('the shared adaptation and the concurrency leases', async () => {
    const store = new RedisStore(client, { prefix });
    const params = adaptationParams({ initial: 100, min: 1, backoffMs: 50, maxPauseMs: 10_000 });
    const seed = { rate: 100, mode: 'probing' as const, wMax: 100, strikes: 0, cuts: 0, generation: 0 };
    assert.notEqual(await store.sharedAdaptation('adapt').propose({ params, successes: 3, lastSuccessAgoMs: 1, throttle: { sentAgoMs: 2 }, seed }, 0), undefined);
    const exports = new RedisConcurrencyLimiter(client, { prefix, key: 'exports', limit: 2, leaseMs: 1000, renewEveryMs: 20 });
    await Promise.all([1, 2, 3].map(() => exports.run(() => new Promise((resolve) => setTimeout(resolve, 50)))));
    await exports.close();
    assert.deepEqual(refused, []);
  });

  it('the check works: a script that reads a key it did not declare is refused', async () => {
    await assert.rejects(client.eval("return redis.call('GET', KEYS[1] .. ':other')", 1, `${prefix}{probe}`), /NOPERM|No permissions|can't access/);
    refused.length = 0;
  });
});
