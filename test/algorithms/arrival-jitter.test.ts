import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock, MemoryStore, RateLimiter, toLimitSpecs, type LimitSpec } from '../../src/index.js';
import { defaultArrivalJitterMs } from '../../src/algorithms/limit-spec.js';

/**
 * The guarantee at the server (README, "At the server"): a request admitted at `s` arrives at
 * `s + d`, `d` anywhere in `[d0, d0 + J]`. A sliding window counting each start for `T + J`
 * then lets no window `[t, t + T)` of arrivals hold more than N. Checked on random schedules
 * of asks and random delays, on the store (time passed in) and through a RateLimiter.
 */

interface Arrival {
  at: number;
  cost: number;
}

/**
 * The most cost in any window `[t, t + T)` of `arrivals` (sorted by time). Two arrivals a
 * hair under T apart count as T apart: the delay added to each decision moves it to another
 * float grid, and a start the limiter admitted exactly T + J after another must not come out
 * 99.99999999999997 ms after it.
 */
function mostInWindow(arrivals: readonly Arrival[], T: number): number {
  let most = 0;
  let lo = 0;
  let sum = 0;
  for (let hi = 0; hi < arrivals.length; hi++) {
    sum += arrivals[hi]!.cost;
    while (arrivals[hi]!.at - arrivals[lo]!.at >= T - 1e-9) sum -= arrivals[lo++]!.cost;
    most = Math.max(most, sum);
  }
  return most;
}

const configArb = fc.record({
  limit: fc.integer({ min: 1, max: 8 }),
  intervalMs: fc.constantFrom(100, 250, 1000),
  burstShare: fc.double({ min: 0, max: 1, noNaN: true }),
  slackMs: fc.constantFrom(0, 0.5, 5),
  /** J as a share of the interval. */
  jitterShare: fc.constantFrom(0, 0.01, 0.02, 0.1, 0.5),
  /** The fixed part of every delay, ms. */
  d0: fc.constantFrom(0, 3, 40),
  /** The store's start lag (a RateLimiter on real time has 1 ms). */
  startLagMs: fc.constantFrom(0, 1),
});

/**
 * Each step: time passes, then someone asks for `cost`; `delay` in [0, 1] places the
 * request's delay in [d0, d0 + J]. A gap of `'told'` comes back exactly when the last
 * refusal said (a caller that keeps the window full: where a too short count would show).
 */
const stepArb = fc.record({
  gap: fc.oneof(fc.double({ min: 0, max: 60, noNaN: true }), fc.constantFrom(0, 0, 1), fc.constant('told' as const), fc.constant('told' as const)),
  cost: fc.constantFrom(1, 1, 1, 2, 0.5),
  delay: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1)),
});

