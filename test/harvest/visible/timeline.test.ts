import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../../src/core/clock.js';
import type { TimelinePoint } from '../../../src/harvest/monitor.js';
import { BucketSeries } from '../../../src/harvest/visible/bucket-series.js';
import { HarvestRecorder } from '../../../src/harvest/visible/index.js';

const sum = (points: TimelinePoint[], key: 'requests' | 'throttled' | 'errors' | 'records'): number =>
  points.reduce((total, p) => total + p[key], 0);

/** Buckets are contiguous from 0 and equally wide, so the report can read time off atMs. */
function assertContiguous(points: TimelinePoint[]): void {
  if (points.length < 2) return;
  const width = points[1]!.atMs - points[0]!.atMs;
  points.forEach((p, i) => assert.equal(p.atMs, i * width));
}

describe('timeline buckets', () => {
  it('puts each event in the second it happened, with gauges carried across quiet seconds', async () => {
    const clock = new ManualClock(7_000);
    const recorder = new HarvestRecorder({ clock });
    recorder.rateLimit(7_000, 10);
    recorder.concurrency(7_000, 4, 1);
    recorder.requestStarted(7_100);
    recorder.responseReceived(7_600, 200, 500);
    recorder.pageDone(7_600, 50, 1);
    recorder.requestStarted(9_200);
    recorder.responseReceived(9_300, 429, 100);
    recorder.concurrency(9_300, 4, 3);
    recorder.requestFailed(9_400, 10, 'reset');
    recorder.responseReceived(9_500, 500, 100);
    await clock.advance(3_500);
    const points = recorder.timeline();
    assert.deepEqual(points.map((p) => p.atMs), [0, 1000, 2000, 3000]);
    assert.deepEqual(points.map((p) => p.requests), [1, 0, 1, 0]);
    assert.deepEqual(points.map((p) => p.records), [50, 0, 0, 0]);
    assert.deepEqual(points.map((p) => p.throttled), [0, 0, 1, 0]);
    assert.deepEqual(points.map((p) => p.errors), [0, 0, 2, 0], 'a failed attempt and a 500; a 429 is not an error');
    assert.deepEqual(points.map((p) => p.rateLimit), [10, 10, 10, 10]);
    assert.deepEqual(points.map((p) => p.inFlight), [1, 1, 3, 3], 'peak in the bucket, carried into quiet ones');
    assert.deepEqual(points.map((p) => p.latencyP50Ms), [500, undefined, 100, undefined]);
  });

  it('a bucket’s percentiles are within half a 25 % bin of the truth', () => {
    const clock = new ManualClock();
    const recorder = new HarvestRecorder({ clock });
    for (let ms = 101; ms <= 300; ms++) recorder.responseReceived(0, 200, ms);
    const [point] = recorder.timeline();
    const within = (got: number | undefined, want: number): boolean => got !== undefined && got / want <= Math.sqrt(1.25) && want / got <= Math.sqrt(1.25);
    assert.ok(within(point!.latencyP50Ms, 200), `p50 ${point!.latencyP50Ms}`);
    assert.ok(within(point!.latencyP95Ms, 290), `p95 ${point!.latencyP95Ms}`);
  });

  it('merging keeps counts, takes the later gauge, the higher peak, and any pause', () => {
    const series = new BucketSeries(1000, 4);
    series.rate(0, 5);
    series.concurrency(0, 2, 2);
    series.request(500);
    series.pause(1500, true);
    series.pause(1800, false);
    series.concurrency(1900, 8, 1);
    series.request(2500);
    series.records(3500, 7);
    series.rate(3600, 9);
    series.request(4100); // index 4 with 4 buckets max: everything merges into 2 s buckets
    const points = series.points();
    assert.equal(series.widthMs, 2000);
    assert.deepEqual(points.map((p) => p.atMs), [0, 2000, 4000]);
    assert.deepEqual(points.map((p) => p.requests), [1, 1, 1]);
    assert.deepEqual(points.map((p) => p.records), [0, 7, 0]);
    assert.deepEqual(points.map((p) => p.paused), [true, false, false]);
    assert.deepEqual(points.map((p) => p.concurrencyLimit), [8, 8, 8]);
    assert.deepEqual(points.map((p) => p.inFlight), [2, 1, 1]);
    assert.deepEqual(points.map((p) => p.rateLimit), [5, 9, 9]);
  });

  it('a 10 h run at 1 s buckets ends with 1,125 buckets of 32 s and every request counted', async () => {
    const clock = new ManualClock();
    const recorder = new HarvestRecorder({ clock });
    const hours = 10;
    for (let t = 0; t < hours * 3_600_000; t += 100) {
      recorder.requestStarted(t);
      recorder.responseReceived(t, 200, 50 + (t % 1000));
    }
    await clock.advance(hours * 3_600_000 - 1);
    const points = recorder.timeline();
    assert.equal(points.length, 1_125);
    assert.equal(points[1]!.atMs, 32_000);
    assert.equal(sum(points, 'requests'), hours * 36_000);
    assert.equal(recorder.snapshot().requests, hours * 36_000);
    assertContiguous(points);
  });
});

