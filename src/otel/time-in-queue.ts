import { ValueType, type Attributes } from '@opentelemetry/api';
import type { Disposer } from '../core/events.js';
import type { WaitResult, WaitSink } from '../core/queue-waits.js';
import { BucketHistogram, DURATION_BOUNDARIES } from './buckets.js';
import { CUMULATIVE, HISTOGRAM, hrTimeOf, NO_RESOURCE, type HistogramDataPoint, type HistogramMetric, type MetricProducer, type ProducedMetrics } from './metric-data.js';
import { METRIC, RESULT, SCOPE, TIME_IN_QUEUE_DESCRIPTION } from './names.js';

/** Anything whose waiting callers can be timed: RateLimiter, ConcurrencyLimiter. */
export interface WaitSource {
  readonly name: string;
  onQueueWait(sink: WaitSink): Disposer;
}

const RESULTS: readonly WaitResult[] = ['admitted', 'rejected', 'aborted'];
const MS_PER_S = 1000;

/** The three histograms (by result) of one limiter name, and how many limiters feed them. */
interface Series {
  readonly histograms: Record<WaitResult, BucketHistogram>;
  readonly attributes: Record<WaitResult, Attributes>;
  readonly startTime: ReturnType<typeof hrTimeOf>;
  sources: number;
}

/**
 * TimeInQueueProducer: sluice's time-in-queue histogram aggregated by sluice — each waiting
 * caller's wait counted in fixed buckets per (limiter, result), a few number writes and no
 * allocation per caller — and handed to OpenTelemetry as a MetricProducer (the spec's bridge
 * for metrics aggregated outside the SDK). What a reader collects from it is the cumulative
 * histogram the SDK builds from one `record` per caller: the same name
 * (`sluice.rate_limiting.request.time_in_queue`), unit `s`, attributes, buckets
 * (DURATION_BOUNDARIES) and scope (`sluice`).
 *
 * Make it first, give it to the reader, then to `instrument`:
 *
 *   const timeInQueue = new TimeInQueueProducer();
 *   const exporter = new PrometheusExporter({ metricProducers: [timeInQueue] });
 *   instrument({ meterProvider: new MeterProvider({ readers: [exporter] }), observe: [limiter], timeInQueue });
 *
 * Several instrumentations may share one. Limiters with the same name share their series, as
 * they would in the SDK. A series ends when the last limiter of its name is no longer
 * observed (its disposer, or the instrumentation's `dispose`): unlike the SDK, which reports
 * a series it has seen until the process ends.
 */
export class TimeInQueueProducer implements MetricProducer {
  private readonly series = new Map<string, Series>();

  /** The histograms, as an OpenTelemetry MetricReader collects them. */
  collect(): Promise<ProducedMetrics> {
    return Promise.resolve(this.produce());
  }

  /** Times the waiting callers of `source` until the disposer is called (`instrument` calls this). */
  observe(source: WaitSource): Disposer {
    const series = this.seriesOf(source.name);
    series.sources++;
    const { admitted, rejected, aborted } = series.histograms;
    const unsubscribe = source.onQueueWait((result, waitMs) => {
      const histogram = result === 'admitted' ? admitted : result === 'rejected' ? rejected : aborted;
      histogram.record(waitMs / MS_PER_S);
    });
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      unsubscribe();
      if (--series.sources === 0) this.series.delete(source.name);
    };
  }

  private produce(): ProducedMetrics {
    const endTime = hrTimeOf(Date.now());
    const dataPoints: HistogramDataPoint[] = [];
    for (const series of this.series.values()) {
      for (const result of RESULTS) {
        const histogram = series.histograms[result];
        if (histogram.size === 0) continue;
        dataPoints.push({ startTime: series.startTime, endTime, attributes: series.attributes[result], value: histogram.snapshot() });
      }
    }
    const metric: HistogramMetric = {
      descriptor: { name: METRIC.timeInQueue, description: TIME_IN_QUEUE_DESCRIPTION, unit: 's', valueType: ValueType.DOUBLE },
      aggregationTemporality: CUMULATIVE,
      dataPointType: HISTOGRAM,
      dataPoints,
    };
    return { resourceMetrics: { resource: NO_RESOURCE, scopeMetrics: dataPoints.length === 0 ? [] : [{ scope: { name: SCOPE }, metrics: [metric] }] }, errors: [] };
  }

  private seriesOf(name: string): Series {
    let series = this.series.get(name);
    if (series === undefined) {
      const label = (result: WaitResult): Attributes => ({ [METRIC.limiterAttr]: name, [METRIC.resultAttr]: RESULT[result] });
      const histogram = (): BucketHistogram => new BucketHistogram(DURATION_BOUNDARIES);
      series = {
        histograms: { admitted: histogram(), rejected: histogram(), aborted: histogram() },
        attributes: { admitted: label('admitted'), rejected: label('rejected'), aborted: label('aborted') },
        startTime: hrTimeOf(Date.now()),
        sources: 0,
      };
      this.series.set(name, series);
    }
    return series;
  }
}
