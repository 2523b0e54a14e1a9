import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { ConfigError, RateLimiter, toLimitSpecs, type Algorithm, type LimitSpec } from '../../../src/index.js';
import { RedisStore } from '../../../src/redis.js';
import { cleanup, connect, skipRedis, uniquePrefix } from './redis-available.js';

/** A fleet member's step, on virtual time (unsafeCallerClockForTests). */
type Op =
  | { kind: 'reserve'; member: number; cost: number }
  | { kind: 'in-order'; member: number; costs: number[] }
  | { kind: 'advance'; ms: number }
  /** To about a window after now: where a window's starts leave and a lease spent late could overlap the next. */
  | { kind: 'next-window'; offsetMs: number }
  | { kind: 'close'; member: number }
  | { kind: 'kill'; member: number };

const MEMBERS = 3;
const member = fc.integer({ min: 0, max: MEMBERS - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('reserve' as const), member, cost: fc.constantFrom(1, 1, 1, 2) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('in-order' as const), member, costs: fc.array(fc.constantFrom(1, 1, 2), { minLength: 1, maxLength: 10 }) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 0.25, 0.5, 1, 2, 4, 9) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 120, noNaN: true }) }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('next-window' as const), offsetMs: fc.double({ min: -12, max: 12, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), member }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), member }) },
);

const configArb = fc.record({
  algorithm: fc.constantFrom<Algorithm>('sliding-window', 'gcra'),
  limit: fc.integer({ min: 3, max: 40 }),
  intervalMs: fc.constantFrom(100, 250, 1000),
  burstShare: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  periodMs: fc.constantFrom(1, 5, 10, 25),
  demandMs: fc.constantFrom(0, 5, 20, 50),
  maxShare: fc.constantFrom(0.05, 0.25, 1),
});

interface Start {
  at: number;
  cost: number;
}

/** The most units started in any window of `windowMs` (half-open: [t, t + windowMs)). */
function mostInWindow(starts: readonly Start[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a.at - b.at);
  let most = 0;
  let inside = 0;
  let lo = 0;
  for (const start of sorted) {
    inside += start.cost;
    while (start.at - sorted[lo]!.at >= windowMs) inside -= sorted[lo++]!.cost;
    most = Math.max(most, inside);
  }
  return most;
}

/** GCRA's promise with the lease period L added: at most b + floor((t + slack + L)·N/T) units in any interval of length t. */
function gcraOverrun(starts: readonly Start[], spec: LimitSpec, lagMs: number): string | undefined {
  const sorted = [...starts].sort((a, b) => a.at - b.at);
  for (let i = 0; i < sorted.length; i++) {
    let units = 0;
    for (let j = i; j < sorted.length; j++) {
      units += sorted[j]!.cost;
      const t = sorted[j]!.at - sorted[i]!.at;
      const bound = spec.burst + Math.floor(((t + spec.slackMs + lagMs) * spec.limit) / spec.intervalMs + 1e-9);
      if (units > bound) return `${units} units in [${sorted[i]!.at}, ${sorted[j]!.at}] > ${bound}`;
    }
  }
  return undefined;
}

