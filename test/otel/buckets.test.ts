// The time-in-queue buckets: where a value lands (OpenTelemetry's explicit buckets are
// upper-inclusive), and that aggregating in place gives what the SDK's own histogram gives
// for the same values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { BucketHistogram, DURATION_BOUNDARIES } from '../../src/otel/buckets.js';

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** The bucket index `value` lands in, read back from a histogram that holds it alone. */
function bucketOf(value: number): number {
  const histogram = new BucketHistogram(DURATION_BOUNDARIES);
  histogram.record(value);
  return histogram.snapshot().buckets.counts.indexOf(1);
}

/** What the SDK's histogram, advised the same boundaries, holds after `record`ing each value. */
async function sdkHistogram(values: readonly number[]): Promise<Histogram | undefined> {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const histogram = provider.getMeter('t').createHistogram('h', { unit: 's', advice: { explicitBucketBoundaries: [...DURATION_BOUNDARIES] } });
  for (const value of values) histogram.record(value, { a: 'x' });
  const { resourceMetrics } = await reader.collect();
  const point = resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints[0] as DataPoint<Histogram> | undefined;
  await provider.shutdown();
  return point?.value;
}

describe('BucketHistogram', () => {
  it('puts a value on a boundary in the bucket it closes: (b[i-1], b[i]]', () => {
    assert.equal(bucketOf(0), 0);
    assert.equal(bucketOf(0.005), 0, '0.005 closes the first bucket');
    assert.equal(bucketOf(0.0050001), 1);
    assert.equal(bucketOf(0.01), 1);
    assert.equal(bucketOf(1), 9);
    assert.equal(bucketOf(10), 13, 'the last boundary closes the last finite bucket');
    assert.equal(bucketOf(10.000001), 14, 'past the last boundary: the +Inf bucket');
    assert.equal(bucketOf(1e9), 14);
  });

  it('keeps sum, count, min and max, and has one more bucket than boundaries', () => {
    const histogram = new BucketHistogram(DURATION_BOUNDARIES);
    for (const value of [0.2, 0.003, 12, 0.2]) histogram.record(value);
    const snapshot = histogram.snapshot();
    assert.equal(snapshot.buckets.counts.length, DURATION_BOUNDARIES.length + 1);
    assert.deepEqual(snapshot.buckets.boundaries, [...DURATION_BOUNDARIES]);
    assert.equal(snapshot.count, 4);
    assert.equal(snapshot.sum, 0.2 + 0.003 + 12 + 0.2);
    assert.equal(snapshot.min, 0.003);
    assert.equal(snapshot.max, 12);
    assert.deepEqual(snapshot.buckets.counts, [1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('drops what the SDK drops: NaN and negative values', () => {
    const histogram = new BucketHistogram(DURATION_BOUNDARIES);
    histogram.record(Number.NaN);
    histogram.record(-0.5);
    assert.equal(histogram.size, 0);
  });

  it('holds what one SDK record per value holds: the same buckets, sum, count, min and max (property)', async () => {
    // Boundaries themselves, and their neighbours, are where an off-by-one would show.
    const onEdge = fc.constantFrom(...DURATION_BOUNDARIES.flatMap((b) => [b, b - 1e-12, b + 1e-12, b / 2]));
    const value = fc.oneof(onEdge, fc.double({ min: 0, max: 30, noNaN: true }), fc.integer({ min: 0, max: 20_000 }).map((ms) => ms / 1000));
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 60 }), async (values) => {
        const ours = new BucketHistogram(DURATION_BOUNDARIES);
        for (const v of values) ours.record(v);
        const mine = ours.snapshot();
        const sdk = (await sdkHistogram(values))!;
        assert.deepEqual(mine.buckets, sdk.buckets);
        assert.equal(mine.count, sdk.count);
        assert.equal(mine.sum, sdk.sum);
        assert.equal(mine.min, sdk.min);
        assert.equal(mine.max, sdk.max);
      }),
      { numRuns: 200 },
    );
  });
});
