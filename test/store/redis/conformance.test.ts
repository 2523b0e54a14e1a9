import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from '../../../src/redis.js';
import { TABLES } from '../conformance-tables.js';
import { cleanup, connect, keysWithTtl, PARITY_TIMEOUT_MS, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';

describe('conformance: RedisStore (caller clock)', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('conformance');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  for (const [n, table] of TABLES.entries()) {
    it(table.name, async () => {
      const store = new RedisStore(client, { prefix: `${prefix}${n}:`, unsafeCallerClockForTests: true, timeoutMs: PARITY_TIMEOUT_MS });
      for (const [i, step] of table.steps.entries()) {
        const wait = await store.reserve('k', table.limits, step.cost ?? 1, step.at);
        const label = `step ${i} (at ${step.at}, cost ${step.cost ?? 1})`;
        if (step.wait === Number.POSITIVE_INFINITY) assert.equal(wait, Number.POSITIVE_INFINITY, label);
        else assert.ok(Math.abs(wait - step.wait) < 1e-6, `${label}: expected ${step.wait}, got ${wait}`);
      }
      // Every key the tables left behind has a TTL.
      for (const [key, ttl] of await keysWithTtl(client, `${prefix}${n}:`)) assert.ok(ttl > 0, `${key} has no TTL`);
    });
  }
});
