// The fleet property of leased permits, on virtual time (unsafeCallerClockForTests): run by
// leases.test.ts on one Redis and by cluster.test.ts on a Redis Cluster.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toLimitSpecs, type Algorithm, type LimitSpec } from '../../../src/index.js';
import { RedisStore, type RedisClient } from '../../../src/redis.js';
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

export interface Start {
  at: number;
  cost: number;
}

/** The most units started in any window of `windowMs` (half-open: [t, t + windowMs)). */
export function mostInWindow(starts: readonly Start[], windowMs: number): number {
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

/**
 * Several members, each its own RedisStore with leases, share one key on `client`; on random
 * schedules of spends (alone and in order), clock steps, closes and deaths (kill -9: the
 * member's leases are neither spent nor given back) no window of the members' own start
 * times holds more than a sliding window's limit, nor any interval more than GCRA's bound
 * with the lease period added. Answers how many starts were spent from leases.
 */
export async function leaseFleetProperty(client: RedisClient, prefix: string, numRuns: number): Promise<number> {
    let run = 0;
    let leased = 0;
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { minLength: 40, maxLength: 160 }), async (config, ops) => {
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
            await members[op.member]!.close(now);
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
      { numRuns },
    );
  return leased;
}
