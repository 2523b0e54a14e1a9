import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { RedisConcurrencyLimiter } from '../../../src/redis.js';
import { cleanup, connect, keysWithTtl, REDIS_ADDRESS, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const HOLDER = fileURLToPath(new URL('./lease-holder.ts', import.meta.url));

describe('RedisConcurrencyLimiter', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('concurrency');
  const limiters: RedisConcurrencyLimiter[] = [];
  const make = (c: TestClient, options: ConstructorParameters<typeof RedisConcurrencyLimiter>[1]): RedisConcurrencyLimiter => {
    const limiter = new RedisConcurrencyLimiter(c, { prefix, ...options });
    limiters.push(limiter);
    return limiter;
  };
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await Promise.all(limiters.map((l) => l.close()));
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('keeps at most N in flight across limiters on separate connections, and runs every task', async () => {
    const clients = await Promise.all([connect(), connect(), connect()]);
    const group = clients.map((c) => make(c, { limit: 3, key: 'pool' }));
    let inFlight = 0;
    let most = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: 45 }, (_, i) =>
        group[i % 3]!.run(async () => {
          most = Math.max(most, ++inFlight);
          await sleep(5 + (i % 4) * 5);
          inFlight--;
          done++;
        }),
      ),
    );
    assert.equal(done, 45);
    assert.equal(most, 3);
    for (const [key, ttl] of await keysWithTtl(clients[0]!, `${prefix}{pool}`)) assert.ok(ttl > 0, `${key} has a TTL`);
    clients.forEach((c) => c.disconnect());
  });

  it('renews a lease while the work runs, past its TTL', async () => {
    const a = make(client, { limit: 1, key: 'renew', leaseMs: 300 });
    const b = make(client, { limit: 1, key: 'renew', leaseMs: 300 });
    const permit = await a.acquire();
    for (let i = 0; i < 5; i++) {
      await sleep(200);
      assert.equal(await b.tryAcquire(), undefined, `still held after ${(i + 1) * 200} ms`);
    }
    assert.equal(permit.signal.aborted, false);
    permit.release();
    await sleep(20);
    const next = await b.tryAcquire();
    assert.ok(next !== undefined, 'free once released');
    next.release();
  });

  it('wakes a waiter on release without polling Redis', async () => {
    const waiterClient = await connect();
    let calls = 0;
    const evalsha = waiterClient.evalsha.bind(waiterClient);
    waiterClient.evalsha = ((...args: Parameters<typeof evalsha>) => {
      calls++;
      return evalsha(...args);
    }) as typeof waiterClient.evalsha;
    const holder = make(client, { limit: 1, key: 'wake' });
    const waiter = make(waiterClient, { limit: 1, key: 'wake' });
    const permit = await holder.acquire();
    const started = performance.now();
    const waiting = waiter.acquire();
    await sleep(1500);
    permit.release();
    const released = performance.now();
    const got = await waiting;
    const latency = performance.now() - released;
    got.release();
    assert.ok(latency < 200, `woken ${latency.toFixed(0)} ms after the release`);
    // one ask at the start, one per maxRetryDelayMs (1 s) at most, one on the release notice
    assert.ok(calls <= 4, `${calls} requests in ${(performance.now() - started).toFixed(0)} ms of waiting`);
    await waiter.close();
    waiterClient.disconnect();
  });

  it('an aborted waiter leaves the queue and the next one gets the slot', async () => {
    const limiter = make(client, { limit: 1, key: 'abort' });
    const permit = await limiter.acquire();
    const controller = new AbortController();
    const first = limiter.acquire({ signal: controller.signal });
    const second = limiter.acquire();
    controller.abort();
    await assert.rejects(first, { name: 'AbortError' });
    permit.release();
    (await second).release();
    assert.equal(limiter.stats().waiting, 0);
  });

  it('timing check: the slot of a holder killed with SIGKILL returns after the lease TTL', async () => {
    const leaseMs = 1000;
    const child = fork(HOLDER, [REDIS_ADDRESS, prefix, 'kill', String(leaseMs)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`holder exited early (${code})`)));
    });
    const limiter = make(client, { limit: 1, key: 'kill', leaseMs });
    assert.equal(await limiter.tryAcquire(), undefined, 'the child holds the only slot');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const killedAt = performance.now();
    const permit = await limiter.acquire();
    const after = performance.now() - killedAt;
    permit.release();
    // The lease was last renewed at most leaseMs / 3 before the kill.
    assert.ok(after >= leaseMs / 2 && after <= leaseMs + 500, `slot returned ${after.toFixed(0)} ms after the kill`);
  });
});
