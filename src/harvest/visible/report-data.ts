import type { HarvestSnapshot, TimelinePoint } from '../monitor.js';

/** One line (or bar set) of a chart; null is a gap (nothing known for that bucket). */
export interface ChartSeries {
  name: string;
  color: string;
  /** line: through bucket middles; step: flat across each bucket (a limit); bars: one per bucket. */
  kind: 'line' | 'step' | 'bars';
  dashed?: boolean | undefined;
  values: Array<number | null>;
}

export interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  series: ChartSeries[];
}

/** Everything the report's script draws, embedded as JSON; times in seconds from the start. */
export interface ReportData {
  /** Start of each bucket. */
  starts: number[];
  widthS: number;
  endS: number;
  /** Paused stretches as [from, to], merged from neighbouring paused buckets. */
  pauses: Array<[number, number]>;
  charts: ChartSpec[];
}

const COLORS = { requests: '#2563eb', limit: '#dc2626', inFlight: '#0d9488', p50: '#7c3aed', p95: '#db2777', throttled: '#ea580c', errors: '#6b7280' };

/**
 * reportData: the timeline as chart series. Counts become per-second rates over the
 * bucket width (read from the points' spacing); a last bucket less than half elapsed is
 * divided by the full width, so a few ms of it do not read as a spike.
 */
export function reportData(timeline: readonly TimelinePoint[], snapshot: HarvestSnapshot): ReportData {
  const first = timeline[0];
  const second = timeline[1];
  const widthMs = first && second ? second.atMs - first.atMs : Math.max(1, snapshot.elapsedMs);
  const endMs = Math.max(snapshot.elapsedMs, timeline.length > 0 ? timeline[timeline.length - 1]!.atMs : 0);
  const perSecond = (count: number, p: TimelinePoint): number => {
    const covered = Math.min(widthMs, endMs - p.atMs);
    return (count * 1000) / (covered >= widthMs / 2 ? covered : widthMs);
  };
  const column = <T>(f: (p: TimelinePoint) => T): T[] => timeline.map(f);
  const pauses: Array<[number, number]> = [];
  for (const p of timeline) {
    if (!p.paused) continue;
    const from = p.atMs / 1000;
    const to = Math.min(p.atMs + widthMs, endMs) / 1000;
    const last = pauses[pauses.length - 1];
    if (last && last[1] >= from) last[1] = to;
    else pauses.push([from, to]);
  }
  return {
    starts: column((p) => p.atMs / 1000),
    widthS: widthMs / 1000,
    endS: endMs / 1000,
    pauses,
    charts: [
      {
        id: 'rate',
        title: 'Requests per second against the rate limit',
        unit: '/s',
        series: [
          { name: 'requests/s', color: COLORS.requests, kind: 'line', values: column((p) => perSecond(p.requests, p)) },
          { name: 'rate limit', color: COLORS.limit, kind: 'step', dashed: true, values: column((p) => p.rateLimit ?? null) },
        ],
      },
      {
        id: 'concurrency',
        title: 'Concurrency',
        unit: '',
        series: [
          { name: 'in flight (peak)', color: COLORS.inFlight, kind: 'line', values: column((p) => p.inFlight) },
          { name: 'limit', color: COLORS.limit, kind: 'step', dashed: true, values: column((p) => p.concurrencyLimit) },
        ],
      },
      {
        id: 'latency',
        title: 'Latency',
        unit: 'ms',
        series: [
          { name: 'p50', color: COLORS.p50, kind: 'line', values: column((p) => p.latencyP50Ms ?? null) },
          { name: 'p95', color: COLORS.p95, kind: 'line', values: column((p) => p.latencyP95Ms ?? null) },
        ],
      },
      {
        id: 'throttled',
        title: '429s and errors per second',
        unit: '/s',
        series: [
          { name: '429s', color: COLORS.throttled, kind: 'bars', values: column((p) => perSecond(p.throttled, p)) },
          { name: 'errors', color: COLORS.errors, kind: 'bars', values: column((p) => perSecond(p.errors, p)) },
        ],
      },
    ],
  };
}
