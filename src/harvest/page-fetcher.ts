import type { RateLimiter } from '../limiters/rate-limiter.js';
import type { Clock } from '../core/clock.js';
import { isAbortError, RejectedError } from '../core/errors.js';
import type { Outcome } from '../policies/outcome.js';
import { RetryPolicy } from '../policies/retry.js';
import { isTransient } from '../policies/transient.js';
import { feedbackOf, wasSurprise } from '../http/fetch-feedback.js';
import { sluiceFetch, type SluiceFetch } from '../http/fetch.js';
import type { FetchFn } from '../http/fetch-options.js';
import { sustainedRatePerMs } from '../flow/options.js';
import type { SendLatencyLimit } from './auto-concurrency.js';
import { DEFAULTS, type HarvestConfig } from './config.js';
import type { HarvestMonitor } from './monitor.js';
import { PageShapeError, readPage, type PageContent } from './page-reader.js';
import { mayLeadTo } from './page-urls.js';
import { MAX_PAUSE_MS, namedWait, QuotaPause, type Refusal } from './quota-pause.js';
import { scrub } from './secrets.js';
import { harvestTransport, RefusedError, type ReadBody } from './transport.js';

/**
 * One page's outcome after retries and quota pauses: its content, or why it failed
 * (redacted) — `refused` when harvest would not make the request (a redirect it may not
 * follow, a body over the cap): asking again will not help, an option might.
 */
export type PageResult = { ok: true; content: PageContent; url: string; headers: Headers } | { ok: false; reason: string; refused?: boolean };

/** A pause sluiceFetch takes on its own (its adaptive rate's) this long or longer is followed by the quota pause, and shown. */
const VISIBLE_PAUSE_MS = 1000;

export interface PageFetcherDeps {
  clock: Clock;
  monitor: HarvestMonitor;
  /** The fetch underneath (tests pass a double). Default globalThis.fetch. */
  fetch?: FetchFn | undefined;
  limiter: RateLimiter | undefined;
  limit: SendLatencyLimit | undefined;
  /** The fixed concurrency, reported when `limit` is undefined. */
  fixedConcurrency: number;
  /** The requests' place in the shared limiter's queue (HarvestDeps.priority). */
  priority?: number | undefined;
}

/**
 * PageFetcher: gets one page — through sluiceFetch (rate, adaptive rate, retries of faults,
 * per-attempt timeout) over harvestTransport (safe redirects, body cap, JSON) — and reads
 * it. A refusal for quota is the QuotaPause's: it pauses the whole harvest and the page is
 * asked again. Any other failure is returned as a reason, never thrown, except the
 * caller's abort.
 */
export class PageFetcher {
  readonly pause: QuotaPause;
  private readonly api: SluiceFetch;
  /** The retry's longest wait: a fault naming a longer one comes back unretried, and is the quota pause's. */
  private readonly retryMaxDelayMs: number;
  private readonly bodies = new WeakMap<Response, ReadBody>();
  private readonly secrets: string[];
  private sending = 0;
  private lastRate: number | undefined;

  constructor(
    private readonly config: HarvestConfig,
    private readonly deps: PageFetcherDeps,
  ) {
    const { clock, monitor } = deps;
    this.pause = new QuotaPause(clock, monitor, config.retries);
    this.secrets = [...Object.values(config.headers), ...(config.secretValues ?? [])];
    const transport = harvestTransport(
      {
        fetch: deps.fetch ?? ((input, init) => globalThis.fetch(input, init)),
        clock,
        monitor,
        maxBodyBytes: config.maxBodyBytes,
        maxRedirects: DEFAULTS.maxRedirects,
        userHeaders: Object.keys(config.headers),
        mayFollow: (origin) => mayLeadTo(config, origin),
        onSample: ({ rttMs, dropped }) => deps.limit?.observe({ rttMs, dropped, inflight: this.sending + 1 }),
        onBody: (bytes) => deps.limit?.observeBytes(bytes),
      },
      this.bodies,
    );
    const counted: FetchFn = async (input, init) => {
      this.sending++;
      this.reportConcurrency();
      try {
        return await transport(input, init);
      } finally {
        this.sending--;
        this.reportConcurrency();
      }
    };
    this.lastRate = deps.limiter ? sustainedRatePerMs(deps.limiter) * 1000 : undefined;
    monitor.rateLimit(clock.now(), this.lastRate);
    this.reportConcurrency();
    // Every retry is paced by the rate limiter already; a budget would only fail pages.
    const retry = new RetryPolicy({ clock, attempts: config.retries + 1, budget: false, retryOn: retryable, name: 'harvest' });
    this.retryMaxDelayMs = retry.maxDelayMs;
    this.api = sluiceFetch({
      fetch: counted,
      clock,
      ...(deps.limiter ? { rate: deps.limiter, adaptive: config.adaptive ? { margin: 0.005 } : false, priority: deps.priority } : { adaptive: false }),
      retry,
      timeout: config.timeoutMs,
      // A long Retry-After is a quota reset: read it whole; the quota pause honours it.
      maxRetryAfter: MAX_PAUSE_MS,
      onEvent: (event) => {
        const now = clock.now();
        if (event.type === 'retry') monitor.retryScheduled(now, event.delayMs);
        else if (event.type === 'response') {
          if (event.pauseMs !== undefined && event.pauseMs >= VISIBLE_PAUSE_MS) this.pause.follow(now + event.pauseMs, `quota exhausted: HTTP ${event.status}, the server asked to wait ${Math.ceil(event.pauseMs / 1000)} s`);
          if (event.rate !== undefined && event.rate !== this.lastRate) {
            this.lastRate = event.rate;
            monitor.rateLimit(now, event.rate);
          }
        }
      },
    });
  }

