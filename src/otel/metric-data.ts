// The shapes an OpenTelemetry SDK's MetricReader takes from a MetricProducer
// (@opentelemetry/sdk-metrics 2.x: MetricProducer, CollectionResult, HistogramMetricData),
// written out here so sluice/otel neither loads the SDK nor needs its types installed: a
// user who wires the producer in has the SDK, and test/otel-aggregate.test.ts checks these
// against it.
import type { Attributes, AttributeValue, HrTime, ValueType } from '@opentelemetry/api';

/** The SDK's AggregationTemporality.CUMULATIVE. */
export const CUMULATIVE = 1;
/** The SDK's DataPointType.HISTOGRAM. */
export const HISTOGRAM = 0;

/** A Histogram data point's value (the SDK's `Histogram`). */
export interface HistogramValue {
  buckets: { boundaries: number[]; counts: number[] };
  sum?: number;
  count: number;
  min?: number;
  max?: number;
}

export interface HistogramDataPoint {
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly attributes: Attributes;
  readonly value: HistogramValue;
}

/** A cumulative histogram metric (the SDK's HistogramMetricData). */
export interface HistogramMetric {
  readonly descriptor: { readonly name: string; readonly description: string; readonly unit: string; readonly valueType: ValueType };
  readonly aggregationTemporality: typeof CUMULATIVE;
  readonly dataPointType: typeof HISTOGRAM;
  readonly dataPoints: HistogramDataPoint[];
}

/** The SDK's Resource, as far as a producer must give one: the reader keeps its own and ignores this. */
export interface ProducedResource {
  readonly attributes: Attributes;
  merge(other: ProducedResource | null): ProducedResource;
  getRawAttributes(): [string, AttributeValue | undefined | Promise<AttributeValue | undefined>][];
}

/** The SDK's CollectionResult, holding histograms only. */
export interface ProducedMetrics {
  resourceMetrics: {
    resource: ProducedResource;
    scopeMetrics: { scope: { readonly name: string; readonly version?: string; readonly schemaUrl?: string }; metrics: HistogramMetric[] }[];
  };
  errors: unknown[];
}

/**
 * MetricProducer: what an OpenTelemetry MetricReader collects pre-aggregated metrics from
 * (the spec's bridge for metrics aggregated outside the SDK). Pass it as
 * `new PeriodicExportingMetricReader({ exporter, metricProducers: [producer] })` or
 * `new PrometheusExporter({ metricProducers: [producer] })`.
 */
export interface MetricProducer {
  collect(options?: { timeoutMillis?: number }): Promise<ProducedMetrics>;
}

/** An empty resource: the reader replaces it with its MeterProvider's. */
export const NO_RESOURCE: ProducedResource = {
  attributes: {},
  merge: (other) => other ?? NO_RESOURCE,
  getRawAttributes: () => [],
};

/** Epoch milliseconds as OpenTelemetry's HrTime ([seconds, nanoseconds]). */
export function hrTimeOf(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}
