import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, RateLimiter } from '../../src/index.js';
import { ArrivalMargin } from '../../src/adaptive/arrival-margin.js';

/** A request sent at `sentAt` and answered at `now`, as sluiceFetch reports both to the margin. */
function answer(margin: ArrivalMargin, sentAt: number, now: number, throttled: boolean, atLimit: boolean): ReturnType<ArrivalMargin['observe']> {
  margin.sent(sentAt);
  return margin.observe(sentAt, now, throttled, atLimit);
}

/** A limiter of 50/1s with a 20 ms floor, its margin, and `n` answered sends every `gapMs` from 0. */
function sending(n: number, gapMs: number): { limiter: RateLimiter; margin: ArrivalMargin; last: number } {
  const limiter = new RateLimiter({ limits: '50/1s', arrivalJitter: 20, clock: new ManualClock() });
  const margin = new ArrivalMargin(limiter);
  let at = 0;
  for (let i = 0; i < n; i++, at += gapMs) assert.equal(answer(margin, at, at + 5, false, true), undefined);
  return { limiter, margin, last: at - gapMs };
}

describe('ArrivalMargin: a 429 while the whole rate was in use widens the margin', () => {
  it('a 429 of a request sent at the full rate is a surprise: the margin doubles and every window counts with it', () => {
    const { limiter, margin, last } = sending(60, 20);
    assert.equal(answer(margin, last + 20, last + 25, true, true), 'surprise');
    assert.equal(margin.jitterMs, 40);
    assert.equal(limiter.limits[0]!.jitterMs, 40);
  });

  it('a 429 while sending at a quarter of the limit is a throttle: the limit is lower than ours, the margin stays', () => {
    const { limiter, margin, last } = sending(60, 80);
    assert.equal(answer(margin, last + 80, last + 85, true, true), 'throttle');
    assert.equal(margin.jitterMs, 20);
    assert.equal(limiter.limits[0]!.jitterMs, 20);
  });

  it('a 429 while probing below the configured rate after a cut is a throttle', () => {
    const { margin, last } = sending(60, 20);
    assert.equal(answer(margin, last + 20, last + 25, true, false), 'throttle');
    assert.equal(margin.jitterMs, 20);
  });

  it('a 429 of a request sent before the last widening was in flight: the same news, not widened again', () => {
    const { margin, last } = sending(60, 20);
    assert.equal(answer(margin, last + 20, last + 30, true, true), 'surprise');
    assert.equal(answer(margin, last + 25, last + 35, true, true), 'surprise');
    assert.equal(margin.jitterMs, 40);
  });

  it('widens up to 10 % of the pacing interval; a 429 it cannot absorb then is a throttle', () => {
    const { margin } = sending(60, 20);
    const widths: number[] = [];
    let at = 60 * 20;
    for (let i = 0; i < 5; i++) {
      for (let k = 0; k < 60; k++, at += 20) answer(margin, at, at + 5, false, true);
      const kind = answer(margin, at, at + 5, true, true);
      widths.push(margin.jitterMs);
      if (i < 3) assert.equal(kind, 'surprise');
      else assert.equal(kind, 'throttle');
      at += 20;
    }
    assert.deepEqual(widths, [40, 80, 100, 100, 100]);
  });

  it('thirty windows without a surprise move it halfway back to the floor, and on to the floor', () => {
    const { limiter, margin, last } = sending(60, 20);
    answer(margin, last + 20, last + 25, true, true);
    assert.equal(margin.jitterMs, 40);
    let at = last + 40;
    const seen: number[] = [];
    for (; at < last + 200_000; at += 20) {
      answer(margin, at, at + 5, false, true);
      if (seen.at(-1) !== margin.jitterMs) seen.push(margin.jitterMs);
    }
    assert.deepEqual(seen, [40, 30, 25, 22.5, 21.25, 20]);
    assert.equal(limiter.limits[0]!.jitterMs, 20, 'back to the limit’s own');
  });

  it('above 512 per window it judges the rate over the latest 512 sends', () => {
    const limiter = new RateLimiter({ limits: '2000/1s', arrivalJitter: 20, clock: new ManualClock() });
    const margin = new ArrivalMargin(limiter);
    let at = 0;
    for (let i = 0; i < 600; i++, at += 0.5) answer(margin, at, at, false, true);
    assert.equal(answer(margin, at, at, true, true), 'surprise', '2000/s: the whole rate');
    const slow = new ArrivalMargin(new RateLimiter({ limits: '2000/1s', arrivalJitter: 20, clock: new ManualClock() }));
    at = 0;
    for (let i = 0; i < 600; i++, at += 1) answer(slow, at, at, false, true);
    assert.equal(answer(slow, at, at, true, true), 'throttle', '1000/s: half of it');
  });
});

describe("ArrivalMargin: a server's remaining 0 that our own sends explain", () => {
  it('a full window of our own sends explains it; half of one does not', () => {
    const { margin, last } = sending(60, 20);
    // 50 sends in the last second, 20 ms apart: the server's 50 are ours.
    assert.equal(margin.fillsServerWindow(last, 50, 1000), true);
    assert.equal(margin.fillsServerWindow(last, undefined, undefined), true, 'no stated limit: 90 % of our own');
    const half = sending(60, 40);
    assert.equal(half.margin.fillsServerWindow(half.last, 50, 1000), false, 'we sent 25: others used the rest');
  });

  it('counts sends still in flight (recorded when they leave, not when answered)', () => {
    const limiter = new RateLimiter({ limits: '10/1s', clock: new ManualClock() });
    const margin = new ArrivalMargin(limiter);
    for (let at = 0; at < 1000; at += 100) margin.sent(at);
    assert.equal(margin.fillsServerWindow(900, 10, 1000), true);
  });
});
