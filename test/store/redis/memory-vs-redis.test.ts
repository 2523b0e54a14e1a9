import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryStore, toLimitSpecs, type Algorithm, type LimitInput, type LimitSpec } from '../../../src/index.js';
import { RedisStore } from '../../../src/redis.js';
import { cleanup, connect, keysWithTtl, PARITY_TIMEOUT_MS, skipRedis, uniquePrefix, type TestClient } from './redis-available.js';
import { asRedisReports, replayAlike } from './replay-alike.js';

/** One limit of a random request; `alt` is the rate a setLimits switches it to. */
const limitArb = fc.record({
  algorithm: fc.constantFrom<Algorithm>('sliding-window', 'gcra', 'fixed-window'),
  limit: fc.integer({ min: 1, max: 6 }),
  intervalMs: fc.constantFrom(10, 100, 250, 1000),
  burstShare: fc.double({ min: 0, max: 1, noNaN: true }),
  slackMs: fc.constantFrom(0, 0.5, 2),
  altLimit: fc.integer({ min: 1, max: 6 }),
  altIntervalMs: fc.constantFrom(10, 100, 250),
  /** `smooth` as a share of the interval (not for fixed windows); 0 = off. */
  smoothShare: fc.constantFrom(0, 0, 0.25, 0.5, 1),
  /** The arrival jitter as a share of the interval (sliding windows count each start for T + J). */
  jitterShare: fc.constantFrom(0, 0, 0.02, 0.1),
});