describe('arrival jitter: at most N arrivals in any server window of T, given delays within J', () => {
  it('property (MemoryStore): admitted starts delayed anywhere in [d0, d0 + J] never put more than N in a window T of arrivals', () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 200 }), (c, steps) => {
        const burst = 1 + Math.floor(c.burstShare * (c.limit - 1));
        const J = c.jitterShare * c.intervalMs;
        const [spec] = toLimitSpecs({ rate: { limit: c.limit, interval: c.intervalMs }, burst, slack: c.slackMs, arrivalJitter: J }, {});
        const store = new MemoryStore({ startLagMs: c.startLagMs });
        // The allowance the store keeps: the larger of J and its start lag (capped at T/1000).
        const allowance = Math.max(J, Math.min(c.startLagMs, c.intervalMs / 1000));
        const arrivals: Arrival[] = [];
        let now = 0;
        let told = 0;
        for (const step of steps) {
          now += step.gap === 'told' ? told : step.gap;
          const wait = store.reserve('k', [spec!], step.cost, now);
          if (wait === 0) arrivals.push({ at: now + c.d0 + step.delay * allowance, cost: step.cost });
          told = Number.isFinite(wait) ? wait : 0;
        }
        arrivals.sort((a, b) => a.at - b.at);
        assert.ok(mostInWindow(arrivals, c.intervalMs) <= c.limit + 1e-9, `more than ${c.limit} arrived in a window of ${c.intervalMs} ms`);
      }),
      { numRuns: 400 },
    );
  });

  it('property (RateLimiter on ManualClock): with `arrivalJitter`, callers queued and served in turn keep every server window at N', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(stepArb, { minLength: 1, maxLength: 60 }), async (c, steps) => {
        const clock = new ManualClock();
        const J = c.jitterShare * c.intervalMs;
        const limiter = new RateLimiter({ limits: `${c.limit}/${c.intervalMs}ms`, burst: 1 + Math.floor(c.burstShare * (c.limit - 1)), slack: c.slackMs, arrivalJitter: J, clock });
        const arrivals: Arrival[] = [];
        const waits: Promise<void>[] = [];
        for (const step of steps) {
          await clock.advance(step.gap === 'told' ? 0 : step.gap);
          const cost = Math.min(step.cost, c.limit);
          waits.push(limiter.acquire({ cost }).then(() => void arrivals.push({ at: clock.now() + c.d0 + step.delay * J, cost })));
        }
        await clock.runAll();
        await Promise.all(waits);
        arrivals.sort((a, b) => a.at - b.at);
        assert.ok(mostInWindow(arrivals, c.intervalMs) <= c.limit + 1e-9);
      }),
      { numRuns: 150 },
    );
  });

  it('property: J = 0 is exactly the limit without jitter — the same answer to every ask', () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 200 }), (c, steps) => {
        const input = { rate: { limit: c.limit, interval: c.intervalMs }, burst: 1 + Math.floor(c.burstShare * (c.limit - 1)), slack: c.slackMs };
        const [without] = toLimitSpecs(input, {});
        const [zero] = toLimitSpecs({ ...input, arrivalJitter: 0 }, {});
        const a = new MemoryStore({ startLagMs: c.startLagMs });
        const b = new MemoryStore({ startLagMs: c.startLagMs });
        let now = 0;
        let told = 0;
        for (const step of steps) {
          now += step.gap === 'told' ? told : step.gap;
          const wait = a.reserve('k', [without!], step.cost, now);
          assert.equal(b.reserve('k', [zero!], step.cost, now), wait);
          told = Number.isFinite(wait) ? wait : 0;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a delay spread beyond J is what breaks it: 2 per 1 s with J = 10 ms, the first two 11 ms later than the third', () => {
    const [spec] = toLimitSpecs({ rate: '2/1s', burst: 2, arrivalJitter: 10 }, {}) as [LimitSpec];
    const store = new MemoryStore();
    assert.equal(store.reserve('k', [spec], 1, 0), 0);
    assert.equal(store.reserve('k', [spec], 1, 0), 0);
    assert.equal(store.reserve('k', [spec], 1, 1000), 10, 'counted for T + J: the third waits until 1010');
    assert.equal(store.reserve('k', [spec], 1, 1010), 0);
    // Arrivals 0 + 11, 0 + 11, 1010 + 0: all three within [11, 1011) — 3 > 2.
    const arrivals = [{ at: 11, cost: 1 }, { at: 11, cost: 1 }, { at: 1010, cost: 1 }];
    assert.equal(mostInWindow(arrivals, 1000), 3);
  });
});

describe('arrivalJitter defaults', () => {
  it('real time: 2 % of each limit’s interval, at most 100 ms; ManualClock: 0', () => {
    const real = new RateLimiter({ limits: ['10/100ms', '50/1s', '100/3s', '1000/1h'] });
    assert.deepEqual(
      real.limits.map((s) => s.jitterMs),
      [2, 20, 60, 100],
    );
    assert.equal(defaultArrivalJitterMs(500), 10);
    const virtual = new RateLimiter({ limits: ['10/100ms', '50/1s'], clock: new ManualClock() });
    assert.deepEqual(
      virtual.limits.map((s) => s.jitterMs),
      [0, 0],
    );
  });

  it('an explicit value applies to every limit without one of its own; a limit may set its own', () => {
    const limiter = new RateLimiter({ limits: ['50/1s', { rate: '1000/1h', arrivalJitter: '1s' }], arrivalJitter: '15ms' });
    assert.deepEqual(
      limiter.limits.map((s) => s.jitterMs),
      [15, 1000],
    );
  });

  it('a bad value is a ConfigError naming the field', () => {
    assert.throws(() => new RateLimiter({ limits: '50/1s', arrivalJitter: -1 }), /arrivalJitter/);
    assert.throws(() => new RateLimiter({ limits: { rate: '50/1s', arrivalJitter: 'soon' } }), /limits\.arrivalJitter/);
  });

  it('setArrivalJitter raises every limit to at least the value, and 0 returns each to its own', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: [{ rate: '2/1s', burst: 2 }, { rate: '100/1m', arrivalJitter: 500 }], clock });
    limiter.setArrivalJitter(40);
    assert.deepEqual(
      limiter.limits.map((s) => s.jitterMs),
      [40, 500],
    );
    assert.equal((await limiter.tryAcquire()).granted, true);
    assert.equal((await limiter.tryAcquire()).granted, true);
    await clock.advance(1000);
    assert.deepEqual(await limiter.tryAcquire(), { granted: false, retryAfterMs: 40 });
    limiter.setLimits({ rate: '2/1s', burst: 2 });
    assert.equal(limiter.limits[0]!.jitterMs, 40, 'new limits keep the floor');
    limiter.setArrivalJitter(0);
    assert.equal(limiter.limits[0]!.jitterMs, 0);
    assert.equal((await limiter.tryAcquire()).granted, true);
    assert.throws(() => limiter.setArrivalJitter(-1), /arrivalJitter/);
  });
});
