// Reservations (RateLimiter.reserve): refunds and charges of a start of one's own, made
// whatever was admitted since, must keep each algorithm's stated guarantee — over what was
// really used, counted where each start was.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock, MemoryStore, RateLimiter, type Algorithm, type LimitSpec, type RateStore, type Reservation, type StartStamp } from '../../src/index.js';

const EPS = 1e-6;

interface Config {
  algorithm: Algorithm;
  limit: number;
  intervalMs: number;
  burst: number;
  slackMs: number;
  unitCosts: boolean;
}

type Op =
  | { kind: 'reserve'; cost: number }
  | { kind: 'refund'; pick: number; share: number }
  | { kind: 'charge'; pick: number; units: number }
  | { kind: 'advance'; ms: number };

const configArb: fc.Arbitrary<Config> = fc
  .record({
    algorithm: fc.constantFrom<Algorithm>('sliding-window', 'gcra', 'fixed-window'),
    limit: fc.integer({ min: 1, max: 8 }),
    intervalMs: fc.constantFrom(10, 100, 1000),
    burstShare: fc.double({ min: 0, max: 1, noNaN: true }),
    slackMs: fc.constantFrom(0, 0.5, 2),
    unitCosts: fc.boolean(),
  })
  .map(({ burstShare, ...c }) => ({ ...c, burst: 1 + Math.floor(burstShare * (c.limit - 1)) }));

function opArb(config: Config, charges: boolean): fc.Arbitrary<Op> {
  const maxCost = config.unitCosts ? 1 : config.algorithm === 'gcra' ? config.burst : config.limit;
  // `pick` counts back from the newest reservation: mostly recent ones, whose refunds are not the newest start's.
  const pick = fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: 100 }));
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('reserve' as const), cost: fc.integer({ min: 1, max: maxCost }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('refund' as const), pick, share: fc.constantFrom(0.25, 0.5, 1, 1) }) },
    { weight: charges ? 2 : 0, arbitrary: fc.record({ kind: fc.constant('charge' as const), pick, units: fc.constantFrom(0.5, 1, 2) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.double({ min: 0, max: config.intervalMs / 2, noNaN: true }) }) },
  );
}

/** A start as the test knows it: when it was admitted, and the units it holds now (its cost, refunds and charges). */
interface Start {
  at: number;
  units: number;
}

/**
 * A MemoryStore that records every start it admits, and the units refunded and charged to
 * it, at the instant it acts — so `onAdmit` sees exactly what the store knew when it
 * decided. `async`: answers as RedisStore does, with a promise a tick later and
 * reserveInOrder for the limiter's queue.
 */
class RecordingStore implements RateStore {
  readonly starts: Start[] = [];
  readonly reserveInOrder?: RateStore['reserveInOrder'];
  private readonly memory = new MemoryStore();

  constructor(
    private readonly async: boolean,
    private readonly onAdmit: (starts: readonly Start[], at: number) => void,
  ) {
    if (async) {
      this.reserveInOrder = (key, limits, costs, now, stamps) =>
        Promise.resolve().then(() => {
          const waits: number[] = [];
          for (const [i, cost] of costs.entries()) {
            const wait = this.decide(key, limits, cost, now, stamps?.[i]);
            waits.push(wait);
            if (wait !== 0) break;
          }
          return waits;
        });
    }
  }

  reserve(key: string, limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp): number | Promise<number> {
    return this.async ? Promise.resolve().then(() => this.decide(key, limits, cost, now, stamp)) : this.decide(key, limits, cost, now, stamp);
  }

  refund(key: string, limits: readonly LimitSpec[], cost: number, now: number, at?: number): void | Promise<void> {
    const act = (): void => {
      this.memory.refund(key, limits, cost, now, at);
      if (at !== undefined) this.adjust(at, -cost);
    };
    return this.async ? Promise.resolve().then(act) : act();
  }

  charge(key: string, limits: readonly LimitSpec[], cost: number, now: number, at?: number): void | Promise<void> {
    const act = (): void => {
      this.memory.charge(key, limits, cost, now, at);
      if (at !== undefined) this.adjust(at, cost);
    };
    return this.async ? Promise.resolve().then(act) : act();
  }

  private decide(key: string, limits: readonly LimitSpec[], cost: number, now: number, stamp: StartStamp | undefined): number {
    const wait = this.memory.reserve(key, limits, cost, now, stamp);
    if (wait === 0) {
      this.starts.push({ at: now, units: cost });
      this.onAdmit(this.starts, now);
    }
    return wait;
  }

  /** The units of the starts recorded at `at` change by `delta` in all (which of several at one instant does not matter to a window). */
  private adjust(at: number, delta: number): void {
    const here = this.starts.filter((x) => x.at === at);
    assert.ok(here.length > 0, `no start at ${at}`);
    if (delta > 0) {
      here[0]!.units += delta;
      return;
    }
    let left = -delta;
    for (const start of here) {
      const back = Math.min(left, start.units);
      start.units -= back;
      left -= back;
    }
    assert.ok(left <= EPS, `the starts at ${at} held ${-delta - left}, not ${-delta}`);
  }
}

/**
 * Runs a schedule of reserves, refunds and charges of a reservation (`pick` back from the
 * newest) and clock steps; `onAdmit` sees every start as its store admits it, with every
 * start admitted so far as known then. Returns the starts, at what they hold in the end.
 */
