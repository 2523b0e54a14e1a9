// timeInQueue: a TimeInQueueProducer — the time-in-queue histogram counted in sluice's buckets and
// handed to a real OpenTelemetry SDK reader by the MetricProducer: the same series as one
// `record` per caller gives, in the SDK's own shapes, in Prometheus text, and gone once
// nothing observes its limiter.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { ManualClock } from '../../src/core/clock.js';
import { ConcurrencyLimiter } from '../../src/limiters/concurrency-limiter.js';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';
import { DURATION_BOUNDARIES, instrument, METRIC, TimeInQueueProducer, type Instrumentation } from '../../src/otel.js';

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** A reader with a producer wired in, as the docs' one line does, and `limiters` measured into it. */
function aggregated(limiters: (RateLimiter | ConcurrencyLimiter)[]): { reader: TestReader; provider: MeterProvider; metrics: Instrumentation } {
  const timeInQueue = new TimeInQueueProducer();
  const reader = new TestReader({ metricProducers: [timeInQueue] });
  const provider = new MeterProvider({ readers: [reader] });
  const metrics = instrument({ meterProvider: provider, observe: limiters, fetch: false, resilience: false, timeInQueue });
  return { reader, provider, metrics };
}

/** The time-in-queue data points a reader collects, by `limiter|result`. */
async function queueTimes(reader: MetricReader): Promise<Map<string, Histogram>> {
  const { resourceMetrics } = await reader.collect();
  const found = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === METRIC.timeInQueue);
  assert.ok(found.length <= 1, 'one time-in-queue metric, never two');
  const byKey = new Map<string, Histogram>();
  for (const point of (found[0]?.dataPoints ?? []) as DataPoint<Histogram>[]) {
    byKey.set(`${point.attributes[METRIC.limiterAttr]}|${point.attributes[METRIC.resultAttr]}`, point.value);
  }
  return byKey;
}

/** A waiting caller of a ConcurrencyLimiter of one slot, admitted after `ms`. */
async function waitOnce(limiter: ConcurrencyLimiter, clock: ManualClock, ms: number): Promise<void> {
  const first = await limiter.acquire();
  const second = limiter.acquire();
  await clock.advance(ms);
  first.release();
  (await second).release();
}

