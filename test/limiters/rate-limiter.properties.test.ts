import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock, MemoryStore, RateLimiter, type Algorithm, type LimitSpec, type RateStore } from '../../src/index.js';

const EPS = 1e-6;

interface Config {
  algorithm: Algorithm;
  limit: number;
  intervalMs: number;
  burst: number;
  /** undefined: the algorithm's default slack (limit-spec.ts), which the checks read back from the limiter. */
  slackMs: number | undefined;
  unitCosts: boolean;
}

type Op =
  | { kind: 'acquire'; cost: number; priority: number; abortAfter: number | undefined; maxWaitMs: number | undefined }
  | { kind: 'try'; cost: number }
  | { kind: 'advance'; ms: number };

const configArb: fc.Arbitrary<Config> = fc
  .record({
    algorithm: fc.constantFrom<Algorithm>('sliding-window', 'gcra', 'fixed-window'),
    limit: fc.integer({ min: 1, max: 8 }),
    intervalMs: fc.constantFrom(10, 100, 250, 1000),
    burstShare: fc.double({ min: 0, max: 1, noNaN: true }),
    // 'catch-up': a slack of several emission intervals, as the sliding-window default is
    // at high rates (a late wake-up then admits a few starts back to back).
    slack: fc.constantFrom<number | 'default' | 'catch-up'>(0, 0.5, 2, 'default', 'catch-up'),
    unitCosts: fc.boolean(),
  })
  .map(({ burstShare, slack, ...c }) => ({
    ...c,
    burst: 1 + Math.floor(burstShare * (c.limit - 1)),
    slackMs: slack === 'default' ? undefined : slack === 'catch-up' ? (2.5 * c.intervalMs) / c.limit : slack,
  }));

function opArb(config: Config): fc.Arbitrary<Op> {
  const maxCost = config.unitCosts ? 1 : config.algorithm === 'gcra' ? config.burst : config.limit;
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('acquire' as const),
        cost: fc.integer({ min: 1, max: maxCost }),
        priority: fc.constantFrom(0, 0, 0, 1, 2),
        abortAfter: fc.option(fc.double({ min: 0, max: config.intervalMs, noNaN: true }), { nil: undefined, freq: 4 }),
        maxWaitMs: fc.option(fc.double({ min: 0, max: config.intervalMs * 3, noNaN: true }), { nil: undefined, freq: 4 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('try' as const), cost: fc.integer({ min: 1, max: maxCost }) }) },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.double({ min: 0, max: config.intervalMs / 2, noNaN: true }) }),
    },
  );
}

const scenarioArb = configArb.chain((config) => fc.tuple(fc.constant(config), fc.array(opArb(config), { minLength: 1, maxLength: 60 })));

interface Start {
  at: number;
  cost: number;
  /** Submission index of the acquire; -1 for tryAcquire. */
  id: number;
  priority: number;
}

/**
 * A store that answers as RedisStore does — with a promise, a tick later, and reserveInOrder
 * for the limiter's queue — over a MemoryStore, so the same properties can be checked on
 * the limiter's asynchronous path.
 */
class AsyncStore implements RateStore {
  private readonly memory = new MemoryStore();
  reserve(key: string, limits: readonly LimitSpec[], cost: number, now: number): Promise<number> {
    return Promise.resolve().then(() => this.memory.reserve(key, limits, cost, now));
  }
  reserveInOrder(key: string, limits: readonly LimitSpec[], costs: readonly number[], now: number): Promise<number[]> {
    return Promise.resolve().then(() => {
      const waits: number[] = [];
      for (const cost of costs) {
        const wait = this.memory.reserve(key, limits, cost, now);
        waits.push(wait);
        if (wait !== 0) break;
      }
      return waits;
    });
  }
  refund(key: string, limits: readonly LimitSpec[], cost: number, now: number): Promise<void> {
    return Promise.resolve().then(() => this.memory.refund(key, limits, cost, now));
  }
}

type StoreKind = 'memory' | 'async';
const STORES: StoreKind[] = ['memory', 'async'];

