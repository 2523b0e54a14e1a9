import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AdaptiveRate } from '../../src/adaptive/adaptive-rate.js';
import { RateAdaptation, type RateSignal } from '../../src/algorithms/rate-adaptation.js';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';
import { ManualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';

const ok = (now: number, extra: Partial<RateSignal> = {}): RateSignal => ({ sentAt: now - 1, now, throttled: false, ...extra });
const throttle = (sentAt: number, now: number, extra: Partial<RateSignal> = {}): RateSignal => ({ sentAt, now, throttled: true, ...extra });
const near = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

describe('RateAdaptation (CUBIC for an unknown limit)', () => {
  it('keeps the configured rate until the first throttle, which cuts by beta without a pause', () => {
    const a = new RateAdaptation({ initial: 100 });
    assert.deepEqual(a.observe(ok(500)), { rate: 100, pauseUntil: Number.NEGATIVE_INFINITY, mode: 'probing' });
    assert.deepEqual(a.observe(throttle(1990, 2000)), { rate: 80, pauseUntil: Number.NEGATIVE_INFINITY, mode: 'probing' });
  });

  it('ignores throttles of requests sent before the previous throttle arrived (in flight when we reacted)', () => {
    const a = new RateAdaptation({ initial: 100 });
    a.observe(throttle(990, 1000));
    assert.deepEqual(a.observe(throttle(995, 1003)), { rate: 80, pauseUntil: Number.NEGATIVE_INFINITY, mode: 'probing' });
  });

  it('throttles in a row do not cut again but pause backoffMs, doubling; a success ends the run', () => {
    const a = new RateAdaptation({ initial: 100, backoffMs: 50 });
    a.observe(throttle(0, 10));
    assert.deepEqual(a.observe(throttle(20, 30)), { rate: 80, pauseUntil: 80, mode: 'probing' });
    assert.equal(a.observe(throttle(80, 90)).pauseUntil, 190);
    a.observe(ok(200));
    assert.equal(a.observe(throttle(300, 310)).pauseUntil, 190, 'the first throttle after a success only cuts');
    assert.equal(a.observe(throttle(320, 330)).pauseUntil, 380);
  });

  it('cuts from the successes of the last second when fewer than the rate, then climbs the cubic back to them', () => {
    const a = new RateAdaptation({ initial: 200 });
    for (let i = 0; i < 50; i++) a.observe(ok(500 + i));
    // At 1000 the last second held 50 successes: wMax 50, rate 40.
    near(a.observe(throttle(999, 1000)).rate, 40, 'rate after the cut');
    // Back at wMax after K = ∛(wMax·(1−β)/C) seconds, flat there, then probing above.
    const k = Math.cbrt((50 * 0.2) / 0.4);
    near(a.observe(ok(1000 + k * 1000)).rate, 50, 'rate at K');
    near(a.observe(ok(1000 + (k + 1) * 1000)).rate, 50.4, 'rate at K + 1 s');
  });

  it('probing never passes the configured rate, and cuts never go below min', () => {
    const a = new RateAdaptation({ initial: 10, min: 2 });
    let now = 0;
    for (let i = 0; i < 20; i++) {
      a.observe(ok((now += 10)));
      a.observe(throttle(now, (now += 10)));
    }
    assert.equal(a.current.rate, 2);
    assert.equal(a.observe(ok(now + 3_600_000)).rate, 10);
  });

  it('a Retry-After pauses until then, even for a stale throttle; remaining 0 pauses until the reset on a success', () => {
    const a = new RateAdaptation({ initial: 100 });
    a.observe(throttle(0, 10, { retryAfterMs: 2000 }));
    assert.equal(a.current.pauseUntil, 2010);
    assert.equal(a.observe(throttle(5, 20, { retryAfterMs: 3000 })).pauseUntil, 3020);
    assert.equal(a.observe(ok(4000, { remaining: 0, resetMs: 750 })).pauseUntil, 4750);
    assert.equal(a.observe(ok(4100, { remaining: 3, resetMs: 750 })).pauseUntil, 4750, 'a quota with room adds no pause');
  });

  it('no pause is longer than maxPauseMs', () => {
    const a = new RateAdaptation({ initial: 100, maxPauseMs: 5000 });
    assert.equal(a.observe(throttle(0, 10, { retryAfterMs: 3_600_000 })).pauseUntil, 5010);
  });

  it('adopts a stated limit less the margin and one request, stays there through throttles, follows a change, and keeps the ceiling', () => {
    const a = new RateAdaptation({ initial: 200 });
    assert.deepEqual(a.observe(ok(10, { limit: 50, windowMs: 1000, remaining: 40 })), { rate: 48, pauseUntil: Number.NEGATIVE_INFINITY, mode: 'stated' });
    const step = a.observe(throttle(20, 30, { limit: 50, windowMs: 1000, remaining: 0, resetMs: 400 }));
    assert.equal(step.rate, 48, 'a throttle under a stated limit pauses but does not cut');
    assert.equal(step.pauseUntil, 430);
    near(a.observe(ok(500, { limit: 6000, windowMs: 60_000 })).rate, 5879 / 60, '6000/min: 5880 less one per minute');
    assert.equal(a.observe(ok(600, { limit: 1000, windowMs: 1000 })).rate, 200, 'never above the configured rate');
  });

  it('options are checked: ConfigError names the field', () => {
    for (const [options, field] of [
      [{ initial: 0 }, 'initial'],
      [{ initial: 10, beta: 1 }, 'beta'],
      [{ initial: 10, margin: -0.1 }, 'margin'],
      [{ initial: 10, backoffMs: Number.NaN }, 'backoffMs'],
      [{ initial: 10, scale: -1 }, 'scale'],
    ] as const) {
      assert.throws(() => new RateAdaptation(options), (e: unknown) => e instanceof ConfigError && e.field === field);
    }
  });

  it('property: on any feedback sequence the rate stays in [min, initial] and no pause exceeds maxPauseMs', () => {
    const signal = fc.record({
      dt: fc.integer({ min: 0, max: 5000 }),
      lag: fc.integer({ min: 0, max: 3000 }),
      throttled: fc.boolean(),
      retryAfterMs: fc.option(fc.integer({ min: 0, max: 10 ** 9 }), { nil: undefined }),
      remaining: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      resetMs: fc.option(fc.integer({ min: 0, max: 10 ** 9 }), { nil: undefined }),
      limit: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
      windowMs: fc.option(fc.integer({ min: 1, max: 3_600_000 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(signal, { maxLength: 60 }), (steps) => {
        const a = new RateAdaptation({ initial: 100, min: 1, maxPauseMs: 10_000 });
        let now = 0;
        for (const s of steps) {
          now += s.dt;
          const { dt: _dt, lag, ...rest } = s;
          const step = a.observe({ ...dropUndefined(rest), throttled: s.throttled, now, sentAt: now - lag });
          if (!(step.rate >= 1 && step.rate <= 100)) return false;
          if (step.pauseUntil - now > 10_000) return false;
        }
        return true;
      }),
    );
  });
});

describe('AdaptiveRate (applies the steps to a RateLimiter)', () => {
  it('sets the pacing limit to the adapted rate and keeps longer limits', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: ['100/1s', '5000/1h'], clock });
    const adaptive = new AdaptiveRate(limiter, { clock });
    adaptive.observe(throttle(0, 1));
    assert.deepEqual(
      limiter.limits.map((s) => [s.limit, s.intervalMs]),
      [
        [80, 1000],
        [5000, 3_600_000],
      ],
    );
  });

  it('below one unit per interval, paces one per 1/rate', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '1/1s', clock });
    const adaptive = new AdaptiveRate(limiter, { clock, min: 0.1 });
    adaptive.observe(throttle(0, 1));
    assert.deepEqual([limiter.limits[0]!.limit, Math.round(limiter.limits[0]!.intervalMs)], [1, 1250]);
  });

  it('admit waits out a pause, including one that began while it queued', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '10/1s', clock });
    const adaptive = new AdaptiveRate(limiter, { clock });
    await adaptive.admit();
    adaptive.observe(throttle(0, 0, { retryAfterMs: 2000 }));
    let admittedAt = -1;
    const admitted = adaptive.admit().then(() => (admittedAt = clock.now()));
    await clock.advance(1999);
    assert.equal(admittedAt, -1);
    await clock.advance(1);
    await admitted;
    assert.equal(admittedAt, 2000);
  });

  it('admit rejects with the signal reason on abort during a pause', async () => {
    const clock = new ManualClock();
    const adaptive = new AdaptiveRate(new RateLimiter({ limits: '10/1s', clock }), { clock });
    adaptive.observe(throttle(0, 0, { retryAfterMs: 5000 }));
    const controller = new AbortController();
    const admitted = adaptive.admit(controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(admitted, /stop/);
  });
});

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
