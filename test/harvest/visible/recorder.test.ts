import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/clock.js';
import { HarvestRecorder } from '../../../src/harvest/visible/index.js';

/** A recorder whose clock starts away from zero, so relative times are really relative. */
function setup(options: { resumed?: { records: number; pages: number; bytes: number }; bucketMs?: number } = {}) {
  const clock = new ManualClock(10_000);
  return { clock, recorder: new HarvestRecorder({ clock, ...options }), t0: 10_000 };
}

describe('HarvestRecorder counts', () => {
  it('counts requests, responses by status, 429s, failures, retries and pages', async () => {
    const { clock, recorder, t0 } = setup();
    for (let i = 0; i < 5; i++) recorder.requestStarted(t0 + i);
    recorder.responseReceived(t0 + 10, 200, 50);
    recorder.responseReceived(t0 + 11, 200, 60);
    recorder.responseReceived(t0 + 12, 429, 5);
    recorder.responseReceived(t0 + 13, 503, 70);
    recorder.requestFailed(t0 + 14, 30_000, 'timeout');
    recorder.retryScheduled(t0 + 14, 1000);
    recorder.retryScheduled(t0 + 14, 1000);
    recorder.pageDone(t0 + 15, 100, 4_000);
    recorder.pageDone(t0 + 16, 50, 2_000);
    recorder.pageFailed(t0 + 17, 'HTTP 503');
    recorder.concurrency(t0 + 18, 10, 3);
    recorder.rateLimit(t0 + 18, 20);
    await clock.advance(2_000);
    const s = recorder.snapshot();
    assert.equal(s.elapsedMs, 2_000);
    assert.equal(s.requests, 5);
    assert.deepEqual(s.statuses, { '200': 2, '429': 1, '503': 1 });
    assert.equal(s.throttled, 1);
    assert.equal(s.networkErrors, 1);
    assert.equal(s.retries, 2);
    assert.equal(s.failedPages, 1);
    assert.equal(s.records, 150);
    assert.equal(s.pages, 2);
    assert.equal(s.bytes, 6_000);
    assert.equal(s.averageRate, 2.5);
    assert.equal(s.recordRate, 75);
    assert.equal(s.rateLimit, 20);
    assert.equal(s.concurrencyLimit, 10);
    assert.equal(s.inFlight, 3);
    assert.equal(s.pausedUntil, undefined);
    assert.equal(s.etaMs, undefined, 'no totals, no ETA');
  });

  it('counts resumed work in the totals but not in this run’s record rate', async () => {
    const { clock, recorder, t0 } = setup({ resumed: { records: 1_000, pages: 10, bytes: 50_000 } });
    recorder.pageDone(t0 + 1, 100, 5_000);
    await clock.advance(1_000);
    const s = recorder.snapshot();
    assert.equal(s.records, 1_100);
    assert.equal(s.pages, 11);
    assert.equal(s.bytes, 55_000);
    assert.equal(s.resumedRecords, 1_000);
    assert.equal(s.resumedPages, 10);
    assert.equal(s.recordRate, 100);
  });

  it('an event stamped before the recorder was built counts at the start', () => {
    const { recorder, t0 } = setup();
    recorder.requestStarted(t0 - 500);
    assert.equal(recorder.snapshot().recentRate, 1);
    assert.deepEqual(recorder.timeline().map((p) => p.requests), [1]);
  });

  it('a bucket width that is not a positive number is refused', () => {
    for (const bucketMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => new HarvestRecorder({ clock: new ManualClock(), bucketMs }), RangeError);
    }
  });

  it('a snapshot at the first instant reports rates of 0, not NaN or Infinity', () => {
    const { recorder, t0 } = setup();
    recorder.requestStarted(t0);
    const s = recorder.snapshot();
    assert.equal(s.averageRate, 0);
    assert.equal(s.recordRate, 0);
    assert.ok(Number.isFinite(s.recentRate));
  });
});

describe('HarvestRecorder latency percentiles', () => {
  it('p50 and p95 of 1..1000 ms are within 2 % (the histogram’s bin width)', () => {
    const { recorder, t0 } = setup();
    // Shuffled order: the histogram must not depend on arrival order.
    for (let i = 0; i < 1000; i++) recorder.responseReceived(t0, 200, ((i * 617) % 1000) + 1);
    const s = recorder.snapshot();
    assert.ok(Math.abs(s.latencyP50Ms! - 500) / 500 <= 0.02, `p50 ${s.latencyP50Ms}`);
    assert.ok(Math.abs(s.latencyP95Ms! - 950) / 950 <= 0.02, `p95 ${s.latencyP95Ms}`);
  });

  it('no responses, no percentiles; failed attempts do not count as latency', () => {
    const { recorder, t0 } = setup();
    recorder.requestFailed(t0, 30_000, 'timeout');
    const s = recorder.snapshot();
    assert.equal(s.latencyP50Ms, undefined);
    assert.equal(s.latencyP95Ms, undefined);
  });

  it('a single latency is reported exactly (answers are clamped to what was seen)', () => {
    const { recorder, t0 } = setup();
    recorder.responseReceived(t0, 200, 123.4);
    assert.equal(recorder.snapshot().latencyP50Ms, 123.4);
    assert.equal(recorder.snapshot().latencyP95Ms, 123.4);
  });
});

