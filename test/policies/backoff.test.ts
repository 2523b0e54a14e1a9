import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Backoff, constant, decorrelatedJitter, exponential } from '../../src/policies/index.js';
import { ConfigError } from '../../src/core/errors.js';
import { seeded } from './helpers.js';

/** The first `n` delays of a schedule, passing each delay back as `previousMs` as retry does. */
function delays(schedule: Backoff, n: number, random: () => number = () => 0.5): number[] {
  const out: number[] = [];
  let previousMs = 0;
  for (let retry = 1; retry <= n; retry++) {
    previousMs = schedule.delay({ retry, previousMs, random });
    out.push(previousMs);
  }
  return out;
}

describe('backoff schedules', () => {
  it('constant gives the same delay every time', () => {
    assert.deepEqual(delays(constant(250), 4), [250, 250, 250, 250]);
  });

  it('exponential doubles from the initial delay, and cap bounds it', () => {
    assert.deepEqual(delays(exponential(100), 5), [100, 200, 400, 800, 1600]);
    assert.deepEqual(delays(exponential(100, 3).cap(1000), 4), [100, 300, 900, 1000]);
  });

  it('full jitter scales the delay by the injected random', () => {
    assert.deepEqual(delays(exponential(100).fullJitter(), 3, () => 0.25), [25, 50, 100]);
    assert.deepEqual(delays(exponential(100).equalJitter(), 2, () => 0), [50, 100]);
  });

  it('decorrelated jitter draws from [initial, 3 × previous]', () => {
    assert.deepEqual(delays(decorrelatedJitter(100), 3, () => 0), [100, 100, 100]);
    // random 0.5: 100 + (3·100 − 100)/2 = 200, then 100 + (600 − 100)/2 = 350, then 575, capped at 500.
    assert.deepEqual(delays(decorrelatedJitter(100), 3), [200, 350, 575]);
    assert.deepEqual(delays(decorrelatedJitter(100).cap(500), 4), [200, 350, 500, 500]);
  });

  it('is immutable: combinators return new schedules and one schedule serves any number of sequences', () => {
    const base = exponential(100);
    const capped = base.cap(150);
    assert.notEqual(base, capped);
    assert.deepEqual(delays(base, 3), [100, 200, 400]);
    assert.deepEqual(delays(capped, 3), [100, 150, 150]);
    assert.deepEqual(delays(base, 3), [100, 200, 400]);
  });

  it('never gives NaN, a negative or an infinite delay', () => {
    assert.equal(Backoff.from(() => Number.NaN).delay({ retry: 1, previousMs: 0, random: Math.random }), 0);
    assert.equal(Backoff.from(() => -5).delay({ retry: 1, previousMs: 0, random: Math.random }), 0);
    assert.equal(exponential(100).delay({ retry: 5000, previousMs: 0, random: Math.random }), Number.MAX_VALUE);
    assert.equal(exponential(100).cap(60_000).delay({ retry: 5000, previousMs: 0, random: Math.random }), 60_000);
  });

  it('rejects bad options with a ConfigError naming the field', () => {
    assert.throws(() => constant(-1), (e: unknown) => e instanceof ConfigError && e.field === 'constant');
    assert.throws(() => exponential(100, 0.5), ConfigError);
    assert.throws(() => exponential(100).cap(Number.NaN), ConfigError);
  });

  it('property: every combination capped at C gives delays within [0, C]', () => {
    const base = fc.oneof(
      fc.nat({ max: 100_000 }).map((ms) => constant(ms)),
      fc.tuple(fc.nat({ max: 10_000 }), fc.double({ min: 1, max: 10, noNaN: true })).map(([ms, f]) => exponential(ms, f)),
      fc.nat({ max: 10_000 }).map((ms) => decorrelatedJitter(ms)),
    );
    const jitter = fc.constantFrom<(b: Backoff) => Backoff>((b) => b, (b) => b.fullJitter(), (b) => b.equalJitter());
    fc.assert(
      fc.property(base, jitter, jitter, fc.nat({ max: 120_000 }), fc.integer({ min: 1, max: 60 }), fc.integer(), (b, j1, j2, cap, n, seed) => {
        // Jitter may come before or after the cap; either way the cap holds.
        for (const schedule of [j2(j1(b).cap(cap)), j1(b).cap(cap), j1(b.cap(cap))]) {
          for (const d of delays(schedule, n, seeded(seed))) assert.ok(d >= 0 && d <= cap, `delay ${d} outside [0, ${cap}]`);
        }
      }),
    );
  });
});
