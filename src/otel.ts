// sluice/otel: OpenTelemetry metrics for sluice's limiters, breakers and fetches. The only
// entry that loads @opentelemetry/api (an optional peer dependency).
import { metrics, ValueType, type Attributes, type Histogram, type Meter, type MeterProvider, type ObservableResult } from '@opentelemetry/api';
import { ConfigError } from './core/errors.js';
import type { Disposer } from './core/events.js';
import { fetchChannel, resilienceChannel } from './core/telemetry.js';
import type { SluiceFetchEvent } from './http/fetch-options.js';
import { isFlow, type Flow } from './flow/flow.js';
import { ConcurrencyLimiter } from './limiters/concurrency-limiter.js';
import type { LimiterEvent } from './limiters/limiter-events.js';
import { RateLimiter } from './limiters/rate-limiter.js';
import type { BreakerEvent } from './policies/breaker-events.js';
import type { HedgeEvent } from './policies/hedge.js';
import type { GiveUpEvent, RetryEvent } from './policies/retry.js';
import type { TimeoutEvent } from './policies/timeout.js';
import { CircuitBreaker, type CircuitState } from './policies/breaker.js';
import { DURATION_BOUNDARIES } from './otel/buckets.js';
import { METRIC, RESULT, SCOPE, TIME_IN_QUEUE_DESCRIPTION } from './otel/names.js';
import { TimeInQueueProducer } from './otel/time-in-queue.js';

export { DURATION_BOUNDARIES } from './otel/buckets.js';
export type { HistogramMetric, MetricProducer, ProducedMetrics } from './otel/metric-data.js';
export { TimeInQueueProducer } from './otel/time-in-queue.js';

export { METRIC, RESULT } from './otel/names.js';

/** A policy event's type as Polly's event name. */
export const POLLY_POLICY_EVENT = { retry: 'OnRetry', timeout: 'OnTimeout', hedge: 'OnHedging' } as const;

/** A breaker's new state as Polly's event name. */
export const POLLY_EVENT: Record<CircuitState, string> = {
  open: 'OnCircuitOpened',
  isolated: 'OnCircuitOpened',
  'half-open': 'OnCircuitHalfOpened',
  closed: 'OnCircuitClosed',
};

/** What `instrument` measures. */
export type Instrumentable = RateLimiter | ConcurrencyLimiter | CircuitBreaker | Flow<unknown, unknown>;

export interface InstrumentOptions {
  /** Where the instruments are made. Default: the global MeterProvider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider | undefined;
  /** Limiters and breakers to measure from the start; more with `observe`. */
  observe?: readonly Instrumentable[] | undefined;
  /** Measure every sluiceFetch of the process (through the `sluice:fetch` channel). Default true. */
  fetch?: boolean | undefined;
  /**
   * Count every retry, timeout and hedge of the process as Polly's OnRetry, OnTimeout and
   * OnHedging (through the `sluice:resilience` channel). Default true.
   */
  resilience?: boolean | undefined;
  /**
   * How each queued caller's time in queue (the histogram) is measured — the one
   * measurement made per caller; a caller admitted at once costs nothing in any mode:
   * - `'record'` (default; `true` too): one OpenTelemetry `record` per caller that waited.
   *   Works with any MeterProvider as it is; the SDK's `record` costs microseconds (it
   *   hashes the attributes and allocates), which shows where callers queue by the hundred
   *   thousand a second.
   * - a {@link TimeInQueueProducer}: aggregated — counted in sluice's own buckets, a few
   *   number writes per caller — and collected by the reader the producer was given to:
   *   `new PrometheusExporter({ metricProducers: [timeInQueue] })` or
   *   `new PeriodicExportingMetricReader({ exporter, metricProducers: [timeInQueue] })`.
   *   The same metric, attributes and buckets ({@link DURATION_BOUNDARIES}), cumulative.
   * - `false`: no histogram; every count and gauge stays.
   */
  timeInQueue?: 'record' | TimeInQueueProducer | boolean | undefined;
}

/** Instrumentation: the measuring `instrument` started; `dispose` stops all of it. */
export interface Instrumentation {
  /** Measures `target` too, until the disposer (or `dispose`) is called. */
  observe(target: Instrumentable): Disposer;
  dispose(): void;
}

type TimeInQueueMode = 'record' | TimeInQueueProducer | false;

const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];
const MS_PER_S = 1000;

