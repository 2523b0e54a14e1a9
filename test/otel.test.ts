// sluice/otel: the series a dashboard reads exist, carry the names given, and move.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { ManualClock } from '../src/core/clock.js';
import { ConcurrencyLimiter } from '../src/limiters/concurrency-limiter.js';
import { RateLimiter } from '../src/limiters/rate-limiter.js';
import { CircuitBreaker } from '../src/policies/breaker.js';
import { flow } from '../src/flow/flow.js';
import { hedge } from '../src/policies/hedge.js';
import { timeout } from '../src/policies/timeout.js';
import { sluiceFetch } from '../src/http/fetch.js';
import { DURATION_BOUNDARIES, instrument, METRIC } from '../src/otel.js';
import { fetchChannel, resilienceChannel } from '../src/core/telemetry.js';

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** Every data point of `name`, as [attributes, value]. */
async function points(reader: TestReader, name: string): Promise<[Record<string, unknown>, unknown][]> {
  const { resourceMetrics } = await reader.collect();
  const found = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  return (found?.dataPoints ?? []).map((p: DataPoint<unknown>) => [p.attributes, p.value]);
}

function setup(): { reader: TestReader; provider: MeterProvider } {
  const reader = new TestReader();
  return { reader, provider: new MeterProvider({ readers: [reader] }) };
}

