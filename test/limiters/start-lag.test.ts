import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, preciseClock, RateLimiter, systemClock, type Clock } from '../../src/index.js';

/**
 * How long a limiter's own store counts the two starts of a full `2/1s` window made at 0:
 * asked again at 1000 ms, 1 ms more with a start lag of 1 ms, nothing more without one.
 * `arrivalJitter: 0` by default here, so the start lag alone shows (test/algorithms/arrival-jitter.test.ts
 * has the margin carried on to the server).
 */
function waitAtWindowEnd(clock: Clock, arrivalJitter: number | 'default' = 0): number {
  const limiter = new RateLimiter({ limits: { rate: '2/1s', burst: 2 }, clock, ...(arrivalJitter === 'default' ? {} : { arrivalJitter }) });
  const { store, key, limits } = limiter;
  store.reserve(key, limits, 1, 0);
  store.reserve(key, limits, 1, 0);
  return store.reserve(key, limits, 1, 1000) as number;
}

describe('RateLimiter start lag (Clock.startLagMs)', () => {
  it('counts sliding-window starts 1 ms longer on real time, on ManualClock exactly', () => {
    assert.equal(waitAtWindowEnd(systemClock), 1);
    assert.equal(waitAtWindowEnd(preciseClock), 1);
    assert.equal(waitAtWindowEnd(new ManualClock()), 0);
  });

  it('is the floor of the arrival jitter: a start is counted the larger of the two longer, 20 ms by default on real time', () => {
    assert.equal(waitAtWindowEnd(systemClock, 'default'), 20);
    assert.equal(waitAtWindowEnd(systemClock, 0.5), 1, 'a jitter below the start lag: the lag');
    assert.equal(waitAtWindowEnd(new ManualClock(), 'default'), 0);
  });

  it('is the clock\'s own property, so a clock that wraps the system clock keeps it', () => {
    const wrapped: Clock = { ...systemClock, timer: (callback, ms) => systemClock.timer(callback, Math.max(ms, 1)) };
    assert.equal(waitAtWindowEnd(wrapped), 1, 'a copy of systemClock with a timer of its own');
    assert.equal(waitAtWindowEnd(Object.create(systemClock) as Clock), 1, 'a clock inheriting from systemClock');
    assert.equal(waitAtWindowEnd({ ...systemClock, startLagMs: 0 }), 0, 'a clock that says 0');
  });

  it('a limiter on a wrapped system clock refuses a start the lag still counts, as on the system clock', async () => {
    const manual = new ManualClock();
    // The system clock's every property, time read from a manual clock so the test is exact.
    const wrapped: Clock = { ...systemClock, now: () => manual.now(), sleep: (ms, signal) => manual.sleep(ms, signal), timer: (callback, ms) => manual.timer(callback, ms) };
    const limiter = new RateLimiter({ limits: { rate: '2/1s', burst: 2 }, clock: wrapped, arrivalJitter: 0 });
    assert.equal((await limiter.tryAcquire()).granted, true);
    assert.equal((await limiter.tryAcquire()).granted, true);
    await manual.advance(1000);
    assert.deepEqual(await limiter.tryAcquire(), { granted: false, retryAfterMs: 1 });
    await manual.advance(1);
    assert.equal((await limiter.tryAcquire()).granted, true);
  });
});
