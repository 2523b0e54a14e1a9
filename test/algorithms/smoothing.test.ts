import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError, ManualClock, RateLimiter, toLimitSpecs, type Algorithm, type LimitSpec } from '../../src/index.js';
import { createLimitState } from '../../src/store/memory.js';
import { SmoothingState } from '../../src/algorithms/smoothing.js';

const EPS = 1e-6;

/**
 * The README's promise for `smooth: W`: no window [x, x + L) with L >= W holds more than
 * `b - 1 + ceil(L·N/T)` unit starts. For starts i..k the tightest such window is
 * max(W, a_k - a_i + ε) long; returns the first pair that breaks it.
 */
function smoothingViolation(spec: LimitSpec, starts: number[]): string | undefined {
  const { limit: N, intervalMs: T, burst: b, smoothMs: W = 0 } = spec;
  const sorted = [...starts].sort((x, y) => x - y);
  for (let k = 0; k < sorted.length; k++) {
    for (let i = k; i >= 0; i--) {
      // + EPS: the window must reach past the last start (and the state may admit a start
      // up to 1e-9 ms early: EPSILON_MS); - 1e-9: float noise in L·N/T
      const L = Math.max(W, sorted[k]! - sorted[i]! + EPS);
      const allowed = b - 1 + Math.ceil((L * N) / T - 1e-9);
      if (k - i + 1 > allowed) return `${k - i + 1} starts in [${sorted[i]}, ${sorted[k]}], a window of ${L} ms may hold ${allowed}`;
    }
  }
  return undefined;
}

const configArb = fc
  .record({
    algorithm: fc.constantFrom<Algorithm>('sliding-window', 'gcra'),
    limit: fc.integer({ min: 2, max: 40 }),
    intervalMs: fc.constantFrom(100, 1000),
    smoothShare: fc.constantFrom(0.1, 0.25, 0.5, 1),
    burstShare: fc.constantFrom(0, 0, 0.2),
    slackShare: fc.constantFrom(0, 0.02, 0.1, 0.5),
  })
  .map(({ algorithm, limit, intervalMs, smoothShare, burstShare, slackShare }) =>
    toLimitSpecs(
      {
        rate: { limit, interval: intervalMs },
        algorithm,
        burst: 1 + Math.floor(burstShare * (limit - 1)),
        slack: slackShare * intervalMs,
        smooth: smoothShare * intervalMs,
      },
      {},
    )[0]!,
  );