describe('HarvestRecorder recent rate', () => {
  it('is the rate of the last 5 s: exact when steady, decaying to 0 when requests stop', async () => {
    const { clock, recorder } = setup();
    for (let i = 0; i < 200; i++) {
      recorder.requestStarted(clock.now());
      await clock.advance(50); // 20/s for 10 s
    }
    assert.equal(recorder.snapshot().recentRate, 20);
    await clock.advance(2_000);
    const decaying = recorder.snapshot().recentRate;
    assert.ok(decaying > 0 && decaying < 20, `2 s after the last request: ${decaying}`);
    await clock.advance(4_000);
    assert.equal(recorder.snapshot().recentRate, 0);
    assert.equal(recorder.snapshot().averageRate, 200 / 16);
  });

  it('early in a run a burst is not reported as a huge rate', () => {
    const { recorder, t0 } = setup();
    for (let i = 0; i < 5; i++) recorder.requestStarted(t0);
    assert.equal(recorder.snapshot().recentRate, 5, 'five requests in the first ms read as 5/s, not 5,000/s');
  });
});

describe('HarvestRecorder ETA', () => {
  it('divides what is left by this run’s pace', async () => {
    const { clock, recorder, t0 } = setup();
    recorder.totals(t0, { records: 1_000, pages: 10 });
    await clock.advance(10_000);
    recorder.pageDone(clock.now(), 200, 1);
    assert.equal(recorder.snapshot().etaMs, 40_000, '800 left at 20/s');
  });

  it('uses pages when only the page total is known', async () => {
    const { clock, recorder, t0 } = setup();
    recorder.totals(t0, { pages: 10 });
    await clock.advance(4_000);
    recorder.pageDone(clock.now(), 123, 1);
    recorder.pageDone(clock.now(), 7, 1);
    assert.equal(recorder.snapshot().etaMs, 16_000, '8 pages left at 0.5 pages/s');
  });

  it('counts resumed work as done but not in the pace', async () => {
    const { clock, recorder, t0 } = setup({ resumed: { records: 500, pages: 5, bytes: 0 } });
    recorder.totals(t0, { records: 1_000 });
    await clock.advance(10_000);
    recorder.pageDone(clock.now(), 100, 1);
    assert.equal(recorder.snapshot().etaMs, 40_000, '400 left at 10/s');
  });

  it('leaves paused time out of the pace and adds what is left of a pause', async () => {
    const { clock, recorder, t0 } = setup();
    recorder.totals(t0, { records: 1_000 });
    await clock.advance(5_000);
    recorder.pageDone(clock.now(), 100, 1);
    recorder.pauseStarted(clock.now(), clock.now() + 30_000, 'quota');
    await clock.advance(10_000);
    const paused = recorder.snapshot();
    assert.equal(paused.pausedUntil, t0 + 35_000);
    assert.equal(paused.pausedMs, 10_000);
    assert.equal(paused.etaMs, 45_000 + 20_000, '900 left at 20/s, plus 20 s of pause');
    await clock.advance(20_000);
    recorder.pauseEnded(clock.now());
    const after = recorder.snapshot();
    assert.equal(after.pausedUntil, undefined);
    assert.equal(after.pausedMs, 30_000);
    assert.equal(after.etaMs, 45_000);
  });

  it('is 0 once the total is reached, and unknown before this run did anything', async () => {
    const { clock, recorder, t0 } = setup({ resumed: { records: 10, pages: 1, bytes: 0 } });
    recorder.totals(t0, { records: 20 });
    await clock.advance(1_000);
    assert.equal(recorder.snapshot().etaMs, undefined);
    recorder.pageDone(clock.now(), 10, 1);
    assert.equal(recorder.snapshot().etaMs, 0);
  });
});

describe('HarvestRecorder pauses', () => {
  it('a pause started while paused moves the end and is counted once; a stray end is ignored', async () => {
    const { clock, recorder, t0 } = setup();
    recorder.pauseEnded(t0);
    recorder.pauseStarted(t0, t0 + 5_000, 'quota');
    await clock.advance(2_000);
    recorder.pauseStarted(clock.now(), t0 + 8_000, 'quota again');
    await clock.advance(6_000);
    recorder.pauseEnded(clock.now());
    recorder.pauseEnded(clock.now());
    const s = recorder.snapshot();
    assert.equal(s.pausedMs, 8_000);
    assert.equal(s.pausedUntil, undefined);
    // Paused over [0, 8 s): buckets 0..7; bucket 8 starts as the pause ends.
    const flags = recorder.timeline().map((p) => p.paused);
    assert.deepEqual(flags, [true, true, true, true, true, true, true, true, false]);
  });
});