type Event =
  | { kind: 'request' | 'throttled' | 'error' | 'pause' | 'resume'; dt: number }
  | { kind: 'page'; dt: number; records: number }
  | { kind: 'concurrency'; dt: number; limit: number; inFlight: number };

const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constantFrom('request', 'throttled', 'error', 'pause', 'resume'), dt: fc.oneof(fc.nat(2_000), fc.nat(4_000_000)) }) as fc.Arbitrary<Event>,
  fc.record({ kind: fc.constant('page' as const), dt: fc.nat(3_000), records: fc.nat(500) }),
  fc.record({ kind: fc.constant('concurrency' as const), dt: fc.nat(3_000), limit: fc.integer({ min: 1, max: 64 }), inFlight: fc.nat(64) }),
);

describe('timeline guarantees (property)', () => {
  it('for any event stream: bucket totals equal the counted events, buckets are contiguous, and never more than 2,000', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 300 }), fc.integer({ min: 1, max: 5_000 }), async (events, bucketMs) => {
        const clock = new ManualClock(123_456);
        const recorder = new HarvestRecorder({ clock, bucketMs });
        let pausedNow = false;
        for (const e of events) {
          await clock.advance(e.dt);
          const now = clock.now();
          switch (e.kind) {
            case 'request': recorder.requestStarted(now); break;
            case 'throttled': recorder.responseReceived(now, 429, 10); break;
            case 'error': recorder.requestFailed(now, 10, 'x'); break;
            case 'page': recorder.pageDone(now, e.records, 1); break;
            case 'pause': recorder.pauseStarted(now, now + 1000, 'q'); pausedNow = true; break;
            case 'resume': recorder.pauseEnded(now); pausedNow = false; break;
            case 'concurrency': recorder.concurrency(now, e.limit, e.inFlight); break;
          }
        }
        const points = recorder.timeline();
        const s = recorder.snapshot();
        assert.ok(points.length >= 1 && points.length <= 2_000, `${points.length} buckets`);
        assertContiguous(points);
        assert.equal(sum(points, 'requests'), s.requests);
        assert.equal(sum(points, 'throttled'), s.throttled);
        assert.equal(sum(points, 'errors'), s.networkErrors);
        assert.equal(sum(points, 'records'), s.records);
        const last = points[points.length - 1]!;
        const width = points.length > 1 ? points[1]!.atMs : bucketMs;
        assert.ok(last.atMs <= s.elapsedMs && s.elapsedMs < last.atMs + width, 'the last bucket holds now');
        if (pausedNow) assert.equal(last.paused, true, 'an ongoing pause shows in the newest bucket');
      }),
      { numRuns: 300 },
    );
  });

  it('memory stays bounded for any run length: the bucket count never passes the cap', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e10, noNaN: true }), { maxLength: 200 }), fc.integer({ min: 2, max: 50 }), (times, cap) => {
        const series = new BucketSeries(1, cap);
        for (const t of times.sort((a, b) => a - b)) {
          series.request(t);
          assert.ok(series.length <= cap, `${series.length} > ${cap}`);
        }
        assert.equal(sum(series.points(), 'requests'), times.length);
      }),
      { numRuns: 300 },
    );
  });
});