describe('leased permits (RedisStore lease)', { skip: skipRedis }, () => {
  let client: Redis;
  const prefix = uniquePrefix('leases');
  before(async () => {
    client = await connect();
  });
  after(async () => {
    await cleanup(client, prefix);
    client.disconnect();
  });

  it('refuses a bad lease option by name, before any call to Redis', () => {
    const named = (field: string) => (error: unknown) => error instanceof ConfigError && error.field === field;
    assert.throws(() => new RedisStore(client, { lease: 'yes' as unknown as boolean }), named('lease'));
    assert.throws(() => new RedisStore(client, { lease: { periodMs: 0 } }), named('lease.periodMs'));
    assert.throws(() => new RedisStore(client, { lease: { demandMs: -1 } }), named('lease.demandMs'));
    assert.throws(() => new RedisStore(client, { lease: { maxShare: 1.5 } }), named('lease.maxShare'));
  });

  it('a fleet of members with leases never starts more than the limit allows, on random schedules of spends, waits, closes and deaths', async () => {
    let run = 0;
    let leased = 0;
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { minLength: 20, maxLength: 120 }), async (config, ops) => {
        const key = `fleet-${run++}`;
        const burst = 1 + Math.floor(config.burstShare * (config.limit - 1));
        const [spec] = toLimitSpecs([{ rate: { limit: config.limit, interval: config.intervalMs }, algorithm: config.algorithm, burst }], {});
        const specs: LimitSpec[] = [spec!];
        const lease = { periodMs: config.periodMs, demandMs: config.demandMs, maxShare: config.maxShare };
        const members = Array.from({ length: MEMBERS }, () => new RedisStore(client, { prefix, lease, unsafeCallerClockForTests: true }));
        const dead = new Set<number>();
        const starts: Start[] = [];
        let now = 1_000;
        for (const op of ops) {
          if (op.kind === 'advance') {
            now += op.ms;
          } else if (op.kind === 'next-window') {
            now += Math.max(0, config.intervalMs + op.offsetMs);
          } else if (dead.has(op.member)) {
            continue;
          } else if (op.kind === 'reserve') {
            if ((await members[op.member]!.reserve(key, specs, op.cost, now)) === 0) starts.push({ at: now, cost: op.cost });
          } else if (op.kind === 'in-order') {
            const waits = await members[op.member]!.reserveInOrder(key, specs, op.costs, now);
            waits.forEach((wait, i) => {
              if (wait === 0) starts.push({ at: now, cost: op.costs[i]! });
            });
          } else if (op.kind === 'close') {
            await members[op.member]!.close();
          } else {
            dead.add(op.member); // kill -9: its leases are neither spent nor given back
          }
        }
        for (const store of members) leased += store.stats().leased;
        // Each start is counted the lease period longer (the store's lag, capped at T/10).
        const lagMs = Math.min(config.periodMs, config.intervalMs / 10);
        if (config.algorithm === 'sliding-window') {
          const most = mostInWindow(starts, config.intervalMs);
          assert.ok(most <= config.limit, `${most} units started in a window of ${config.intervalMs} ms, limit ${config.limit}`);
        } else {
          const overrun = gcraOverrun(starts, spec!, lagMs);
          assert.equal(overrun, undefined, overrun);
        }
      }),
      { numRuns: 60 },
    );
    assert.ok(leased > 0, 'some starts were spent from leases (the property is not vacuous)');
  });

  it('a lease spent at the end of its period still counts a full window from its start: another member cannot start a window early', async () => {
    const key = 'late-spend';
    const lease = { periodMs: 10, demandMs: 20, maxShare: 1 };
    const [a, b] = [0, 1].map(() => new RedisStore(client, { prefix, lease, unsafeCallerClockForTests: true }));
    const [spec] = toLimitSpecs([{ rate: '10/100ms', burst: 10 }], {});
    const specs = [spec!];
    const starts: Start[] = [];
    for (const now of [0, 1]) {
      assert.equal(await a!.reserve(key, specs, 1, now), 0);
      starts.push({ at: now, cost: 1 });
    }
    // At t = 1 member A measured 2 units/ms and took a lease of the 8 left; it spends them at the last moment.
    for (let i = 0; i < 8; i++) {
      assert.equal(await a!.reserve(key, specs, 1, 10.9), 0);
      starts.push({ at: 10.9, cost: 1 });
    }
    assert.equal(a!.stats().leased, 8);
    // 100 ms after the lease was decided its units are still counted: they started at 10.9.
    const waits = await b!.reserveInOrder(key, specs, Array.from({ length: 10 }, () => 1), 101);
    for (const wait of waits) if (wait === 0) starts.push({ at: 101, cost: 1 });
    assert.ok(mostInWindow(starts, 100) <= 10, `a window of 100 ms held ${mostInWindow(starts, 100)} starts: ${waits.join(',')}`);
  });

  it('a sequential caller makes one Redis call per lease, not per admission, and close gives the unspent permits back', async () => {
    const key = 'sequential';
    const store = new RedisStore(client, { prefix, lease: { periodMs: 20, demandMs: 20, maxShare: 1 }, unsafeCallerClockForTests: true });
    const [spec] = toLimitSpecs([{ rate: '100/1s', burst: 100 }], {});
    const specs = [spec!];
    const calls = async (): Promise<number> => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);
    const before = await calls();
    let now = 0;
    for (let i = 0; i < 60; i++) {
      assert.equal(await store.reserve(key, specs, 1, now), 0);
      now += 0.5; // 2 per ms: a lease of about 20 ms of demand covers 40
    }
    const used = (await calls()) - before;
    assert.ok(used <= 10, `60 admissions took ${used} script calls`);
    assert.ok(store.stats().leased >= 45, JSON.stringify(store.stats()));
    // 40 more fit the window only if close gave back every unspent permit
    await store.close();
    const other = new RedisStore(client, { prefix, unsafeCallerClockForTests: true });
    const waits = await other.reserveInOrder(key, specs, Array.from({ length: 40 }, () => 1), now);
    assert.deepEqual(waits.filter((w) => w === 0).length, 40, `after close, the window had room for the 40 not started: ${waits.join(',')}`);
  });

  it('a RateLimiter over a leasing store admits as before and serves its queue from leases', async () => {
    const store = new RedisStore(client, { prefix, lease: true });
    const limiter = new RateLimiter({ limits: '100000/1s', store, key: 'limiter' });
    for (let i = 0; i < 200; i++) await limiter.acquire();
    assert.equal(limiter.stats().admitted, 200);
    assert.ok(store.stats().leased > 0, JSON.stringify(store.stats()));
    await store.close();
  });
});
