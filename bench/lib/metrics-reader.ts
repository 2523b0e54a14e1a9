import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { TimeInQueueProducer } from '../../src/otel.js';

/**
 * A reader as an exporter's would be — the SDK aggregates nothing without one — that is
 * never collected during a run (a scrape between two is not what a bench measures).
 */
class IdleReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** What metrics-on rows share: a MeterProvider with an idle reader, and the time-in-queue producer registered with it as a user wires it. */
export function metricsSetup(): { timeInQueue: TimeInQueueProducer; reader: MetricReader; meterProvider: MeterProvider } {
  const timeInQueue = new TimeInQueueProducer();
  const reader = new IdleReader({ metricProducers: [timeInQueue] });
  return { timeInQueue, reader, meterProvider: new MeterProvider({ readers: [reader] }) };
}
