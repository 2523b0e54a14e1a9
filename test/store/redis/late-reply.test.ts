import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toLimitSpecs } from '../../../src/index.js';
import { RedisStore } from '../../../src/redis.js';
import { cleanup, connect, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

/**
 * A client whose script replies are held back while `hold()` is on: Redis decides at once,
 * the caller hears of it only at `release()` — a reply that comes after the store gave up.
 */
function heldBack(client: TestClient): { client: TestClient; hold(): void; release(): void; settled(): Promise<void> } {
  let gate: Promise<void> | undefined;
  let open: () => void = () => {};
  const sent: Promise<unknown>[] = [];
  const proxy = new Proxy(client, {
    get(target, prop) {
      if (prop === 'evalsha' || prop === 'eval') {
        // both: a script Redis does not have yet (NOSCRIPT) is sent again by EVAL
        const run = target[prop].bind(target) as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => {
          const held = gate;
          const reply = run(...args).then(async (value) => {
            await held;
            return value;
          });
          sent.push(reply.catch(() => {}));
          return reply;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    client: proxy,
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      gate = undefined;
      open();
    },
    /** Resolves once every reply has arrived and nothing more was sent in answer to them. */
    async settled() {
      for (let seen = -1; seen !== sent.length; ) {
        seen = sent.length;
        await Promise.all(sent);
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

describe('RedisStore: a reply that comes after the caller gave up', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('late-reply');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('gives back what the late batch admitted and nothing for its refusal, even one under 1 ms', async () => {
    // 4 per 2 s (a unit every 500 ms), burst 3, 499.5 ms of slack: after one start, two more
    // fit at the same instant and the next is refused for 0.5 ms — a wait written '0.5'.
    const limits = toLimitSpecs({ rate: { limit: 4, interval: 2000 }, algorithm: 'gcra', burst: 3, slack: 499.5 }, {});
    const direct = new RedisStore(client, { prefix, unsafeCallerClockForTests: true });
    assert.equal(await direct.reserve('k', limits, 1, 0), 0);

    const slow = heldBack(client);
    const store = new RedisStore(slow.client, { prefix, unsafeCallerClockForTests: true, timeoutMs: 20 });
    slow.hold();
    // One tick, one instant: one reserveMany that admits two and refuses the third. The store
    // stops waiting after 20 ms and tells every caller to ask again.
    const answers = await Promise.all([1, 2, 3].map(() => store.reserve('k', limits, 1, 0)));
    assert.ok(answers.every((wait) => wait > 0), `${answers}`);
    slow.release();
    await slow.settled();

    // As after the first start alone: two more fit now, and the one after them waits 0.5 ms.
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) waits.push(await direct.reserve('k', limits, 1, 0));
    assert.deepEqual(waits, [0, 0, 0.5]);
  });
});