function timeInQueueMode(option: unknown): TimeInQueueMode {
  if (option === undefined || option === true || option === 'record') return 'record';
  if (option === false || option instanceof TimeInQueueProducer) return option;
  throw new ConfigError('timeInQueue', option, "must be 'record', a TimeInQueueProducer (aggregated) or false");
}

/**
 * instrument: OpenTelemetry metrics for the limiters and breakers given, and for every
 * sluiceFetch in the process. Names follow what dashboards already chart (see
 * docs/observability.md): .NET's rate limiting metrics for limiters, Polly's resilience
 * events for breakers, OTel's HTTP client metrics for fetch.
 *
 * Counts and gauges are read from each object's `stats()` when the metrics are collected,
 * so a caller admitted at once costs nothing more with metrics on; only callers that waited
 * (their time in queue), breaker changes of state and HTTP attempts are recorded as they
 * happen. Labels are the names given to each object — never partition keys or URLs — so
 * the number of series stays bounded.
 */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object such as { meterProvider, observe }');
  const provider = options.meterProvider ?? metrics.getMeterProvider();
  if (typeof provider?.getMeter !== 'function') throw new ConfigError('meterProvider', provider, 'must be an OpenTelemetry MeterProvider');
  const mode = timeInQueueMode(options.timeInQueue);
  const meter = provider.getMeter(SCOPE);
  const measured = new Measured(meter, mode);
  const disposers: Disposer[] = [() => measured.dispose()];
  if (options.fetch ?? true) disposers.push(measureFetch(meter));
  if (options.resilience ?? true) disposers.push(measureResilience(meter));
  const dispose = (): void => {
    for (const stop of disposers.splice(0)) stop();
  };
  try {
    for (const target of options.observe ?? []) measured.add(target);
  } catch (error) {
    // A bad target refuses the whole call: nothing it started may keep listening.
    dispose();
    throw error;
  }
  return { observe: (target) => measured.add(target), dispose };
}

/** The limiters and breakers measured, and the instruments that read them. */
class Measured {
  private readonly rate = new Set<RateLimiter>();
  private readonly concurrency = new Set<ConcurrencyLimiter>();
  private readonly breakers = new Set<CircuitBreaker>();
  private readonly flows = new Set<Flow<unknown, unknown>>();
  /** The disposer of every target added, so `dispose` stops them all. */
  private readonly added = new Set<Disposer>();
  /** The per-caller histogram of `timeInQueue: 'record'`. */
  private readonly timeInQueue: Histogram | undefined;
  private readonly events;
  private readonly stop: Disposer;

