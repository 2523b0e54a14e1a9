// The exactness docs/redis.md ("Failover") and the README state across a Redis failover — a
// window holds at most the limit plus the starts lost with the master — as a property of the
// algorithms: a master decides, its replica holds a prefix of the master's writes (Redis
// replicates asynchronously), the master dies at a random moment and the replica decides on
// from what it holds. test/store/redis/failover.test.ts measures the same on a real cluster.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryStore, toLimitSpecs, type Algorithm, type LimitSpec } from '../../src/index.js';

const EPS = 1e-6;
const KEY = 'k';

interface Start {
  at: number;
  cost: number;
}

interface Scenario {
  algorithm: Algorithm;
  limit: number;
  intervalMs: number;
  ops: { gapMs: number; cost: number }[];
  /** The op at which the master dies: the replica decides from then on. */
  failAt: number;
  /** The share (0–1) of the master's admitted starts the replica had received when it died. */
  replicatedShare: number;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    algorithm: fc.constantFrom<Algorithm>('sliding-window', 'gcra', 'fixed-window'),
    limit: fc.integer({ min: 1, max: 8 }),
    intervalMs: fc.constantFrom(100, 1000),
    ops: fc.array(fc.record({ gapMs: fc.double({ min: 0, max: 150, noNaN: true }), cost: fc.constantFrom(1, 1, 1, 2) }), { minLength: 1, maxLength: 80 }),
    failShare: fc.double({ min: 0, max: 1, noNaN: true }),
    replicatedShare: fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true })),
  })
  .map(({ failShare, ...s }) => ({ ...s, failAt: Math.floor(failShare * s.ops.length) }));

/** burst = limit: every algorithm's answer is its window's, so the guarantee is N per window. */
function specsOf(s: Scenario): LimitSpec[] {
  return toLimitSpecs({ rate: { limit: s.limit, interval: s.intervalMs }, algorithm: s.algorithm, burst: s.limit, slack: 0 }, {});
}

/** Runs the scenario: the master until `failAt`, then the replica (a prefix of the master's admitted starts replayed). */
function run(s: Scenario): { starts: Start[]; lost: number } {
  const specs = specsOf(s);
  const master = new MemoryStore();
  const admitted: Start[] = [];
  let now = 1_000_000;
  let store = master;
  let lost = 0;
  for (let i = 0; i < s.ops.length; i++) {
    const op = s.ops[i]!;
    now += op.gapMs;
    if (i === s.failAt) {
      // The replica received the first `kept` of the master's writes, in order, and nothing after.
      const kept = Math.floor(s.replicatedShare * admitted.length);
      const replica = new MemoryStore();
      for (const start of admitted.slice(0, kept)) assert.equal(replica.reserve(KEY, specs, start.cost, start.at), 0, 'the replica replays what the master admitted');
      lost = admitted.slice(kept).reduce((sum, start) => sum + start.cost, 0);
      store = replica;
    }
    const cost = Math.min(op.cost, s.limit);
    if (store.reserve(KEY, specs, cost, now) === 0) admitted.push({ at: now, cost });
  }
  return { starts: admitted, lost };
}

/**
 * The most by which the starts exceed the algorithm's stated guarantee (README) with burst = N
 * and no slack: a sliding window holds at most N in any window shorter than T, a fixed window
 * at most N, GCRA at most N + t·N/T in any interval t. 0 when they keep it.
 */
function excess(algorithm: Algorithm, N: number, T: number, starts: readonly Start[]): number {
  let most = 0;
  for (let j = 0; j < starts.length; j++) {
    const end = starts[j]!.at;
    let sum = 0;
    for (let i = j; i >= 0; i--) {
      const start = starts[i]!.at;
      if (algorithm === 'fixed-window' && Math.floor(start / T) !== Math.floor(end / T)) break;
      sum += starts[i]!.cost;
      const bound = algorithm === 'gcra' ? N + ((end - start) * N) / T : end - start < T || algorithm === 'fixed-window' ? N : Number.POSITIVE_INFINITY;
      most = Math.max(most, sum - bound);
    }
  }
  return most;
}

describe('a failover to a replica that holds a prefix of the master’s writes', () => {
  it('no window holds more than the limit plus the starts lost with the master, for every algorithm', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { starts, lost } = run(s);
        const over = excess(s.algorithm, s.limit, s.intervalMs, starts);
        assert.ok(over <= lost + EPS, `${s.algorithm} ${s.limit}/${s.intervalMs}ms: ${over} over the guarantee with ${lost} lost`);
      }),
      { numRuns: 500 },
    );
  });

  it('with nothing lost the limit holds as on one store, and a lost start can be admitted again (the bound is not loose)', () => {
    const base = { limit: 2, intervalMs: 1000, failAt: 2 };
    // Two starts at once fill the window; the master dies before either reached the replica,
    // which then admits two more in the same window: 2 over the limit, the 2 lost.
    const lossy = run({ ...base, algorithm: 'sliding-window', ops: [0, 0, 0, 0].map((gapMs) => ({ gapMs, cost: 1 })), replicatedShare: 0 });
    assert.equal(lossy.lost, 2);
    assert.equal(excess('sliding-window', 2, 1000, lossy.starts), 2);
    const whole = run({ ...base, algorithm: 'sliding-window', ops: [0, 0, 0, 0].map((gapMs) => ({ gapMs, cost: 1 })), replicatedShare: 1 });
    assert.equal(whole.lost, 0);
    assert.equal(excess('sliding-window', 2, 1000, whole.starts), 0);
  });
});
