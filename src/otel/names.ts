// The names sluice/otel gives its metrics, attributes and result values (re-exported by
// src/otel.ts, where users import them).

/**
 * METRIC: the metric and attribute names of `sluice/otel`, after the conventions dashboards chart:
 * - limiters: .NET's rate limiting metrics (`aspnetcore.rate_limiting.*`: requests by
 *   result acquired / rejected / request_canceled, queued_requests, request.time_in_queue,
 *   active_request_leases), under `sluice.`;
 * - breakers, retries, timeouts and hedges: Polly v8's resilience telemetry
 *   (`resilience.polly.strategy.events` with `event.name` and `pipeline.name`), under `sluice.`;
 * - fetch: OpenTelemetry's HTTP client semantic conventions, as they are.
 */
export const METRIC = {
  requests: 'sluice.rate_limiting.requests',
  queued: 'sluice.rate_limiting.queued_requests',
  timeInQueue: 'sluice.rate_limiting.request.time_in_queue',
  leases: 'sluice.rate_limiting.active_request_leases',
  limiterAttr: 'sluice.rate_limiting.limiter',
  resultAttr: 'sluice.rate_limiting.result',
  resilienceEvents: 'sluice.resilience.events',
  breakerCalls: 'sluice.circuit_breaker.calls',
  breakerState: 'sluice.circuit_breaker.state',
  pipelineAttr: 'pipeline.name',
  eventNameAttr: 'event.name',
  outcomeAttr: 'sluice.circuit_breaker.outcome',
  stateAttr: 'sluice.circuit_breaker.state',
  httpDuration: 'http.client.request.duration',
  fetchAttr: 'sluice.fetch',
  flowItems: 'sluice.flow.items',
  flowInFlight: 'sluice.flow.in_flight',
  flowBuffered: 'sluice.flow.buffered_items',
  flowAttr: 'sluice.flow',
  flowResultAttr: 'sluice.flow.result',
} as const;

/**
 * RESULT: a limiter event's type as .NET's `result`: `acquired` and `request_canceled` are .NET's own
 * values; .NET names a rejection by the limiter that refused (`global_limiter`,
 * `endpoint_limiter`), which here is the `limiter` attribute, so a rejection is `rejected`.
 */
export const RESULT = { admitted: 'acquired', rejected: 'rejected', aborted: 'request_canceled' } as const;

/** The instrumentation scope of every series (Prometheus: otel_scope_name="sluice"). */
export const SCOPE = 'sluice';

export const TIME_IN_QUEUE_DESCRIPTION = 'Time a request waited in a limiter queue before it was acquired, rejected or canceled.';