  constructor(
    meter: Meter,
    private readonly mode: TimeInQueueMode,
  ) {
    this.timeInQueue =
      mode !== 'record' ? undefined : meter.createHistogram(METRIC.timeInQueue, { unit: 's', description: TIME_IN_QUEUE_DESCRIPTION, advice: { explicitBucketBoundaries: [...DURATION_BOUNDARIES] } });
    this.events = meter.createCounter(METRIC.resilienceEvents, { unit: '{event}', description: 'Resilience events (Polly names: OnCircuitOpened, …).', valueType: ValueType.INT });
    const requests = meter.createObservableCounter(METRIC.requests, { unit: '{request}', description: 'Requests a limiter decided, by result.', valueType: ValueType.INT });
    const queued = meter.createObservableUpDownCounter(METRIC.queued, { unit: '{request}', description: 'Requests waiting in a limiter queue now.', valueType: ValueType.INT });
    const leases = meter.createObservableUpDownCounter(METRIC.leases, { unit: '{request}', description: 'Requests holding a concurrency slot now.', valueType: ValueType.INT });
    const calls = meter.createObservableCounter(METRIC.breakerCalls, { unit: '{call}', description: 'Calls through a circuit breaker, by outcome.', valueType: ValueType.INT });
    const state = meter.createObservableGauge(METRIC.breakerState, { unit: '1', description: '1 for the state a circuit breaker is in, 0 for the others.', valueType: ValueType.INT });
    const observeRequests = (result: ObservableResult): void => {
      for (const limiter of this.rate) {
        const s = limiter.stats();
        observeResults(result, limiter.name, s.admitted, s.rejected, s.aborted);
      }
      for (const limiter of this.concurrency) {
        const s = limiter.stats();
        observeResults(result, limiter.name, s.started, s.rejected, s.aborted);
      }
    };
    const observeQueued = (result: ObservableResult): void => {
      for (const limiter of this.rate) result.observe(limiter.stats().waiting, { [METRIC.limiterAttr]: limiter.name });
      for (const limiter of this.concurrency) {
        const s = limiter.stats();
        result.observe(s.waiting + s.overflow, { [METRIC.limiterAttr]: limiter.name });
      }
    };
    const observeLeases = (result: ObservableResult): void => {
      for (const limiter of this.concurrency) result.observe(limiter.stats().inFlight, { [METRIC.limiterAttr]: limiter.name });
    };
    const observeCalls = (result: ObservableResult): void => {
      for (const breaker of this.breakers) {
        const counts = breaker.stats().calls;
        for (const outcome of Object.keys(counts) as (keyof typeof counts)[]) {
          result.observe(counts[outcome], { [METRIC.pipelineAttr]: breaker.name, [METRIC.outcomeAttr]: outcome });
        }
      }
    };
    const observeState = (result: ObservableResult): void => {
      for (const breaker of this.breakers) {
        const now = breaker.state;
        for (const s of CIRCUIT_STATES) result.observe(s === now ? 1 : 0, { [METRIC.pipelineAttr]: breaker.name, [METRIC.stateAttr]: s });
      }
    };
    const items = meter.createObservableCounter(METRIC.flowItems, { unit: '{item}', description: 'Items a flow finished, by result.', valueType: ValueType.INT });
    const flowInFlight = meter.createObservableUpDownCounter(METRIC.flowInFlight, { unit: '{item}', description: 'Items holding a flow concurrency slot now.', valueType: ValueType.INT });
    const buffered = meter.createObservableUpDownCounter(METRIC.flowBuffered, { unit: '{item}', description: 'Items read from the source and waiting for a worker now.', valueType: ValueType.INT });
    const observeItems = (result: ObservableResult): void => {
      for (const flow of this.flows) {
        const s = flow.stats();
        result.observe(s.succeeded, { [METRIC.flowAttr]: flow.name, [METRIC.flowResultAttr]: 'succeeded' });
        result.observe(s.failed, { [METRIC.flowAttr]: flow.name, [METRIC.flowResultAttr]: 'failed' });
      }
    };
    const observeFlowInFlight = (result: ObservableResult): void => {
      for (const flow of this.flows) result.observe(flow.stats().inFlight, { [METRIC.flowAttr]: flow.name });
    };
    const observeBuffered = (result: ObservableResult): void => {
      for (const flow of this.flows) result.observe(flow.stats().buffered, { [METRIC.flowAttr]: flow.name });
    };
    items.addCallback(observeItems);
    flowInFlight.addCallback(observeFlowInFlight);
    buffered.addCallback(observeBuffered);
    requests.addCallback(observeRequests);
    queued.addCallback(observeQueued);
    leases.addCallback(observeLeases);
    calls.addCallback(observeCalls);
    state.addCallback(observeState);
    this.stop = () => {
      items.removeCallback(observeItems);
      flowInFlight.removeCallback(observeFlowInFlight);
      buffered.removeCallback(observeBuffered);
      requests.removeCallback(observeRequests);
      queued.removeCallback(observeQueued);
      leases.removeCallback(observeLeases);
      calls.removeCallback(observeCalls);
      state.removeCallback(observeState);
    };
  }

  add(target: Instrumentable): Disposer {
    const remove = this.adder(target);
    let live = true;
    const dispose: Disposer = () => {
      if (!live) return;
      live = false;
      this.added.delete(dispose);
      remove();
    };
    this.added.add(dispose);
    return dispose;
  }

  private adder(target: Instrumentable): Disposer {
    if (target instanceof RateLimiter || target instanceof ConcurrencyLimiter) return this.addLimiter(target);
    if (target instanceof CircuitBreaker) return this.addBreaker(target);
    if (isFlow(target)) {
      this.flows.add(target);
      return () => this.flows.delete(target);
    }
    throw new ConfigError('observe', target, 'must be a RateLimiter, ConcurrencyLimiter, CircuitBreaker or flow');
  }

  private addLimiter(limiter: RateLimiter | ConcurrencyLimiter): Disposer {
    const set: Set<RateLimiter | ConcurrencyLimiter> = limiter instanceof RateLimiter ? this.rate : this.concurrency;
    set.add(limiter);
    const unsubscribe = this.timeLimiter(limiter);
    return () => {
      unsubscribe();
      set.delete(limiter);
    };
  }