async function runScenario(config: Config, ops: Op[], async: boolean, onAdmit: (starts: readonly Start[], at: number) => void = () => {}): Promise<readonly Start[]> {
  const clock = new ManualClock();
  const store = new RecordingStore(async, onAdmit);
  const limiter = new RateLimiter({
    limits: { rate: { limit: config.limit, interval: config.intervalMs }, algorithm: config.algorithm, burst: config.burst, slack: config.slackMs },
    clock,
    store,
  });
  const held: Reservation[] = [];
  const pending: Promise<unknown>[] = [];
  for (const op of ops) {
    if (op.kind === 'advance') {
      await clock.advance(op.ms);
    } else if (op.kind === 'reserve') {
      pending.push(limiter.reserve(op.cost).then((reservation) => held.push(reservation)));
    } else if (held.length > 0) {
      const reservation = held[held.length - 1 - (op.pick % held.length)]!;
      if (op.kind === 'refund') {
        const units = reservation.units * op.share;
        if (units > 0) await reservation.refund(units);
      } else {
        await reservation.charge(op.units);
      }
    }
  }
  do {
    await clock.runAll();
    await new Promise((resolve) => setImmediate(resolve));
  } while (clock.pendingTimers > 0);
  await Promise.all(pending);
  return store.starts;
}

/**
 * The guarantee the README states for each algorithm, over `starts` counted at what each
 * holds: every window and interval ending at a start, or only those ending at `only`.
 */
function checkGuarantee(config: Config, starts: readonly Start[], only?: number): void {
  const { limit: N, intervalMs: T, burst: b, slackMs: s } = config;
  const sorted = [...starts].sort((x, y) => x.at - y.at);
  for (let j = 0; j < sorted.length; j++) {
    const end = sorted[j]!.at;
    if (only !== undefined && end !== only) continue;
    if (config.algorithm === 'fixed-window') {
      const window = Math.floor(end / T);
      const used = sorted.filter((x) => Math.floor(x.at / T) === window).reduce((a, x) => a + x.units, 0);
      assert.ok(used <= N + EPS, `fixed window ${window} holds ${used} > ${N}`);
      continue;
    }
    let cost = 0;
    // every start at the same instant belongs to an interval ending here
    let last = j;
    while (last + 1 < sorted.length && sorted[last + 1]!.at === end) last++;
    for (let k = last; k > j; k--) cost += sorted[k]!.units;
    for (let i = j; i >= 0; i--) {
      const start = sorted[i]!.at;
      cost += sorted[i]!.units;
      if (config.algorithm === 'sliding-window' && end - start < T) {
        assert.ok(cost <= N + EPS, `${cost} used in [${start}, ${end}], a window shorter than ${T}; limit ${N}`);
      }
      if (config.algorithm === 'gcra' || (config.unitCosts && b < N)) {
        const bound = b + ((end - start + s) * N) / T;
        assert.ok(cost <= bound + EPS, `${cost} used in [${start}, ${end}]; bound b + (t + slack)·N/T = ${bound}`);
      }
    }
  }
}

const scenario = (charges: boolean) => configArb.chain((config) => fc.tuple(fc.constant(config), fc.array(opArb(config, charges), { minLength: 1, maxLength: 60, size: 'max' })));

describe('Reservation properties (random schedules on ManualClock)', () => {
  for (const store of ['sync', 'async'] as const) {
    it(`refunds of a start of one's own, whatever started since, keep the guarantee over what was used (${store} store)`, async () => {
      await fc.assert(
        fc.asyncProperty(scenario(false), async ([config, ops]) => {
          checkGuarantee(config, await runScenario(config, ops, store === 'async'));
        }),
        { numRuns: 300 },
      );
    });

    it(`with charges too, every start is admitted only where the windows ending at it hold at most the limit of what was used (${store} store)`, async () => {
      // A charge is usage that already happened, made known later: it may fill a window that
      // earlier starts shared. What the limiter promises is never to add a start to a window
      // that, counting every unit known when it starts where it was used, would then hold more.
      await fc.assert(
        fc.asyncProperty(scenario(true), async ([config, ops]) => {
          const broken: unknown[] = [];
          await runScenario(config, ops, store === 'async', (starts, at) => {
            try {
              checkGuarantee(config, starts, at);
            } catch (error) {
              broken.push(error);
            }
          });
          if (broken.length > 0) throw broken[0];
        }),
        { numRuns: 300 },
      );
    });
  }

  it('the check catches a refund that frees a window too soon (so the properties above can fail)', () => {
    const window: Config = { algorithm: 'sliding-window', limit: 2, intervalMs: 100, burst: 2, slackMs: 0, unitCosts: true };
    // 1 unit at 0 and 1 at 10; the one at 0 refunded — but a third at 50 with the refund
    // taken from the start at 10 instead leaves 2 units in [0, 50]: the check sees the truth.
    checkGuarantee(window, [
      { at: 0, units: 0 },
      { at: 10, units: 1 },
      { at: 50, units: 1 },
    ]);
    assert.throws(
      () =>
        checkGuarantee(window, [
          { at: 0, units: 1 },
          { at: 10, units: 1 },
          { at: 50, units: 1 },
        ]),
      /a window shorter than 100/,
    );
  });
});