describe('smooth: the limit pro rata in every window of W or longer', () => {
  it('holds for starts made whenever a late wake-up lets them, with catch-up (random wake-ups)', () => {
    fc.assert(
      fc.property(configArb, fc.array(fc.double({ min: 0, max: 60, noNaN: true }), { minLength: 1, maxLength: 120 }), (spec, steps) => {
        // A limiter that wakes at random instants and starts everything due: the worst case
        // for catch-up (slack) — which smoothing must keep pro rata over W and longer.
        const state = createLimitState(spec);
        const starts: number[] = [];
        let now = 1_000;
        for (const step of steps) {
          now += step;
          while (starts.length < 400 && state.reserve(now, 1) === 0) starts.push(now);
        }
        const problem = smoothingViolation(spec, starts);
        assert.equal(problem, undefined, problem);
      }),
      { numRuns: 300 },
    );
  });

  it('admits as early as the bound allows (burst 1): a start any earlier than the rule lets it would break the bound', () => {
    // The README says no limiter keeping the bound could admit more from the same wake-ups:
    // whenever the rule makes a start wait, that start a little before the instant it names
    // puts more than the share into some window of W or longer. A rule stricter than it needs
    // to be fails here.
    const unitSpecArb = fc
      .record({ limit: fc.integer({ min: 2, max: 40 }), intervalMs: fc.constantFrom(100, 1000), smoothShare: fc.constantFrom(0.1, 0.25, 0.5, 1) })
      .map(({ limit, intervalMs, smoothShare }) => toLimitSpecs({ rate: { limit, interval: intervalMs }, burst: 1, smooth: smoothShare * intervalMs }, {})[0]!);
    fc.assert(
      fc.property(unitSpecArb, fc.array(fc.double({ min: 0, max: 3, noNaN: true }), { minLength: 1, maxLength: 200 }), (spec, lateness) => {
        const state = new SmoothingState(spec);
        const emission = spec.intervalMs / spec.limit;
        const starts: number[] = [];
        let now = 1_000;
        for (const late of lateness) {
          const wait = state.waitMs(now, 1);
          if (wait > 0) {
            const earliest = now + wait;
            const earlier = earliest - emission / 1000;
            const problem = smoothingViolation(spec, [...starts, earlier]);
            assert.ok(problem !== undefined, `a start at ${earlier}, before the rule's ${earliest}, breaks nothing: the rule is stricter than the bound`);
            now = earliest;
          }
          state.take(now, 1);
          starts.push(now);
          now += late * emission; // the next wake-up: on time, early for its pace, or late
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the check itself catches a window over its share (so the property above can fail)', () => {
    const spec = toLimitSpecs({ rate: '10/1s', smooth: '500ms' }, {})[0]!;
    assert.equal(smoothingViolation(spec, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]), undefined);
    // 6 in 500 ms: over the share of a 500 ms window
    assert.match(smoothingViolation(spec, [0, 100, 200, 300, 400, 499]) ?? '', /6 starts/);
    // 8 in 700 ms (each 500 ms window at most 5, but 700 ms may hold 7)
    assert.match(smoothingViolation(spec, [0, 1, 2, 3, 4, 500, 501, 502]) ?? '', /starts in/);
  });

  it('without smooth, the same wake-ups break the window bound (slack catches up)', () => {
    const spec = toLimitSpecs({ rate: '1000/1s', slack: '10ms' }, {})[0]!;
    const state = createLimitState(spec);
    const starts: number[] = [];
    for (let now = 0; now < 1000; now += 7) while (state.reserve(now, 1) === 0) starts.push(now);
    assert.ok(smoothingViolation({ ...spec, smoothMs: 100 }, starts) !== undefined, 'plain pacing exceeds 100 in some 100 ms');
    const smoothed = createLimitState({ ...spec, smoothMs: 100 });
    const even: number[] = [];
    for (let now = 0; now < 1000; now += 7) while (smoothed.reserve(now, 1) === 0) even.push(now);
    assert.equal(smoothingViolation({ ...spec, smoothMs: 100 }, even), undefined);
    // What smoothing costs is the wake-ups' lateness, once per W: a start 100 units after
    // another waits for the first wake-up 100 ms after it, 5 ms late on this 7 ms grid (~95 %).
    assert.ok(even.length >= 940, `${even.length} starts in 1 s at 1000/s`);
  });

  it('keeps the rate: a limiter on time loses nothing to smoothing', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '100/1s', smooth: '100ms', clock });
    const starts: number[] = [];
    for (let i = 0; i < 300; i++) void limiter.run(() => starts.push(clock.now()));
    await clock.runAll();
    assert.equal(starts.length, 300);
    assert.ok(starts[299]! <= 2990 + EPS, `last start at ${starts[299]}: one every 10 ms`);
  });

  it('memory: at most one entry per distinct start instant of the last W', () => {
    const spec = toLimitSpecs({ rate: '1000/1s', smooth: '100ms', burst: 1000 }, {})[0]!;
    const state = new SmoothingState(spec);
    for (let t = 0; t < 10_000; t += 1) for (let j = 0; j < 3; j++) state.reserve(t, 1 / 3);
    assert.ok(state.entries <= 101, `${state.entries} entries`);
  });

  it('refund gives the newest units back', () => {
    const spec = toLimitSpecs({ rate: '10/1s', smooth: '500ms', slack: 0 }, {})[0]!;
    const state = createLimitState(spec);
    for (let i = 0; i < 5; i++) assert.equal(state.reserve(i * 100, 1), 0);
    // the 6th unit may not start before 0 + 500 (five units after the first)
    assert.ok(state.waitMs(500 - 1, 1) > 0);
    state.refund(499, 1);
    assert.equal(state.waitMs(499, 1), 0, 'with a unit given back, 5 fit in the window again');
  });

  it('bad smooth values are ConfigErrors naming the field', () => {
    assert.throws(() => new RateLimiter({ limits: '10/1s', smooth: '2s' }), (e: unknown) => e instanceof ConfigError && /smooth/.test(e.message));
    assert.throws(() => new RateLimiter({ limits: { rate: '10/1s', smooth: 'soon' } }), (e: unknown) => e instanceof ConfigError && /limits\.smooth/.test(e.message));
    assert.throws(() => new RateLimiter({ limits: '10/1s', algorithm: 'fixed-window', smooth: '100ms' }), ConfigError);
    // a longer limit beside the pacing one is an exact cap: the default smooth is not applied to it
    const limiter = new RateLimiter({ limits: ['10/1s', '1000/1h'], smooth: '100ms' });
    assert.equal(limiter.limits[0]!.smoothMs, 100);
    assert.equal(limiter.limits[1]!.smoothMs, undefined);
  });
});