  /** Times the callers that wait for `limiter` as `timeInQueue` says; the disposer stops it. */
  private timeLimiter(limiter: RateLimiter | ConcurrencyLimiter): Disposer {
    if (this.mode instanceof TimeInQueueProducer) return this.mode.observe(limiter);
    const histogram = this.timeInQueue;
    if (histogram === undefined) return () => {};
    // One attributes object per result, made once: a record per queued caller allocates none.
    const label = (type: LimiterEvent['type']): Attributes => ({ [METRIC.limiterAttr]: limiter.name, [METRIC.resultAttr]: RESULT[type] });
    const attributes: Record<LimiterEvent['type'], Attributes> = { admitted: label('admitted'), rejected: label('rejected'), aborted: label('aborted') };
    return limiter.onQueueWait((result, waitMs) => histogram.record(waitMs / MS_PER_S, attributes[result]));
  }

  private addBreaker(breaker: CircuitBreaker): Disposer {
    this.breakers.add(breaker);
    const unsubscribe = breaker.onEvent((event: BreakerEvent) => {
      if (event.type !== 'state') return;
      this.events.add(1, { [METRIC.eventNameAttr]: POLLY_EVENT[event.state], [METRIC.pipelineAttr]: event.breaker });
    });
    return () => {
      unsubscribe();
      this.breakers.delete(breaker);
    };
  }

  dispose(): void {
    for (const dispose of [...this.added]) dispose();
    this.stop();
    this.rate.clear();
    this.concurrency.clear();
    this.breakers.clear();
    this.flows.clear();
  }
}

function observeResults(result: ObservableResult, name: string, acquired: number, rejected: number, canceled: number): void {
  result.observe(acquired, { [METRIC.limiterAttr]: name, [METRIC.resultAttr]: 'acquired' });
  result.observe(rejected, { [METRIC.limiterAttr]: name, [METRIC.resultAttr]: 'rejected' });
  result.observe(canceled, { [METRIC.limiterAttr]: name, [METRIC.resultAttr]: RESULT.aborted });
}

/** http.client.request.duration for every attempt of every sluiceFetch, from the `sluice:fetch` channel. */
function measureFetch(meter: Meter): Disposer {
  const duration = meter.createHistogram(METRIC.httpDuration, {
    unit: 's',
    description: 'Duration of HTTP client requests (each attempt, to its response headers).',
    advice: { explicitBucketBoundaries: [...DURATION_BOUNDARIES] },
  });
  const onMessage = (message: unknown): void => {
    const event = message as SluiceFetchEvent & { fetch: string };
    if (event.type !== 'response' && event.type !== 'error') return;
    const attributes: Attributes = {
      [METRIC.fetchAttr]: event.fetch,
      ...serverOf(event.url),
      'http.request.method': event.method,
      'http.request.resend_count': event.attempt - 1,
      ...(event.type === 'response' ? { 'http.response.status_code': event.status } : { 'error.type': event.error.replace(/:.*$/s, '') }),
    };
    duration.record(event.durationMs / MS_PER_S, attributes);
  };
  fetchChannel.subscribe(onMessage);
  return () => {
    fetchChannel.unsubscribe(onMessage);
  };
}

/** server.address, server.port and url.scheme of a request's URL, as OTel's HTTP client metrics want them (no path: it would be a label per URL). */
function serverOf(url: string): Attributes {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return {};
  }
  const scheme = parsed.protocol.slice(0, -1);
  const port = parsed.port === '' ? (scheme === 'https' ? 443 : 80) : Number(parsed.port);
  return { 'server.address': parsed.hostname, 'server.port': port, 'url.scheme': scheme };
}

/** sluice.resilience.events for every retry, timeout and hedge of the process, from the `sluice:resilience` channel. */
function measureResilience(meter: Meter): Disposer {
  const events = meter.createCounter(METRIC.resilienceEvents, { unit: '{event}', description: 'Resilience events (Polly names: OnRetry, OnTimeout, OnHedging, OnCircuitOpened, …).', valueType: ValueType.INT });
  const onMessage = (message: unknown): void => {
    const event = message as RetryEvent | GiveUpEvent | TimeoutEvent | HedgeEvent;
    if (event.type === 'give-up') return;
    events.add(1, { [METRIC.eventNameAttr]: POLLY_POLICY_EVENT[event.type], [METRIC.pipelineAttr]: event.policy });
  };
  resilienceChannel.subscribe(onMessage);
  return () => {
    resilienceChannel.unsubscribe(onMessage);
  };
}
