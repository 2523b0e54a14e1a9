// Prometheus metrics for sluice: `instrument` from 'sluice/otel' feeds OpenTelemetry, and
// OpenTelemetry's PrometheusExporter serves them for Prometheus to scrape (Grafana
// dashboard: examples/grafana-dashboard.json). The limiter, concurrency limiter and breaker
// are named: the names are the labels on every series. The time in queue is aggregated by
// sluice (a TimeInQueueProducer given to the exporter): the same histogram as one SDK
// record per waiting caller, for a few number writes each.
//
// 120 calls through sluiceFetch to the embedded mock (30 requests a second, one answer in
// ten a 503); this scrapes its own /metrics halfway and at the end, and checks that the
// series exist and moved. Real time, about 4 s.
//
//   node --import tsx examples/16-prometheus-metrics.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { CircuitBreaker, ConcurrencyLimiter, RateLimiter, sluiceFetch, startMockApi } from 'sluice';
import { instrument, TimeInQueueProducer } from 'sluice/otel';

const CALLS = 120;
const mock = await startMockApi({ limits: '30/1s', latency: '10ms-40ms', faults: { '5xx': 0.1 } });

// The exporter serves what it collects; its own server would take a fixed port (9464), so
// its handler is mounted on one of ours, on loopback and a free port.
const timeInQueue = new TimeInQueueProducer();
const exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [timeInQueue] });
const meterProvider = new MeterProvider({ readers: [exporter] });
const server = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const metricsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;

const limiter = new RateLimiter({ limits: '25/1s', name: 'mock-rate' });
const slots = new ConcurrencyLimiter({ limit: 4, name: 'mock-slots' });
const breaker = new CircuitBreaker({ name: 'mock-breaker', failureRate: 0.5, minimumCalls: 20 });
const metrics = instrument({ meterProvider, observe: [limiter, slots, breaker], timeInQueue });

const fetchApi = sluiceFetch({ name: 'mock-api', rate: limiter, adaptive: false, concurrency: slots, breaker, retry: { attempts: 3 } });

/** The scrape as { 'name{labels}': value }. */
async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)/.exec(line);
    if (match) series.set(match[1]!, Number(match[2]));
  }
  return series;
}

/** The sum of every series of `name` whose labels include all of `labels`. */
function sum(series: Map<string, number>, name: string, ...labels: string[]): number {
  let total = 0;
  for (const [key, value] of series) {
    if ((key === name || key.startsWith(`${name}{`)) && labels.every((l) => key.includes(l))) total += value;
  }
  return total;
}

let statusOk = 0;
const calls = Array.from({ length: CALLS }, async (_, i) => {
  const response = await fetchApi(`${mock.url}/records?offset=${(i % 10) * 10}&limit=10`);
  await response.body?.cancel();
  if (response.ok) statusOk++;
});
await new Promise((resolve) => setTimeout(resolve, 1500));
const half = await scrape();
await Promise.allSettled(calls);
const end = await scrape();

const checks: Record<string, [number, number]> = {
  acquired: [sum(half, 'sluice_rate_limiting_requests_total', 'limiter="mock-rate"', 'result="acquired"'), sum(end, 'sluice_rate_limiting_requests_total', 'limiter="mock-rate"', 'result="acquired"')],
  queued: [sum(half, 'sluice_rate_limiting_queued_requests', 'limiter="mock-slots"') + sum(half, 'sluice_rate_limiting_queued_requests', 'limiter="mock-rate"'), sum(end, 'sluice_rate_limiting_queued_requests')],
  timeInQueue: [sum(half, 'sluice_rate_limiting_request_time_in_queue_count'), sum(end, 'sluice_rate_limiting_request_time_in_queue_count')],
  // The buckets are there too, and count what _count does (the +Inf bucket holds every wait).
  timeInQueueBuckets: [sum(half, 'sluice_rate_limiting_request_time_in_queue_bucket', 'le="+Inf"'), sum(end, 'sluice_rate_limiting_request_time_in_queue_bucket', 'le="+Inf"')],
  leases: [sum(half, 'sluice_rate_limiting_active_request_leases', 'limiter="mock-slots"'), sum(end, 'sluice_rate_limiting_active_request_leases', 'limiter="mock-slots"')],
  breakerCalls: [sum(half, 'sluice_circuit_breaker_calls_total', 'pipeline_name="mock-breaker"'), sum(end, 'sluice_circuit_breaker_calls_total', 'pipeline_name="mock-breaker"')],
  breakerState: [sum(half, 'sluice_circuit_breaker_state', 'pipeline_name="mock-breaker"'), sum(end, 'sluice_circuit_breaker_state', 'pipeline_name="mock-breaker"')],
  httpDuration: [sum(half, 'http_client_request_duration_count', 'sluice_fetch="mock-api"'), sum(end, 'http_client_request_duration_count', 'sluice_fetch="mock-api"')],
  resent: [0, sum(end, 'http_client_request_duration_count', 'http_request_resend_count="1"')],
  // The fetch's retry policy takes the fetch's name: its retries are Polly's OnRetry for it.
  onRetry: [sum(half, 'sluice_resilience_events_total', 'event_name="OnRetry"', 'pipeline_name="mock-api"'), sum(end, 'sluice_resilience_events_total', 'event_name="OnRetry"', 'pipeline_name="mock-api"')],
};
for (const [name, [before, after]] of Object.entries(checks)) console.log(`${name.padEnd(18)} half-way ${before}  end ${after}`);
const { violations, throttled } = mock.stats();

metrics.dispose();
await meterProvider.shutdown();
server.close();
await mock.close();
console.log(
  `RESULT calls=${CALLS} ok=${statusOk} overLimit=${violations.total} throttled=${throttled} ` +
    Object.entries(checks)
      .map(([name, [before, after]]) => `${name}=${before}/${after}`)
      .join(' '),
);
