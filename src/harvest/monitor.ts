// The seam between the harvest engine (which fetches and writes) and what makes a
// harvest visible (progress line, summary, --json, HTML report). The engine only
// reports facts through HarvestMonitor; the visible side turns them into numbers.
// Times are milliseconds of the harvest's Clock (Clock.now()), never Date.now(), so the
// whole pipeline runs on a ManualClock in tests.

/** What the engine reports while it runs. Every method is cheap and never throws. */
export interface HarvestMonitor {
  /** An HTTP attempt (first try or retry) was sent. */
  requestStarted(now: number): void;
  /** An attempt ended with a response of any status; 429 counts as throttled. */
  responseReceived(now: number, status: number, latencyMs: number): void;
  /** An attempt ended without a response: network error, timeout, bad body. `reason` is redacted. */
  requestFailed(now: number, latencyMs: number, reason: string): void;
  /** A retry was scheduled after `delayMs`. */
  retryScheduled(now: number, delayMs: number): void;
  /** A page's records were written and made durable. */
  pageDone(now: number, records: number, bytes: number): void;
  /** A page failed after its retries and went to `<out>.failed.ndjson`. `reason` is redacted. */
  pageFailed(now: number, reason: string): void;
  /** The quota is exhausted until `untilMs` (clock ms): the harvest waits instead of failing pages. */
  pauseStarted(now: number, untilMs: number, reason: string): void;
  pauseEnded(now: number): void;
  /** The current concurrency limit (fixed or adaptive) and requests in flight. */
  concurrency(now: number, limit: number, inFlight: number): void;
  /** The current request-rate limit in requests per second (the tightest), undefined when unlimited or unknown. */
  rateLimit(now: number, perSecond: number | undefined): void;
  /** What the API says the whole data set is, when it says (for the ETA). */
  totals(now: number, totals: { pages?: number; records?: number }): void;
}

/** A point-in-time view of a harvest: what the progress line, the summary and --json show. */
export interface HarvestSnapshot {
  elapsedMs: number;
  records: number;
  pages: number;
  /** Records and pages already done by earlier runs this run resumed from. */
  resumedRecords: number;
  resumedPages: number;
  bytes: number;
  requests: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  throttled: number;
  networkErrors: number;
  retries: number;
  failedPages: number;
  /** Requests per second over the last few seconds, and over the whole run. */
  recentRate: number;
  averageRate: number;
  /** Records per second over the whole run. */
  recordRate: number;
  rateLimit: number | undefined;
  concurrencyLimit: number;
  inFlight: number;
  latencyP50Ms: number | undefined;
  latencyP95Ms: number | undefined;
  totalPages: number | undefined;
  totalRecords: number | undefined;
  /** Estimated ms left, when totals are known. */
  etaMs: number | undefined;
  /** Set while paused on an exhausted quota: clock ms when it resumes. */
  pausedUntil: number | undefined;
  pausedMs: number;
}

/** One bucket of the report's time series (default one second wide). */
export interface TimelinePoint {
  /** Start of the bucket, ms since the harvest started. */
  atMs: number;
  requests: number;
  throttled: number;
  errors: number;
  records: number;
  rateLimit: number | undefined;
  concurrencyLimit: number;
  inFlight: number;
  latencyP50Ms: number | undefined;
  latencyP95Ms: number | undefined;
  paused: boolean;
}
