import type { HarvestSnapshot } from '../monitor.js';
import { formatBytes, formatCount, formatDuration, formatMs, formatPercent, formatRate } from './format.js';

/** Where the harvest wrote: the output file (undefined for stdout) and the failed-pages file. */
export interface SummaryMeta {
  out?: string | undefined;
  failedFile?: string | undefined;
  /** How the run ended when it did not finish, or finished short: the headline must not say "done". */
  ended?: 'interrupted' | 'stopped' | 'incomplete' | undefined;
  /** What the harvest knows is missing, one line each (gapLines); none when it is complete. */
  incomplete?: readonly string[] | undefined;
  /** Whether `--retry-failed` fetches the failed pages again (offset/page); default true. */
  retryFailed?: boolean | undefined;
}

/**
 * HarvestSummaryJson: what `--json` prints, one object, version 1. Keys are always
 * present (unknown values are null, never missing), rates are per second rounded to
 * 0.01, latencies in ms rounded to 0.1, and new fields are only ever added.
 *
 * - `ok`: no page failed, and nothing is known to be missing (exit 0).
 * - `incomplete`: what the harvest knows is missing, one line each, as the CLI prints them
 *   (an empty array when complete).
 * - `records` / `pages`: `total` in the output, `resumed` from earlier runs, `thisRun`.
 * - `requests.total`: attempts sent (retries included); `statuses`: responses by code.
 * - `rateLimit.usedPercent`: the run's average request rate as a percentage of the last
 *   known limit; null without a limit.
 * - `failedFile`: where the failed pages went, null when none failed.
 */
export interface HarvestSummaryJson {
  schema: 'sluice.harvest.summary/1';
  ok: boolean;
  incomplete: string[];
  elapsedMs: number;
  out: string | null;
  failedFile: string | null;
  records: { total: number; resumed: number; thisRun: number; perSecond: number };
  pages: { total: number; resumed: number; thisRun: number; failed: number };
  bytes: number;
  requests: {
    total: number;
    perSecond: number;
    throttled: number;
    networkErrors: number;
    retries: number;
    statuses: Record<string, number>;
  };
  rateLimit: { perSecond: number | null; usedPercent: number | null };
  concurrencyLimit: number;
  latencyMs: { p50: number | null; p95: number | null };
  pausedMs: number;
}

const round = (n: number, step: number): number => Math.round(n / step) * step;
const rate = (n: number): number => Number(round(n, 0.01).toFixed(2));
const ms = (n: number | undefined): number | null => (n === undefined ? null : Number(round(n, 0.1).toFixed(1)));

/** summaryJson: the snapshot as the stable `--json` shape (HarvestSummaryJson). */
export function summaryJson(s: HarvestSnapshot, meta: SummaryMeta): HarvestSummaryJson {
  const used = quotaUsed(s);
  return {
    schema: 'sluice.harvest.summary/1',
    ok: s.failedPages === 0 && (meta.incomplete?.length ?? 0) === 0,
    incomplete: [...(meta.incomplete ?? [])],
    elapsedMs: Math.round(s.elapsedMs),
    out: meta.out ?? null,
    failedFile: s.failedPages > 0 ? (meta.failedFile ?? null) : null,
    records: { total: s.records, resumed: s.resumedRecords, thisRun: s.records - s.resumedRecords, perSecond: rate(s.recordRate) },
    pages: { total: s.pages, resumed: s.resumedPages, thisRun: s.pages - s.resumedPages, failed: s.failedPages },
    bytes: s.bytes,
    requests: {
      total: s.requests,
      perSecond: rate(s.averageRate),
      throttled: s.throttled,
      networkErrors: s.networkErrors,
      retries: s.retries,
      statuses: { ...s.statuses },
    },
    rateLimit: { perSecond: s.rateLimit ?? null, usedPercent: used === undefined ? null : Number((used * 100).toFixed(1)) },
    concurrencyLimit: s.concurrencyLimit,
    latencyMs: { p50: ms(s.latencyP50Ms), p95: ms(s.latencyP95Ms) },
    pausedMs: Math.round(s.pausedMs),
  };
}

/** The share of the limit the run used on average, or undefined with no known limit. */
export function quotaUsed(s: HarvestSnapshot): number | undefined {
  return s.rateLimit !== undefined && s.rateLimit > 0 ? s.averageRate / s.rateLimit : undefined;
}

/**
 * summaryRows: the summary as label/value pairs, shared by the text summary and the
 * report's table so both say the same thing.
 */
export function summaryRows(s: HarvestSnapshot, meta: SummaryMeta): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  const thisRun = (total: number, resumed: number): string =>
    resumed > 0 ? ` (${formatCount(total - resumed)} this run, ${formatCount(resumed)} resumed)` : '';
  const out = meta.out !== undefined ? ` → ${meta.out}` : '';
  rows.push(['records', `${formatCount(s.records)}${thisRun(s.records, s.resumedRecords)}, ${formatBytes(s.bytes)}${out}`]);
  rows.push(['pages', `${formatCount(s.pages)}${thisRun(s.pages, s.resumedPages)}`]);
  rows.push(['time', formatDuration(s.elapsedMs)]);
  rows.push(['rate', `${formatRate(s.averageRate)} requests/s, ${formatRate(s.recordRate)} records/s (${formatCount(s.requests)} requests)`]);
  const used = quotaUsed(s);
  rows.push(['quota used', used === undefined ? 'no limit known' : `${formatPercent(used)} of ${formatRate(s.rateLimit!)}/s`]);
  if (s.latencyP50Ms !== undefined) rows.push(['latency', `p50 ${formatMs(s.latencyP50Ms)}, p95 ${formatMs(s.latencyP95Ms)}`]);
  rows.push(['429s', formatCount(s.throttled)]);
  rows.push(['retries', formatCount(s.retries)]);
  if (s.networkErrors > 0) rows.push(['no response', `${formatCount(s.networkErrors)} attempts (network error, timeout or bad body)`]);
  if (s.pausedMs > 0) rows.push(['paused', `${formatDuration(s.pausedMs)} waiting for the quota to reset`]);
  const where = meta.failedFile !== undefined ? ` → ${meta.failedFile}${meta.retryFailed === false ? '' : ' (--retry-failed runs them again)'}` : '';
  rows.push(['failures', s.failedPages > 0 ? `${formatCount(s.failedPages)} pages${where}` : 'none']);
  return rows;
}

/** formatSummary: the end-of-run summary, a headline and one aligned line per figure. */
export function formatSummary(s: HarvestSnapshot, meta: SummaryMeta): string {
  const headline = meta.ended !== undefined
    ? `harvest ${meta.ended} after ${formatDuration(s.elapsedMs)}`
    : s.failedPages > 0
      ? `harvest finished in ${formatDuration(s.elapsedMs)} with ${formatCount(s.failedPages)} failed pages`
      : `harvest done in ${formatDuration(s.elapsedMs)}`;
  const rows = summaryRows(s, meta);
  const width = Math.max(...rows.map(([label]) => label.length));
  return [headline, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join('\n') + '\n';
}