  /** Fetches and reads the page at `url`, asking again after each refusal the QuotaPause waits out. Rejects only when `signal` aborts. */
  async fetch(url: string, signal: AbortSignal): Promise<PageResult> {
    const refusals = QuotaPause.fresh();
    for (;;) {
      await this.pause.wait(signal);
      const answer = await this.ask(url, signal);
      if (!('waitMs' in answer)) return answer;
      const failure = this.pause.refused(answer, refusals);
      if (failure !== undefined) return { ok: false, reason: failure };
      if (answer.own === true && answer.waitMs !== undefined) await this.deps.clock.sleep(Math.min(answer.waitMs, MAX_PAUSE_MS), signal);
    }
  }

  /** One request for the page: its content, a failure, or a refusal (a response or sluice error that says "not now"). */
  private async ask(url: string, signal: AbortSignal): Promise<PageResult | Refusal> {
    let response: Response;
    try {
      response = await this.api(url, this.init(signal));
    } catch (error) {
      if (signal.aborted || isAbortError(error)) throw error;
      const reason = this.reasonOf(error);
      // sluice's own refusal naming its wait: the Redis store out of reach, or a Retry-After
      // on a thrown fault past the retry's longest delay.
      const waitMs = error instanceof RejectedError && Number.isFinite(error.retryAfterMs) && error.retryAfterMs > 0 ? error.retryAfterMs : undefined;
      if (waitMs !== undefined) return { status: undefined, waitMs, reason };
      return error instanceof RefusedError ? { ok: false, reason, refused: true } : { ok: false, reason };
    }
    const read = this.bodies.get(response);
    if (read !== undefined) {
      try {
        return { ok: true, content: readPage(read.body, read.text, response.headers, this.config), url: read.url, headers: response.headers };
      } catch (error) {
        return { ok: false, reason: this.reasonOf(error) };
      }
    }
    const reason = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    return { status: response.status, waitMs: this.waitOf(response), reason, ...(wasSurprise(response) ? { own: true } : {}) };
  }

  /** The request of every page: the harvest's method, headers and body. */
  private init(signal: AbortSignal): RequestInit {
    const { method, body, headers } = this.config;
    if (body === undefined) return { ...(method === 'POST' ? { method } : {}), headers, redirect: 'manual', signal };
    return { method: method ?? 'POST', headers: { 'content-type': 'application/json', ...headers }, body, redirect: 'manual', signal };
  }

  /**
   * The wait a response names for the quota pause: a refusal's (namedWait), or a fault's
   * Retry-After longer than the retry waits — the retry gave that fault back at once, and
   * the server's word still holds for every page.
   */
  private waitOf(response: Response): number | undefined {
    const feedback = feedbackOf(response);
    const named = namedWait(response.status, feedback);
    if (named !== undefined) return named;
    const hint = feedback?.retryAfterMs;
    return hint !== undefined && hint > this.retryMaxDelayMs && retryable({ ok: true, value: response }) ? hint : undefined;
  }

  private reasonOf(error: unknown): string {
    let text = error instanceof Error ? (error.name === 'Error' ? error.message : `${error.name}: ${error.message}`) : String(error);
    const cause = error instanceof Error ? error.cause : undefined;
    if (cause instanceof Error && cause.message) text += ` (${cause.message})`;
    return scrub(text, this.secrets);
  }

  private reportConcurrency(): void {
    this.deps.monitor.concurrency(this.deps.clock.now(), this.deps.limit?.limit ?? this.deps.fixedConcurrency, this.sending);
  }
}

/**
 * What the harvest's retry policy retries: a transient failure (isTransient) but a request
 * harvest refused to make, a body of the wrong shape, and a response that names a wait for
 * every request — that one is the quota pause's (namedWait), not a fault.
 */
function retryable(outcome: Outcome): boolean {
  if (!outcome.ok) return !(outcome.error instanceof RefusedError || outcome.error instanceof PageShapeError) && isTransient(outcome);
  return isTransient(outcome) && !(outcome.value instanceof Response && namedWait(outcome.value.status, feedbackOf(outcome.value)) !== undefined);
}