async function runScenario(config: Config, ops: Op[], storeKind: StoreKind = 'memory') {
  const clock = new ManualClock();
  const limiter = new RateLimiter({
    limits: { rate: { limit: config.limit, interval: config.intervalMs }, algorithm: config.algorithm, burst: config.burst, slack: config.slackMs },
    clock,
    store: storeKind === 'async' ? new AsyncStore() : undefined,
  });
  const starts: Start[] = [];
  const outcomes: ('pending' | 'admitted' | 'aborted' | 'refused')[] = [];
  const signals: AbortSignal[] = [];
  let id = 0;
  for (const op of ops) {
    if (op.kind === 'advance') {
      await clock.advance(op.ms);
    } else if (op.kind === 'try') {
      const decision = await limiter.tryAcquire(op.cost);
      if (decision.granted) starts.push({ at: clock.now(), cost: op.cost, id: -1, priority: 0 });
      else assert.ok(decision.retryAfterMs > 0);
    } else {
      const me = id++;
      outcomes[me] = 'pending';
      let signal: AbortSignal | undefined;
      if (op.abortAfter !== undefined) {
        const controller = new AbortController();
        signal = controller.signal;
        signals.push(signal);
        clock.timer(() => controller.abort(), op.abortAfter);
      }
      limiter
        .run(() => starts.push({ at: clock.now(), cost: op.cost, id: me, priority: op.priority }), {
          cost: op.cost,
          priority: op.priority,
          signal,
          maxWaitMs: op.maxWaitMs,
        })
        .then(
          () => (outcomes[me] = 'admitted'),
          (error: Error) => (outcomes[me] = error.name === 'AbortError' ? 'aborted' : 'refused'),
        );
    }
  }
  // An asynchronous store answers after a tick: let those answers land (they may set timers).
  do {
    await clock.runAll();
    await new Promise((resolve) => setImmediate(resolve));
  } while (clock.pendingTimers > 0);
  return { starts, outcomes, clock, signals, limiter, slackMs: limiter.limits[0]!.slackMs };
}

/** The guarantee the README states for each algorithm, checked on every pair of starts; `s` is the slack in force. */
function checkGuarantee(config: Config, s: number, starts: Start[]): void {
  const { limit: N, intervalMs: T, burst: b } = config;
  const sorted = [...starts].sort((x, y) => x.at - y.at);
  for (let j = 0; j < sorted.length; j++) {
    const end = sorted[j]!.at;
    if (config.algorithm === 'fixed-window') {
      const window = Math.floor(end / T);
      const used = sorted.filter((x) => Math.floor(x.at / T) === window).reduce((a, x) => a + x.cost, 0);
      assert.ok(used <= N + EPS, `fixed window ${window} holds ${used} > ${N}`);
      continue;
    }
    let cost = 0;
    for (let i = j; i >= 0; i--) {
      const start = sorted[i]!.at;
      cost += sorted[i]!.cost;
      if (config.algorithm === 'sliding-window' && end - start < T) {
        assert.ok(cost <= N + EPS, `${cost} started in [${start}, ${end}], a window shorter than ${T}; limit ${N}`);
      }
      const paced = config.algorithm === 'gcra' || (config.unitCosts && b < N);
      if (paced) {
        const bound = b + ((end - start + s) * N) / T;
        assert.ok(cost <= bound + EPS, `${cost} started in [${start}, ${end}]; bound b + (t + slack)·N/T = ${bound}`);
      }
    }
  }
}