describe('sluice/otel time in queue, aggregated (TimeInQueueProducer)', () => {
  it('is the type an SDK reader takes', async () => {
    // Compiles only if sluice's own shapes (src/otel/metric-data.ts) fit the SDK's.
    const producer: MetricProducer = new TimeInQueueProducer();
    assert.deepEqual((await producer.collect()).resourceMetrics.scopeMetrics, []);
  });

  it('gives a reader a cumulative histogram per limiter and result, under the metric name, unit s, scope sluice, with the advised buckets', async () => {
    const clock = new ManualClock();
    const limiter = new ConcurrencyLimiter({ limit: 1, name: 'db', clock });
    const { reader, provider, metrics } = aggregated([limiter]);
    await waitOnce(limiter, clock, 30);
    await waitOnce(limiter, clock, 5);
    const { resourceMetrics } = await reader.collect();
    const scopes = resourceMetrics.scopeMetrics.filter((s) => s.metrics.some((m) => m.descriptor.name === METRIC.timeInQueue));
    assert.equal(scopes.length, 1);
    assert.equal(scopes[0]!.scope.name, 'sluice');
    const metric = scopes[0]!.metrics.find((m) => m.descriptor.name === METRIC.timeInQueue)!;
    assert.equal(metric.descriptor.unit, 's');
    assert.equal(metric.dataPointType, DataPointType.HISTOGRAM);
    assert.equal(metric.aggregationTemporality, AggregationTemporality.CUMULATIVE);
    const [point] = metric.dataPoints as DataPoint<Histogram>[];
    assert.deepEqual(point!.attributes, { [METRIC.limiterAttr]: 'db', [METRIC.resultAttr]: 'acquired' });
    assert.deepEqual(point!.value.buckets.boundaries, [...DURATION_BOUNDARIES]);
    // 5 ms closes the first bucket (upper-inclusive); 30 ms lands in (0.025, 0.05].
    assert.deepEqual(point!.value.buckets.counts, [1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(point!.value.count, 2);
    assert.equal(point!.value.sum, 0.03 + 0.005);
    assert.equal(point!.value.min, 0.005);
    assert.equal(point!.value.max, 0.03);
    metrics.dispose();
    await provider.shutdown();
  });

  it('shows in Prometheus text as _bucket{le=…}, _sum and _count series with the limiter, result and otel_scope_name labels', async () => {
    const clock = new ManualClock();
    const limiter = new ConcurrencyLimiter({ limit: 1, name: 'db', clock });
    const timeInQueue = new TimeInQueueProducer();
    const exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [timeInQueue] });
    const provider = new MeterProvider({ readers: [exporter] });
    const metrics = instrument({ meterProvider: provider, observe: [limiter], fetch: false, resilience: false, timeInQueue });
    await waitOnce(limiter, clock, 300);
    const server = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
      const series = (suffix: string): string[] => text.split('\n').filter((line) => line.startsWith(`sluice_rate_limiting_request_time_in_queue_${suffix}{`));
      const buckets = series('bucket');
      assert.equal(buckets.length, DURATION_BOUNDARIES.length + 1);
      const labels = 'sluice_rate_limiting_limiter="db",sluice_rate_limiting_result="acquired",otel_scope_name="sluice"';
      assert.ok(buckets.includes(`sluice_rate_limiting_request_time_in_queue_bucket{${labels},le="0.25"} 0`), text);
      assert.ok(buckets.includes(`sluice_rate_limiting_request_time_in_queue_bucket{${labels},le="0.5"} 1`), text);
      assert.ok(buckets.includes(`sluice_rate_limiting_request_time_in_queue_bucket{${labels},le="+Inf"} 1`), text);
      assert.deepEqual(series('count'), [`sluice_rate_limiting_request_time_in_queue_count{${labels}} 1`]);
      assert.deepEqual(series('sum'), [`sluice_rate_limiting_request_time_in_queue_sum{${labels}} 0.3`]);
      assert.equal(text.match(/^# TYPE sluice_rate_limiting_request_time_in_queue histogram$/gm)?.length, 1);
    } finally {
      server.close();
      metrics.dispose();
      await provider.shutdown();
    }
  });

  it('stops a series when its limiter is no longer observed, and every series on dispose', async () => {
    const clock = new ManualClock();
    const kept = new ConcurrencyLimiter({ limit: 1, name: 'kept', clock });
    const dropped = new ConcurrencyLimiter({ limit: 1, name: 'dropped', clock });
    const { reader, provider, metrics } = aggregated([kept]);
    const unobserve = metrics.observe(dropped);
    await waitOnce(kept, clock, 10);
    await waitOnce(dropped, clock, 10);
    assert.deepEqual([...(await queueTimes(reader)).keys()].sort(), ['dropped|acquired', 'kept|acquired']);
    unobserve();
    await waitOnce(dropped, clock, 10);
    assert.deepEqual([...(await queueTimes(reader)).keys()], ['kept|acquired']);
    metrics.dispose();
    await waitOnce(kept, clock, 10);
    assert.deepEqual(await queueTimes(reader), new Map());
    await provider.shutdown();
  });

  it('serves several instrumentations from one producer: disposing one ends only its series; limiters of one name share theirs', async () => {
    const clock = new ManualClock();
    const timeInQueue = new TimeInQueueProducer();
    const reader = new TestReader({ metricProducers: [timeInQueue] });
    const provider = new MeterProvider({ readers: [reader] });
    const a = new ConcurrencyLimiter({ limit: 1, name: 'shared', clock });
    const b = new ConcurrencyLimiter({ limit: 1, name: 'shared', clock });
    const c = new ConcurrencyLimiter({ limit: 1, name: 'other', clock });
    const one = instrument({ meterProvider: provider, observe: [a, c], fetch: false, resilience: false, timeInQueue });
    const two = instrument({ meterProvider: provider, observe: [b], fetch: false, resilience: false, timeInQueue });
    await waitOnce(a, clock, 10);
    await waitOnce(b, clock, 20);
    await waitOnce(c, clock, 30);
    assert.equal((await queueTimes(reader)).get('shared|acquired')?.count, 2);
    one.dispose();
    await waitOnce(b, clock, 20);
    const left = await queueTimes(reader);
    assert.deepEqual([...left.keys()], ['shared|acquired']);
    assert.equal(left.get('shared|acquired')?.count, 3);
    two.dispose();
    await provider.shutdown();
  });

  it('makes no histogram in the SDK: the metric is reported once, by the producer', async () => {
    const clock = new ManualClock();
    const limiter = new ConcurrencyLimiter({ limit: 1, name: 'db', clock });
    const { reader, provider, metrics } = aggregated([limiter]);
    await waitOnce(limiter, clock, 10);
    await queueTimes(reader); // asserts a single metric of the name
    metrics.dispose();
    await provider.shutdown();
  });

  it('refuses a mode it does not know, naming the field', () => {
    assert.throws(() => instrument({ meterProvider: new MeterProvider(), timeInQueue: 'aggregate' as never }), { name: 'ConfigError', message: /timeInQueue/ });
  });
});

type Op = { kind: 'call'; abortAfter: number | undefined; maxWaitMs: number | undefined } | { kind: 'advance'; ms: number } | { kind: 'release' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('call' as const),
      abortAfter: fc.option(fc.integer({ min: 0, max: 12_000 }), { nil: undefined, freq: 3 }),
      maxWaitMs: fc.option(fc.integer({ min: 0, max: 12_000 }), { nil: undefined, freq: 3 }),
    }),
  },
  // Steps that land waits on bucket boundaries (5 ms, 10 ms, …) as well as between them.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.constantFrom(5, 10, 25, 50, 250, 1000, 2500), fc.integer({ min: 0, max: 4000 })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const) }) },
);

