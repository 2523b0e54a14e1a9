import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toLimitSpecs } from '../../../src/index.js';
import { RedisStore } from '../../../src/redis.js';
import { cleanup, connect, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

/**
 * A client that, right after each script call is on the wire, stalls this process's event
 * loop for `ms` (a busy loop, as a CPU-bound neighbour or a long synchronous task does):
 * Redis answers during the stall, and the reply waits in the socket, unread.
 */
function stallingAfterSend(client: TestClient, ms: number): TestClient {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'evalsha' || prop === 'eval') {
        const run = target[prop].bind(target) as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => {
          const reply = run(...args);
          const until = performance.now() + ms;
          while (performance.now() < until) {
            // stalled
          }
          return reply;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe("RedisStore: this process's own stall is not Redis's silence", { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('own-stall');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('reads a reply that came during a stall past the timeout before it gives up on it', async () => {
    // The timeout timer is due during the stall and fires when it ends; the reply has been
    // waiting since Redis answered, well inside the timeout. The store must read it rather
    // than count Redis unavailable (it used to: Node runs due timers before it reads sockets).
    const limits = toLimitSpecs('100/1s', {});
    // One call first, so the request below is on the wire before the stall: a Cluster client
    // connects to each master lazily, on its first command, and would send it after the stall.
    assert.ok((await new RedisStore(client, { prefix }).reserve('k', limits, 1, 0)) >= 0);
    const store = new RedisStore(stallingAfterSend(client, 150), { prefix, timeoutMs: 50 });
    const wait = await store.reserve('k', limits, 1, 0);
    assert.ok(wait >= 0, `an answer (${wait}), not an outage`);
    assert.equal(store.stats().unavailable, 0, JSON.stringify(store.stats()));
  });
});
