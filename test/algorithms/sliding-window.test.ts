import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock, RateLimiter, toLimitSpecs } from '../../src/index.js';
import { QUANTUM_SHARE, SlidingWindowState } from '../../src/algorithms/sliding-window.js';

/** 10 s: the quantum is then exactly 1 ms, and times on a 1/16 ms grid add up exactly. */
const T = 10_000;
const Q = T / QUANTUM_SHARE;

interface Start {
  at: number;
  cost: number;
}

/** The cost an exact log holds at `now`: starts in `(now - span, now]`. */
function exactSum(starts: readonly Start[], now: number, span: number): number {
  let sum = 0;
  for (const s of starts) if (s.at > now - span && s.at <= now) sum += s.cost;
  return sum;
}

/**
 * Steps of 0 to 3 quanta on the 1/16 ms grid (many starts per quantum); now and then one
 * of about an interval (to where the oldest bucket leaves), or any length.
 */
const stepArb = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 48 }).map((k) => k / 16) },
  { weight: 1, arbitrary: fc.integer({ min: 16 * T - 48, max: 16 * T + 48 }).map((k) => k / 16) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 16 * 12_000 }).map((k) => k / 16) },
);

describe('SlidingWindowState: a log of quantum buckets', () => {
  it('with many starts per quantum, admits only what an exact log of the same starts would, and at most a quantum later than it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.record({ step: stepArb, cost: fc.constantFrom(1, 1, 1, 0.5, 2) }), { minLength: 1, maxLength: 300, size: 'max' }),
        (limit, ops) => {
          // burst = limit: no pacing, so every answer is the window's
          const [spec] = toLimitSpecs({ rate: { limit, interval: T }, algorithm: 'sliding-window', burst: limit }, {});
          const state = new SlidingWindowState(spec!);
          const starts: Start[] = [];
          let now = 1_000_000;
          for (const [i, op] of ops.entries()) {
            now += op.step;
            const cost = Math.min(op.cost, limit);
            const exact = exactSum(starts, now, T);
            // Every start the state counts began less than a quantum before its entry's time.
            const wide = exactSum(starts, now, T + Q);
            const wait = state.reserve(now, cost);
            const label = `op ${i} at ${now}, cost ${cost}: exact ${exact}, wide ${wide}, wait ${wait}`;
            if (wait === 0) {
              assert.ok(exact + cost <= limit, `admitted what an exact log refuses; ${label}`);
              starts.push({ at: now, cost });
            } else {
              assert.ok(wide + cost > limit, `refused though the window counted a quantum longer has room; ${label}`);
              // The wait is never too early: by then an exact log has room too.
              assert.ok(exactSum(starts, now + wait, T) + cost <= limit, `room only after the wait it named; ${label}`);
            }
          }
          // The guarantee itself: at most `limit` in any window [t, t + T).
          for (const first of starts) {
            const inWindow = starts.filter((s) => s.at >= first.at && s.at < first.at + T).reduce((a, s) => a + s.cost, 0);
            assert.ok(inWindow <= limit, `${inWindow} started in [${first.at}, ${first.at + T}); limit ${limit}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('paced and far above one start per quantum, still never admits more than the limit in a window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20_000, max: 100_000 }),
        // pacing lets `burst` start at once, then one every T / limit: a burst of half the
        // limit or more leaves room for the window to bind
        fc.oneof(fc.constantFrom(0.5, 0.9, 1), fc.double({ min: 0, max: 1, noNaN: true })),
        fc.array(fc.record({ step: stepArb, percent: fc.integer({ min: 1, max: 30 }) }), { minLength: 1, maxLength: 200, size: 'max' }),
        (limit, burstShare, ops) => {
          const burst = 1 + Math.floor(burstShare * (limit - 1));
          const [spec] = toLimitSpecs({ rate: { limit, interval: T }, algorithm: 'sliding-window', burst }, {});
          const state = new SlidingWindowState(spec!);
          const starts: Start[] = [];
          let now = 0;
          for (const [i, op] of ops.entries()) {
            now += op.step;
            const cost = Math.round((op.percent * limit) / 100);
            const exact = exactSum(starts, now, T);
            const wait = state.reserve(now, cost);
            if (wait === 0) {
              assert.ok(exact + cost <= limit, `op ${i} at ${now}: ${exact} + ${cost} > ${limit}`);
              starts.push({ at: now, cost });
            } else if (wait !== Number.POSITIVE_INFINITY) {
              // the wait covers the pacer and the window: by then an exact log has room too
              assert.ok(exactSum(starts, now + wait, T) + cost <= limit, `op ${i} at ${now}: no room after the wait ${wait}`);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps its log bounded (about 10,000 entries) under a never-binding 1e9/s stream', () => {
    const [spec] = toLimitSpecs({ rate: '1000000000/1s' }, {}); // the default: sliding window, paced
    const state = new SlidingWindowState(spec!, 1);
    let most = 0;
    let now = 0;
    // 3.3 starts per µs for 2.5 s: 8.3M starts, ~3.3M of them in any window
    for (let i = 0; i < 8_300_000; i++) {
      now = i * 0.0003;
      if (state.reserve(now, 1) !== 0) assert.fail(`refused at ${now}`);
      if ((i & 1023) === 0 && state.entries > most) most = state.entries;
    }
    assert.ok(most <= QUANTUM_SHARE + 12, `${most} entries`);
    assert.ok(state.entries >= QUANTUM_SHARE - 10, `${state.entries} entries: a full window of buckets`);
    assert.ok(state.idleAt() >= now + 1000 && state.idleAt() <= now + 1001 + Q, 'the newest start is counted a full interval');
  });

  it('refunds from the newest bucket and lets a bucket leave only after its latest start has', () => {
    const [spec] = toLimitSpecs({ rate: { limit: 3, interval: T }, algorithm: 'sliding-window', burst: 3 }, {});
    const state = new SlidingWindowState(spec!);
    assert.equal(state.reserve(0, 1), 0);
    assert.equal(state.reserve(0.5, 1), 0); // same bucket as 0: one entry, at 0.5
    assert.equal(state.reserve(1, 1), 0); // a new bucket: 1 is a quantum after 0
    assert.equal(state.entries, 2);
    assert.equal(state.reserve(2, 1), T + 0.5 - 2); // counted until 0.5 + T, not T
    state.refund(2, 1); // from the newest bucket (the start at 1)
    assert.equal(state.reserve(2, 1), 0);
    assert.equal(state.entries, 3);
    assert.equal(state.reserve(T + 0.25, 1), 0.25);
    assert.equal(state.reserve(T + 0.5, 2), 0);
    assert.equal(state.idleAt(), 2 * T + 0.5);
  });
});

describe('SlidingWindowState: refunds and charges of a start known by its stamp', () => {
  it('gives the pacer back what the starts after the refunded one left, no more', () => {
    // 4 per second, burst 2, no slack: a unit is 250 ms of the pacer, which holds 500 ms.
    const [spec] = toLimitSpecs({ rate: { limit: 4, interval: 1000 }, algorithm: 'sliding-window', burst: 2, slack: 0 }, {});
    const state = new SlidingWindowState(spec!);
    assert.equal(state.reserve(0, 1), 0);
    assert.equal(state.reserve(10, 1), 0);
    state.refund(20, 1, 0); // the start at 0 did not happen after all
    // As if only the start at 10 had happened: room for one more now, then 250 ms apart.
    assert.equal(state.reserve(20, 1), 0);
    assert.equal(state.reserve(20, 1), 240);
  });

  it('charges the units where the start was: they leave with it', () => {
    const [spec] = toLimitSpecs({ rate: { limit: 4, interval: 1000 }, algorithm: 'sliding-window', burst: 4 }, {});
    const state = new SlidingWindowState(spec!);
    assert.equal(state.reserve(0, 1), 0);
    assert.equal(state.reserve(500, 1), 0);
    state.charge(600, 2, 0); // the start at 0 used 3
    assert.equal(state.reserve(600, 1), 400, 'full until the start at 0 leaves, at 1000');
    state.charge(1200, 1, 0); // that start has left: nothing more to count in the window
    assert.equal(state.reserve(1200, 3), 0);
  });
});

describe('SlidingWindowState: the instant a start leaves', () => {
  it('holds the window whether it is read as time + T <= now or as now − time >= T (float rounding)', async () => {
    // Found by the limiter's property test: 31.33…33 + 100 rounds to 131.33…31, whose
    // difference from 31.33…33 is 99.99…99, so a start admitted at 131.33…31 sat in a window
    // shorter than 100 ms beside the start it replaced.
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: { rate: { limit: 3, interval: 100 }, burst: 2, slack: 2 }, clock });
    const starts: { at: number; cost: number }[] = [];
    for (const cost of [1, 2, 1, 1]) void limiter.run(() => starts.push({ at: clock.now(), cost }), { cost });
    await clock.runAll();
    assert.equal(starts.length, 4);
    for (const later of starts) {
      const inWindow = starts.filter((s) => s.at <= later.at && later.at - s.at < 100).reduce((sum, s) => sum + s.cost, 0);
      assert.ok(inWindow <= 3, `${inWindow} units in a window shorter than 100 ms ending at ${later.at}`);
    }
  });
});
