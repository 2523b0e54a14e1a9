import type { LimitInput } from '../algorithms/limit-spec.js';
import type { RateStore } from '../store/store.js';
import type { PathStep } from './json-path.js';
import type { UrlTemplate } from './template.js';

/** How the next page is found. */
export type PaginationMode = 'offset' | 'page' | 'cursor' | 'link';

/**
 * HarvestConfig: one harvest, checked and resolved (the CLI builds it from its flags, see
 * src/cli/harvest-args.ts). Header values are secrets: they are sent and never shown.
 */
export interface HarvestConfig {
  template: UrlTemplate;
  /** The template with credentials and secret query values redacted: what messages, state and report show. */
  source: string;
  paginate: PaginationMode;
  /** `{limit}`: records per page. */
  pageSize: number;
  /** `{page}` of the first page. */
  firstPage: number;
  /** Path to the records array; undefined: the body if it is an array, else the first array among results, data, items, records. */
  items: PathStep[] | undefined;
  /** Path to the next cursor or URL (cursor, and optionally link/offset/page). */
  next: PathStep[] | undefined;
  /** Path to the total record count; undefined: count, total, total_count, totalCount, or the X-Total-Count header. */
  total: PathStep[] | undefined;
  /** Most pages in all, resumed runs included. */
  maxPages: number | undefined;
  headers: Record<string, string>;
  /** The request method: GET (default), or POST for an API that takes its query in a body. */
  method?: 'GET' | 'POST' | undefined;
  /** A JSON body sent with every page's request (with `content-type: application/json`), the same for each page. */
  body?: string | undefined;
  /** Origins (`https://api.example.com`) a next link may point to besides the template's own. */
  allowOrigins: ReadonlySet<string>;
  maxBodyBytes: number;
  /** Attempts per request after the first. */
  retries: number;
  /** Per-attempt time limit, headers and body, in ms. */
  timeoutMs: number;
  /** Request limits (the tightest paces); undefined: no limit of ours. */
  rate: LimitInput[] | undefined;
  /** The arrival jitter of the `rate` limits (RateLimiterOptions.arrivalJitter), ms; undefined: the default. */
  arrivalJitterMs?: number | undefined;
  /** Adapt the rate to the server's feedback (starting from and never above `rate`). */
  adaptive: boolean;
  concurrency: number | 'auto';
  /** NDJSON output file; undefined: stdout, without state or resume. */
  out: string | undefined;
  /**
   * Where records go instead of `out`: `postgres://…`, `duckdb:FILE` or `parquet:DIR`
   * (sinks/open-sink.ts), each exactly-once, its driver loaded only then. Undefined: `out`.
   */
  sink?: string | undefined;
  /** Fields that identify a record, kept as columns by a sink; `write: 'merge'` needs them. */
  primaryKey?: string[] | undefined;
  /** How a sink writes a record: `append` (default) or `merge` (replace the one with its primary key). */
  write?: 'append' | 'merge' | undefined;
  /** Fetch again the pages listed as failed in the state before going on. */
  retryFailed: boolean;
  /** Query parameters whose values are secrets besides the secret-named ones (an API key in a parameter of any name): saved and shown as `[redacted]`. */
  secretParams?: readonly string[] | undefined;
  /** Values never to show, besides the header values (scrubbed from reasons). */
  secretValues?: readonly string[] | undefined;
  /** Where the rate limit lives (Redis to share it), under `key`. */
  store?: RateStore | undefined;
  key?: string | undefined;
}

export const DEFAULTS = {
  pageSize: 100,
  firstPage: 1,
  maxBodyBytes: 32 * 1024 * 1024,
  retries: 4,
  timeoutMs: 30_000,
  concurrency: 'auto' as const,
  /**
   * Most pauses on an exhausted quota one page may wait out before it counts as failed, each
   * after a round of `retries + 1` refusals; a wait the server names is one refusal, so a page
   * may be told to wait `(retries + 1) × maxQuotaPauses` times (see QuotaPause.refused).
   */
  maxQuotaPauses: 10,
  maxRedirects: 5,
  /** Times a page whose record count the stated total contradicts (short, empty, too long) is asked again before it counts as such. */
  recountAsks: 2,
  /** Empty pages in a row, each asked again, that end the data before a stated total (a total that overstates, or records deleted). */
  emptyPagesToEnd: 2,
};