describe('RateLimiter properties (random schedules on ManualClock)', () => {
  for (const storeKind of STORES) {
    it(`never breaks the stated guarantee of its algorithm (${storeKind} store)`, async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async ([config, ops]) => {
          const { starts, slackMs } = await runScenario(config, ops, storeKind);
          checkGuarantee(config, slackMs, starts);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('the check itself catches a start too many (so the property above can fail)', () => {
    const paced: Config = { algorithm: 'sliding-window', limit: 4, intervalMs: 1000, burst: 1, slackMs: 0, unitCosts: true };
    const unit = (at: number): Start => ({ at, cost: 1, id: 0, priority: 0 });
    // Allowed: one every 250 ms, and with 10 ms of slack one of them 10 ms early.
    checkGuarantee(paced, 0, [0, 250, 500, 750, 1000].map(unit));
    checkGuarantee(paced, 10, [0, 240, 490, 740, 1000].map(unit));
    // Pacing broken (two starts 249 ms apart with no slack), then the window (5 in 999 ms with slack 1000).
    assert.throws(() => checkGuarantee(paced, 0, [0, 249].map(unit)), /bound b \+ \(t \+ slack\)/);
    assert.throws(() => checkGuarantee(paced, 1000, [0, 1, 2, 3, 999].map(unit)), /a window shorter than 1000; limit 4/);
    const gcra: Config = { ...paced, algorithm: 'gcra', burst: 2 };
    assert.throws(() => checkGuarantee(gcra, 0, [0, 0, 0].map(unit)), /bound b \+ \(t \+ slack\)/);
    const fixed: Config = { ...paced, algorithm: 'fixed-window' };
    assert.throws(() => checkGuarantee(fixed, 0, [1000, 1200, 1400, 1600, 1999].map(unit)), /fixed window 1 holds 5 > 4/);
  });

  for (const storeKind of STORES) {
    it(`admits every waiter that was not aborted or refused, and leaves no timer or listener (${storeKind} store)`, async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async ([config, ops]) => {
          const { outcomes, clock, signals, limiter } = await runScenario(config, ops, storeKind);
          assert.ok(!outcomes.includes('pending'), `pending waiters left: ${JSON.stringify(limiter.stats())}`);
          assert.equal(clock.pendingTimers, 0);
          for (const signal of signals) assert.equal(getEventListeners(signal, 'abort').length, 0);
          assert.equal(limiter.stats().waiting, 0);
        }),
        { numRuns: 200 },
      );
    });

    it(`serves FIFO within a priority, higher priority first (${storeKind} store)`, async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async ([config, ops]) => {
          const { starts } = await runScenario(config, ops, storeKind);
          const order = new Map(starts.filter((s) => s.id >= 0).map((s, i) => [s.id, { i, priority: s.priority }]));
          const admitted = [...order.entries()].sort((x, y) => x[0] - y[0]);
          for (let x = 0; x < admitted.length; x++) {
            for (let y = x + 1; y < admitted.length; y++) {
              const [idX, a] = admitted[x]!;
              const [idY, c] = admitted[y]!;
              // x was submitted before y: unless y outranks x, x starts first.
              if (a.priority >= c.priority) assert.ok(a.i < c.i, `#${idX} (p${a.priority}) started after #${idY} (p${c.priority})`);
            }
          }
        }),
        { numRuns: 200 },
      );
    });
  }

  it('is work-conserving: a queue is admitted at exactly the instants the algorithm allows', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 40 }), async (config, rawCosts) => {
        const cap = config.algorithm === 'gcra' ? config.burst : config.limit;
        const costs = rawCosts.map((c) => Math.min(c, cap));
        const limits = { rate: { limit: config.limit, interval: config.intervalMs }, algorithm: config.algorithm, burst: config.burst, slack: config.slackMs };
        const clock = new ManualClock();
        const limiter = new RateLimiter({ limits, clock });
        const seen: number[] = [];
        for (const cost of costs) void limiter.run(() => seen.push(clock.now()), { cost });
        await clock.runAll();

        // Reference: ask a bare store greedily, jumping straight to each answer.
        const store = new MemoryStore();
        const specs: readonly LimitSpec[] = limiter.limits;
        const expected: number[] = [];
        let t = 0;
        for (const cost of costs) {
          for (let wait = store.reserve('k', specs, cost, t); wait > 0; wait = store.reserve('k', specs, cost, t)) t += wait;
          expected.push(t);
        }
        assert.equal(seen.length, expected.length);
        seen.forEach((at, i) => assert.ok(Math.abs(at - expected[i]!) < 1e-6, `start ${i}: at ${at}, expected ${expected[i]}`));
      }),
      { numRuns: 200 },
    );
  });
});