/** Runs `ops` on a limiter measured both ways at once: one SDK record per caller, and aggregated. */
async function bothWays(make: (clock: ManualClock) => RateLimiter | ConcurrencyLimiter, ops: readonly Op[]): Promise<void> {
  const clock = new ManualClock();
  const limiter = make(clock);
  const recordReader = new TestReader();
  const recordProvider = new MeterProvider({ readers: [recordReader] });
  const recorded = instrument({ meterProvider: recordProvider, observe: [limiter], fetch: false, resilience: false, timeInQueue: 'record' });
  const { reader, provider, metrics } = aggregated([limiter]);
  const held: (() => void)[] = [];
  const pending: Promise<unknown>[] = [];
  for (const op of ops) {
    if (op.kind === 'advance') await clock.advance(op.ms);
    else if (op.kind === 'release') held.shift()?.();
    else {
      const controller = new AbortController();
      if (op.abortAfter !== undefined) clock.timer(() => controller.abort(), op.abortAfter);
      const signal = controller.signal;
      const call =
        limiter instanceof RateLimiter
          ? limiter.acquire({ signal, ...(op.maxWaitMs === undefined ? {} : { maxWaitMs: op.maxWaitMs }) })
          : limiter.acquire({ signal }).then((permit) => void held.push(() => permit.release()));
      pending.push(call.catch(() => {}));
    }
  }
  for (let i = 0; i < 60; i++) {
    for (let j = 0; j < 8; j++) held.shift()?.();
    await clock.advance(500);
  }
  await Promise.all(pending);
  const sdk = await queueTimes(recordReader);
  const ours = await queueTimes(reader);
  assert.deepEqual([...ours.keys()].sort(), [...sdk.keys()].sort());
  for (const [key, histogram] of sdk) {
    const mine = ours.get(key)!;
    assert.deepEqual(mine.buckets, histogram.buckets, key);
    assert.equal(mine.count, histogram.count, key);
    assert.equal(mine.sum, histogram.sum, key);
    assert.equal(mine.min, histogram.min, key);
    assert.equal(mine.max, histogram.max, key);
  }
  recorded.dispose();
  metrics.dispose();
  await recordProvider.shutdown();
  await provider.shutdown();
}

describe('time in queue, aggregated against one SDK record per caller (property)', () => {
  it('RateLimiter: the same buckets, sum, count, min and max per limiter and result', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => bothWays((clock) => new RateLimiter({ limits: '2/1s', clock, name: 'rate' }), ops)),
      { numRuns: 100 },
    );
  });

  it('ConcurrencyLimiter: the same', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => bothWays((clock) => new ConcurrencyLimiter({ limit: 2, queueSize: 6, clock, name: 'slots' }), ops)),
      { numRuns: 100 },
    );
  });
});
