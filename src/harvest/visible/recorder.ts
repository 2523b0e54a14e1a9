import type { Clock } from '../../core/clock.js';
import type { HarvestMonitor, HarvestSnapshot, TimelinePoint } from '../monitor.js';
import { BucketSeries } from './bucket-series.js';
import { LogHistogram } from './log-histogram.js';
import { WindowCounter } from './window-counter.js';

export interface HarvestRecorderOptions {
  /** The harvest's clock; the run starts at `clock.now()` when the recorder is built. */
  clock: Clock;
  /** What earlier runs already wrote, when this run resumes; default none. */
  resumed?: { records: number; pages: number; bytes: number } | undefined;
  /** Width of a timeline bucket in ms before any merge, > 0; default 1000. */
  bucketMs?: number | undefined;
}

/**
 * HarvestRecorder: the HarvestMonitor that counts what the engine reports and answers
 * with a snapshot (progress line, summary, --json) and a timeline (report).
 *
 * Counting rules the numbers follow:
 * - `records`, `pages` and `bytes` are what the output holds, resumed work included;
 *   `resumedRecords` / `resumedPages` say how much of it earlier runs wrote, and
 *   `recordRate` counts only this run's records.
 * - `throttled` counts 429 responses; `networkErrors` attempts with no response. In the
 *   timeline, `errors` is those plus responses >= 400 other than 429.
 * - Latency percentiles are over responses (any status), not over failed attempts.
 * - The ETA divides what is left (records when their total is known, else pages) by
 *   this run's pace over the time it was not paused, plus what is left of a pause.
 *
 * Memory is constant in the length of the run: fixed histograms, a 5 s ring for the
 * recent rate, and a timeline of at most 2,000 buckets (see BucketSeries).
 */
export class HarvestRecorder implements HarvestMonitor {
  private readonly clock: Clock;
  private readonly start: number;
  private readonly series: BucketSeries;
  private readonly recent = new WindowCounter();
  private readonly latencyAll = new LogHistogram(0.01, 1.02, 1000); // 2 % bins, 10 µs … ~66 min
  private readonly resumed: { records: number; pages: number; bytes: number };
  private readonly statuses = new Map<number, number>();

  private requests = 0;
  private throttled = 0;
  private networkErrors = 0;
  private retries = 0;
  private failedPages = 0;
  private records = 0;
  private pages = 0;
  private bytes = 0;
  private rateLimitNow: number | undefined;
  private concurrencyLimit = 0;
  private inFlight = 0;
  private totalPages: number | undefined;
  private totalRecords: number | undefined;
  private pausedUntil: number | undefined;
  private pauseBegan = 0;
  private pausedBefore = 0;

  constructor(options: HarvestRecorderOptions) {
    this.clock = options.clock;
    this.start = options.clock.now();
    this.series = new BucketSeries(options.bucketMs ?? 1000);
    this.resumed = { records: 0, pages: 0, bytes: 0, ...options.resumed };
  }

  requestStarted(now: number): void {
    const t = this.rel(now);
    this.requests++;
    this.recent.record(t);
    this.series.request(t);
  }

  responseReceived(now: number, status: number, latencyMs: number): void {
    const t = this.rel(now);
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    this.latencyAll.record(latencyMs);
    this.series.latency(t, latencyMs);
    if (status === 429) {
      this.throttled++;
      this.series.throttled(t);
    } else if (status >= 400) {
      this.series.error(t);
    }
  }

  requestFailed(now: number, _latencyMs: number, _reason: string): void {
    this.networkErrors++;
    this.series.error(this.rel(now));
  }

  retryScheduled(_now: number, _delayMs: number): void {
    this.retries++;
  }

  pageDone(now: number, records: number, bytes: number): void {
    this.pages++;
    this.records += records;
    this.bytes += bytes;
    this.series.records(this.rel(now), records);
  }

  pageFailed(_now: number, _reason: string): void {
    this.failedPages++;
  }

  pauseStarted(now: number, untilMs: number, _reason: string): void {
    if (this.pausedUntil === undefined) this.pauseBegan = now;
    // A second pause while paused only moves the end: the time is counted once.
    this.pausedUntil = untilMs;
    this.series.pause(this.rel(now), true);
  }

  pauseEnded(now: number): void {
    if (this.pausedUntil === undefined) return;
    this.pausedBefore += Math.max(0, now - this.pauseBegan);
    this.pausedUntil = undefined;
    this.series.pause(this.rel(now), false);
  }

  concurrency(now: number, limit: number, inFlight: number): void {
    this.concurrencyLimit = limit;
    this.inFlight = inFlight;
    this.series.concurrency(this.rel(now), limit, inFlight);
  }

  rateLimit(now: number, perSecond: number | undefined): void {
    this.rateLimitNow = perSecond;
    this.series.rate(this.rel(now), perSecond);
  }

  totals(_now: number, totals: { pages?: number; records?: number }): void {
    if (totals.pages !== undefined) this.totalPages = totals.pages;
    if (totals.records !== undefined) this.totalRecords = totals.records;
  }

  snapshot(): HarvestSnapshot {
    const now = this.clock.now();
    const elapsedMs = Math.max(0, now - this.start);
    const seconds = elapsedMs / 1000;
    const pausedMs = this.pausedBefore + (this.pausedUntil === undefined ? 0 : Math.max(0, now - this.pauseBegan));
    return {
      elapsedMs,
      records: this.resumed.records + this.records,
      pages: this.resumed.pages + this.pages,
      resumedRecords: this.resumed.records,
      resumedPages: this.resumed.pages,
      bytes: this.resumed.bytes + this.bytes,
      requests: this.requests,
      statuses: Object.fromEntries([...this.statuses].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v])),
      throttled: this.throttled,
      networkErrors: this.networkErrors,
      retries: this.retries,
      failedPages: this.failedPages,
      recentRate: this.recent.perSecond(elapsedMs),
      averageRate: seconds > 0 ? this.requests / seconds : 0,
      recordRate: seconds > 0 ? this.records / seconds : 0,
      rateLimit: this.rateLimitNow,
      concurrencyLimit: this.concurrencyLimit,
      inFlight: this.inFlight,
      latencyP50Ms: this.latencyAll.quantile(0.5),
      latencyP95Ms: this.latencyAll.quantile(0.95),
      totalPages: this.totalPages,
      totalRecords: this.totalRecords,
      etaMs: this.eta(now, elapsedMs - pausedMs),
      pausedUntil: this.pausedUntil,
      pausedMs,
    };
  }

  /** The report's series from the start of the run up to now, oldest first. */
  timeline(): TimelinePoint[] {
    this.series.advanceTo(this.rel(this.clock.now()));
    return this.series.points();
  }

  private eta(now: number, activeMs: number): number | undefined {
    const byRecords = this.totalRecords !== undefined;
    const total = byRecords ? this.totalRecords : this.totalPages;
    if (total === undefined) return undefined;
    const done = byRecords ? this.resumed.records + this.records : this.resumed.pages + this.pages;
    if (done >= total) return 0;
    const doneHere = byRecords ? this.records : this.pages;
    if (doneHere === 0 || activeMs <= 0) return undefined;
    const waiting = this.pausedUntil === undefined ? 0 : Math.max(0, this.pausedUntil - now);
    return ((total - done) * activeMs) / doneHere + waiting;
  }

  /** Ms since the start; an event stamped before the recorder existed counts at 0. */
  private rel(now: number): number {
    return Math.max(0, now - this.start);
  }
}