type Op =
  | { kind: 'reserve'; cost: number }
  | { kind: 'refund'; cost: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'switch' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('reserve' as const), cost: fc.constantFrom(1, 1, 1, 2, 0.5, 3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refund' as const), cost: fc.constantFrom(1, 0.5, 2) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.double({ min: 0, max: 300, noNaN: true }), fc.constantFrom(0, 1, 250)) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'switch' as const }) },
);

type LimitConfig = typeof limitArb extends fc.Arbitrary<infer T> ? T : never;

function specsOf(limits: LimitConfig[], alt: boolean): LimitSpec[] {
  const input: LimitInput[] = limits.map((l) => {
    const limit = alt ? l.altLimit : l.limit;
    const burst = 1 + Math.floor(l.burstShare * (limit - 1));
    const interval = alt ? l.altIntervalMs : l.intervalMs;
    const smooth = l.smoothShare > 0 && l.algorithm !== 'fixed-window' ? l.smoothShare * interval : undefined;
    return { rate: { limit, interval }, algorithm: l.algorithm, burst, slack: l.slackMs, smooth, arrivalJitter: l.jitterShare * interval };
  });
  return toLimitSpecs(input, {});
}

describe('memory and Redis decide alike', { skip: skipRedis }, () => {
  let client: TestClient;
  const prefix = uniquePrefix('memory-vs-redis');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('gives the same answer to every reserve of random multi-limit schedules (reserve, refund, clock steps, setLimits)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(limitArb, { minLength: 1, maxLength: 3 }), fc.array(opArb, { minLength: 1, maxLength: 50 }), async (limits, ops) => {
        const memory = new MemoryStore();
        const redis = new RedisStore(client, { prefix: `${prefix}${run++}:`, unsafeCallerClockForTests: true, timeoutMs: PARITY_TIMEOUT_MS });
        const both = [specsOf(limits, false), specsOf(limits, true)];
        let which = 0;
        await replayAlike(memory, redis, ops, () => both[which]!, async (op, now, at) => {
          if (op.kind === 'switch') {
            which = 1 - which;
            return;
          }
          const expected = asRedisReports(memory.reserve('k', both[which]!, op.cost, now));
          const actual = await redis.reserve('k', both[which]!, op.cost, now);
          assert.equal(actual, expected, `${at}: reserve(${op.cost})`);
        });
      }),
      { numRuns: 150 },
    );
    for (const [key, ttl] of await keysWithTtl(client, prefix)) assert.ok(ttl > 0, `${key} has no TTL`);
  });

  it('a take refunded at the same instant leaves no debt for a rate change to magnify', async () => {
    // Found by the random schedules above: both stores told the caller to wait 9 ns, float
    // noise in the pacer's debt scaled by the new rate (6/10ms → 2/250ms).
    const memory = new MemoryStore();
    const redis = new RedisStore(client, { prefix: `${prefix}noise:`, unsafeCallerClockForTests: true, timeoutMs: PARITY_TIMEOUT_MS });
    const limits = (alt: boolean) =>
      toLimitSpecs(
        [
          { rate: { limit: alt ? 2 : 6, interval: alt ? 250 : 10 }, burst: 1, slack: 0 },
          { rate: { limit: 1, interval: 10 }, burst: 1, slack: 0 },
        ],
        {},
      );
    const before = limits(false);
    const after = limits(true);
    const now = 1_000_000;
    for (const store of [memory, redis]) {
      assert.equal(await store.reserve('k', before, 0.5, now), 0);
      assert.equal(await store.reserve('k', before, 0.5, now), 0);
      await store.refund('k', before, 1, now);
      assert.equal(await store.reserve('k', after, 1, now), 0, `${store.constructor.name}: nothing is owed`);
    }
  });

  it('gcra: a full bucket forgets its newest start, as Redis forgets it with the key', async () => {
    // Starts at 0, 5 and 10 have drained by 200. A charge of the start at 0 then makes it
    // the newest the bucket knows of, so a refund of the start at 5 comes back whole in both
    // stores (safe: every debt of the starts after it had drained).
    const memory = new MemoryStore();
    const redis = new RedisStore(client, { prefix: `${prefix}gcra-last:`, unsafeCallerClockForTests: true, timeoutMs: PARITY_TIMEOUT_MS });
    const limits = toLimitSpecs({ rate: { limit: 3, interval: 100 }, algorithm: 'gcra', burst: 3, slack: 0 }, {});
    const t = 1_000_000;
    for (const store of [memory, redis]) {
      for (const at of [0, 5, 10]) assert.equal(await store.reserve('k', limits, 1, t + at), 0);
      await store.charge('k', limits, 1, t + 200, t + 0);
      await store.refund('k', limits, 1, t + 200, t + 5);
      assert.equal(await store.reserve('k', limits, 3, t + 200), 0, `${store.constructor.name}: the refund came back whole`);
    }
  });

  it('fixed window: a refund under another interval forgets the old count, as memory does', async () => {
    const memory = new MemoryStore();
    const redis = new RedisStore(client, { prefix: `${prefix}fw:`, unsafeCallerClockForTests: true, timeoutMs: PARITY_TIMEOUT_MS });
    const short = toLimitSpecs({ rate: '1/10ms', algorithm: 'fixed-window' }, {});
    const long = toLimitSpecs({ rate: '1/250ms', algorithm: 'fixed-window' }, {});
    const now = 1_000_000;
    assert.equal(await redis.reserve('k', short, 1, now), memory.reserve('k', short, 1, now));
    memory.refund('k', long, 1, now + 1);
    await redis.refund('k', long, 1, now + 1);
    // found by the random schedules above: Redis kept the 10 ms count and refused (8 ms)
    assert.equal(await redis.reserve('k', short, 1, now + 2), memory.reserve('k', short, 1, now + 2));
  });

  // A reservation's start is known by its stamp: refunds and charges of that start, made
  // long after other starts, must change both stores alike.
  type OwnOp =
    | { kind: 'reserve'; cost: number }
    | { kind: 'refund-own'; pick: number; cost: number }
    | { kind: 'charge-own'; pick: number; cost: number }
    | { kind: 'charge-now'; cost: number }
    | { kind: 'refund'; cost: number }
    | { kind: 'advance'; ms: number }
    | { kind: 'switch' };
  /** Which admitted start a refund or charge is of, counted back from the newest: mostly recent ones, still counted. */
  const pickArb = fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: 1000 }));
  const ownOpArb: fc.Arbitrary<OwnOp> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('reserve' as const), cost: fc.constantFrom(1, 1, 1, 2, 0.5, 3) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('refund-own' as const), pick: pickArb, cost: fc.constantFrom(1, 0.5, 2, 0.25) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('charge-own' as const), pick: pickArb, cost: fc.constantFrom(1, 0.5, 2) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('charge-now' as const), cost: fc.constantFrom(1, 0.5) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('refund' as const), cost: fc.constantFrom(1, 0.5) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.double({ min: 0, max: 300, noNaN: true }), fc.constantFrom(0, 1, 250)) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'switch' as const }) },
  );

  it('gives the same answers after refunds and charges of a start of its own, made whatever started since (reservations)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(limitArb, { minLength: 1, maxLength: 3 }), fc.array(ownOpArb, { minLength: 1, maxLength: 60, size: 'max' }), async (limits, ops) => {
        const memory = new MemoryStore();
        const redis = new RedisStore(client, { prefix: `${prefix}own${run++}:`, unsafeCallerClockForTests: true, timeoutMs: PARITY_TIMEOUT_MS });
        const both = [specsOf(limits, false), specsOf(limits, true)];
        let which = 0;
        /** The stamps of the starts admitted so far, oldest first: each store's, which must agree. */
        const stamps: number[] = [];
        await replayAlike(memory, redis, ops, () => both[which]!, async (op, now, at) => {
          const specs = both[which]!;
          switch (op.kind) {
            case 'switch':
              which = 1 - which;
              return;
            case 'reserve': {
              const mine = { at: Number.NaN };
              const theirs = { at: Number.NaN };
              const expected = asRedisReports(memory.reserve('k', specs, op.cost, now, mine));
              const actual = await redis.reserve('k', specs, op.cost, now, theirs);
              assert.equal(actual, expected, `${at}: reserve(${op.cost})`);
              if (actual === 0) {
                assert.equal(theirs.at, mine.at, `${at}: the stamps agree`);
                stamps.push(mine.at);
              }
              return;
            }
            case 'charge-now':
              memory.charge('k', specs, op.cost, now);
              await redis.charge('k', specs, op.cost, now);
              return;
            default: {
              if (stamps.length === 0) return;
              const stamp = stamps[stamps.length - 1 - (op.pick % stamps.length)]!;
              if (op.kind === 'refund-own') {
                memory.refund('k', specs, op.cost, now, stamp);
                await redis.refund('k', specs, op.cost, now, stamp);
              } else {
                memory.charge('k', specs, op.cost, now, stamp);
                await redis.charge('k', specs, op.cost, now, stamp);
              }
            }
          }
        });
      }),
      { numRuns: 200 },
    );
    for (const [key, ttl] of await keysWithTtl(client, prefix)) assert.ok(ttl > 0, `${key} has no TTL`);
  });

  // RedisStore sends the reserves of one tick as one script call (reserveMany), and a
  // RateLimiter's queue asks with reserveInOrder: both must decide as reserves sent one by one.
  const tickArb = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('tick' as const, 'in-order' as const), costs: fc.array(fc.constantFrom(1, 1, 1, 2, 0.5, 3), { minLength: 1, maxLength: 12 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.double({ min: 0, max: 300, noNaN: true }), fc.constantFrom(0, 1, 250)) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('refund' as const), cost: fc.constantFrom(1, 0.5, 2) }) },
  );

  it("decides a tick's reserves in one call, and a queue's in order, as one by one", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(limitArb, { minLength: 1, maxLength: 3 }), fc.array(tickArb, { minLength: 1, maxLength: 30 }), async (limits, ops) => {
        const memory = new MemoryStore();
        const redis = new RedisStore(client, { prefix: `${prefix}tick${run++}:`, unsafeCallerClockForTests: true, timeoutMs: PARITY_TIMEOUT_MS });
        const specs = specsOf(limits, false);
        await replayAlike(memory, redis, ops, () => specs, async (op, now, at) => {
          if (op.kind === 'tick') {
            const expected = op.costs.map((cost) => asRedisReports(memory.reserve('k', specs, cost, now)));
            const actual = await Promise.all(op.costs.map((cost) => redis.reserve('k', specs, cost, now)));
            assert.deepEqual(actual, expected, `${at}: a tick of reserve(${op.costs.join(', ')})`);
            return;
          }
          const expected: number[] = [];
          for (const cost of op.costs) {
            const wait = asRedisReports(memory.reserve('k', specs, cost, now));
            expected.push(wait);
            if (wait !== 0) break;
          }
          const actual = await redis.reserveInOrder('k', specs, op.costs, now);
          assert.deepEqual(actual, expected, `${at}: reserveInOrder(${op.costs.join(', ')})`);
        });
      }),
      { numRuns: 150 },
    );
  });
});