describe('sluice/otel instrument', () => {
  it('counts a rate limiter requests by result, its queue, and each waited caller time in queue', async () => {
    const { reader, provider } = setup();
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '1/1s', clock, name: 'api', queueSize: 1 });
    const metrics = instrument({ meterProvider: provider, observe: [limiter], fetch: false });
    await limiter.acquire();
    const waiting = limiter.acquire();
    await assert.rejects(limiter.acquire(), { name: 'QueueFullError' });
    assert.deepEqual(await points(reader, METRIC.queued), [[{ [METRIC.limiterAttr]: 'api' }, 1]]);
    await clock.advance(1000);
    await waiting;
    const requests = Object.fromEntries((await points(reader, METRIC.requests)).map(([a, v]) => [a[METRIC.resultAttr], v]));
    assert.deepEqual(requests, { acquired: 2, rejected: 1, request_canceled: 0 });
    const [attributes, histogram] = (await points(reader, METRIC.timeInQueue))[0]!;
    assert.deepEqual(attributes, { [METRIC.limiterAttr]: 'api', [METRIC.resultAttr]: 'acquired' });
    assert.equal((histogram as Histogram).count, 1);
    assert.equal((histogram as Histogram).sum, 1);
    // The semantic conventions' duration buckets, advised to the SDK: both modes chart alike.
    assert.deepEqual((histogram as Histogram).buckets.boundaries, [...DURATION_BOUNDARIES]);
    metrics.dispose();
  });

  it('reports a concurrency limiter slots in use as active leases', async () => {
    const { reader, provider } = setup();
    const limiter = new ConcurrencyLimiter({ limit: 2, name: 'db' });
    const metrics = instrument({ meterProvider: provider, observe: [limiter], fetch: false });
    const permit = await limiter.acquire();
    assert.deepEqual(await points(reader, METRIC.leases), [[{ [METRIC.limiterAttr]: 'db' }, 1]]);
    permit.release();
    assert.deepEqual(await points(reader, METRIC.leases), [[{ [METRIC.limiterAttr]: 'db' }, 0]]);
    metrics.dispose();
  });

  it('reports a breaker state, its calls by outcome and OnCircuitOpened', async () => {
    const { reader, provider } = setup();
    const breaker = new CircuitBreaker({ name: 'payments', consecutiveFailures: 1, clock: new ManualClock() });
    const metrics = instrument({ meterProvider: provider, observe: [breaker], fetch: false });
    await assert.rejects(breaker.execute(() => Promise.reject(new Error('down'))));
    await assert.rejects(breaker.execute(() => 1), { name: 'CircuitOpenError' });
    const state = (await points(reader, METRIC.breakerState)).filter(([, v]) => v === 1).map(([a]) => a[METRIC.stateAttr]);
    assert.deepEqual(state, ['open']);
    const calls = Object.fromEntries((await points(reader, METRIC.breakerCalls)).map(([a, v]) => [a[METRIC.outcomeAttr], v]));
    assert.deepEqual(calls, { success: 0, failure: 1, ignored: 0, rejected: 1 });
    assert.deepEqual(await points(reader, METRIC.resilienceEvents), [[{ [METRIC.eventNameAttr]: 'OnCircuitOpened', [METRIC.pipelineAttr]: 'payments' }, 1]]);
    metrics.dispose();
  });

  it('records each fetch attempt duration by status and resend count', async () => {
    const { reader, provider } = setup();
    const clock = new ManualClock();
    let calls = 0;
    const fetch = sluiceFetch({
      name: 'mock',
      clock,
      retry: { attempts: 2 },
      fetch: async () => new Response('', { status: ++calls === 1 ? 503 : 200 }),
    });
    const metrics = instrument({ meterProvider: provider });
    let done = false;
    const answer = fetch('http://127.0.0.1:1/x').finally(() => (done = true));
    // The retry's backoff sleeps on the manual clock: move it until the answer comes.
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      await clock.advance(1000);
    }
    assert.equal((await answer).status, 200);
    const seen = (await points(reader, METRIC.httpDuration)).map(([a, h]) => [a['http.response.status_code'], a['http.request.resend_count'], a[METRIC.fetchAttr], (h as Histogram).count]);
    assert.deepEqual(seen.sort(), [[200, 1, 'mock', 1], [503, 0, 'mock', 1]]);
    const [server] = (await points(reader, METRIC.httpDuration)).map(([a]) => [a['server.address'], a['server.port'], a['url.scheme']]);
    assert.deepEqual(server, ['127.0.0.1', 1, 'http']);
    // The fetch's retry policy is named after it: its retry is the fetch's OnRetry.
    assert.deepEqual(await points(reader, METRIC.resilienceEvents), [[{ [METRIC.eventNameAttr]: 'OnRetry', [METRIC.pipelineAttr]: 'mock' }, 1]]);
    metrics.dispose();
  });

  it('counts timeouts and hedges of any policy in the process as OnTimeout and OnHedging, by name', async () => {
    const { reader, provider } = setup();
    const clock = new ManualClock();
    const metrics = instrument({ meterProvider: provider, fetch: false });
    const slow = timeout(10, { name: 'search', clock });
    const late = slow.execute(() => new Promise(() => {})).catch(() => 'timed out');
    const reads = hedge({ name: 'reads', delayMs: 5, clock });
    let calls = 0;
    const hedged = reads.execute(() => (++calls === 1 ? new Promise(() => {}) : Promise.resolve('second')));
    await clock.advance(10);
    assert.equal(await late, 'timed out');
    assert.equal(await hedged, 'second');
    const events = (await points(reader, METRIC.resilienceEvents)).map(([a, v]) => [a[METRIC.eventNameAttr], a[METRIC.pipelineAttr], v]);
    assert.deepEqual(events.sort(), [['OnHedging', 'reads', 1], ['OnTimeout', 'search', 1]]);
    metrics.dispose();
  });

  it('with timeInQueue false, keeps the counts and records no time in queue', async () => {
    const { reader, provider } = setup();
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limits: '1/1s', clock, name: 'hot' });
    const metrics = instrument({ meterProvider: provider, observe: [limiter], fetch: false, timeInQueue: false });
    await limiter.acquire();
    const waiting = limiter.acquire();
    await clock.advance(1000);
    await waiting;
    assert.deepEqual(await points(reader, METRIC.timeInQueue), []);
    const requests = Object.fromEntries((await points(reader, METRIC.requests)).map(([a, v]) => [a[METRIC.resultAttr], v]));
    assert.equal(requests.acquired, 2);
    metrics.dispose();
  });

  it('counts a flow items by result, and its items in flight and buffered, by its name', async () => {
    const { reader, provider } = setup();
    const items = flow([1, 2, 3, 4], async (n) => {
      if (n === 3) throw new Error('three');
      return n;
    }, { name: 'import', concurrency: 2 });
    const metrics = instrument({ meterProvider: provider, observe: [items], fetch: false });
    for await (const result of items) void result;
    const byResult = Object.fromEntries((await points(reader, METRIC.flowItems)).map(([a, v]) => [`${a[METRIC.flowAttr]}:${a[METRIC.flowResultAttr]}`, v]));
    assert.deepEqual(byResult, { 'import:succeeded': 3, 'import:failed': 1 });
    assert.deepEqual(await points(reader, METRIC.flowInFlight), [[{ [METRIC.flowAttr]: 'import' }, 0]]);
    assert.deepEqual(await points(reader, METRIC.flowBuffered), [[{ [METRIC.flowAttr]: 'import' }, 0]]);
    metrics.dispose();
  });

  it('refuses what it cannot measure, naming the field', () => {
    const { provider } = setup();
    const listening = (): [boolean, boolean] => [fetchChannel.hasSubscribers, resilienceChannel.hasSubscribers];
    const before = listening();
    assert.throws(() => instrument({ meterProvider: provider, observe: [{} as RateLimiter] }), { name: 'ConfigError', message: /observe/ });
    assert.deepEqual(listening(), before, 'a refused call leaves nothing listening on the fetch and resilience channels');
    assert.throws(() => new RateLimiter({ limits: '1/1s', name: 'a b' }), { name: 'ConfigError', message: /name/ });
    assert.throws(() => flow([], async () => 1, { name: 'a b' }), { name: 'ConfigError', message: /name/ });
  });
});
