import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryStore, toLimitSpecs, type Algorithm, type LimitSpec } from '../../../src/index.js';
import { RedisStore } from '../../../src/redis.js';
import { limitParams, rateScripts, refundArgv } from '../../../src/store/lua/rate.js';
import { cleanup, connect, keysWithTtl, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';
import { asRedisReports, replayAlike } from './replay-alike.js';

/** 10/10 s unpaced: the quantum is 1 ms. */
const LIMITS = toLimitSpecs({ rate: '10/10s', algorithm: 'sliding-window', burst: 10 }, {});

/** One limit of a random request: mostly sliding windows, paced or bursting (several starts may share a quantum). */
const limitArb = fc.record({
  algorithm: fc.constantFrom<Algorithm>('sliding-window', 'sliding-window', 'gcra'),
  limit: fc.integer({ min: 1, max: 12 }),
  intervalMs: fc.constantFrom(10, 100, 250, 1000),
  burstShare: fc.constantFrom(0, 0.5, 1, 1),
  slackMs: fc.constantFrom(0, 0.5, 2),
});

function specsOf(limits: { algorithm: Algorithm; limit: number; intervalMs: number; burstShare: number; slackMs: number }[]): LimitSpec[] {
  return toLimitSpecs(
    limits.map((l) => ({ rate: { limit: l.limit, interval: l.intervalMs }, algorithm: l.algorithm, burst: 1 + Math.floor(l.burstShare * (l.limit - 1)), slack: l.slackMs })),
    {},
  );
}

type Op = { kind: 'reserve'; cost: number } | { kind: 'refund'; cost: number } | { kind: 'advance'; ms: number };

/**
 * Many starts inside one quantum (intervalMs / 10000: 1 µs to 0.1 ms here), steps across
 * one, steps of an interval give or take a quarter quantum at a time (to where a bucket's
 * first or latest start leaves the window), and now and then any step.
 */
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('reserve' as const), cost: fc.constantFrom(1, 1, 1, 2, 0.5, 3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refund' as const), cost: fc.constantFrom(1, 0.5, 2) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(0, 0.0002, 0.0005, 0.001, 0.003, 0.01, 0.025, 0.04, 0.1, 0.3) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.tuple(fc.constantFrom(10, 100, 250, 1000), fc.integer({ min: -6, max: 6 })).map(([t, k]) => t + (k * t) / 40_000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.double({ min: 0, max: 1100, noNaN: true }) }) },
);

describe('RedisStore sliding window: the bucketed log', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('sliding-window-log');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  /** The log's entries, oldest first, as [time, cost]. */
  async function log(key: string): Promise<[number, number][]> {
    const items = await client.lrangeBuffer(key, 0, -2);
    return items.map((b) => [b.readDoubleLE(0), b.readDoubleLE(8)]);
  }

  /** The refund script with a decision time, as RedisStore sends it for a late admission. */
  async function refundAt(key: string, now: number, cost: number, at: number): Promise<void> {
    const { refund } = rateScripts('s');
    const argv = refundArgv({ now: String(now), ttlFloor: '60000', params: limitParams(LIMITS, 0) }, cost, at);
    await client.eval(refund.source, 1, key, ...argv);
  }

  it('keeps one entry per quantum at its latest start, under a version-3 key, and gives a late start back to the bucket that holds it', async () => {
    const store = new RedisStore(client, { prefix, unsafeCallerClockForTests: true });
    for (const at of [0, 0.5, 1, 1.25, 3]) assert.equal(await store.reserve('k', LIMITS, 1, at), 0);
    const keys = [...(await keysWithTtl(client, prefix)).keys()];
    assert.equal(keys.length, 1);
    const key = keys[0]!;
    assert.ok(key.endsWith(':0:s3'), key);
    assert.deepEqual(await log(key), [
      [0.5, 2],
      [1.25, 2],
      [3, 1],
    ]);
    await refundAt(key, 4, 1, 0); // decided at 0: the bucket kept at 0.5
    await refundAt(key, 4, 1, 1.25); // the latest start of its bucket
    await refundAt(key, 4, 1, 1); // the first start of the same bucket
    assert.deepEqual(await log(key), [
      [0.5, 1],
      [1.25, 0],
      [3, 1],
    ]);
    // At 10000.25 the start at 0.5 is still counted (until 10000.5); the one decided at 0 has
    // left its window: nothing is given back, and the newer buckets keep their cost.
    await refundAt(key, 10_000.25, 1, 0);
    assert.deepEqual(await log(key), [
      [0.5, 1],
      [1.25, 0],
      [3, 1],
    ]);
  });

  it('decides as MemoryStore when many starts fall inside one quantum (buckets, their expiry, refunds)', async () => {
    let run = 0;
    await fc.assert(
      // size 'max': long schedules, so that windows fill and buckets leave them
      fc.asyncProperty(fc.array(limitArb, { minLength: 1, maxLength: 3 }), fc.array(opArb, { minLength: 1, maxLength: 150, size: 'max' }), async (limits, ops) => {
        const specs = specsOf(limits);
        const memory = new MemoryStore();
        const redis = new RedisStore(client, { prefix: `${prefix}${run++}:`, unsafeCallerClockForTests: true });
        await replayAlike(memory, redis, ops, () => specs, async (op, now, at) => {
          const expected = asRedisReports(memory.reserve('k', specs, op.cost, now));
          assert.equal(await redis.reserve('k', specs, op.cost, now), expected, `${at}: reserve(${op.cost})`);
        });
      }),
      { numRuns: 200 },
    );
    for (const [key, ttl] of await keysWithTtl(client, prefix)) assert.ok(ttl > 0, `${key} has no TTL`);
  });
});
