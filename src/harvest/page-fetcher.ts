import type { RateLimiter } from '../limiters/rate-limiter.js';
import { parseFeedback } from '../http/feedback/parse.js';
import type { Clock } from '../core/clock.js';
import { isAbortError, RejectedError } from '../core/errors.js';
import { isTransient } from '../policies/transient.js';
import { sluiceFetch, type SluiceFetch } from '../http/fetch.js';
import type { FetchFn } from '../http/fetch-options.js';
import { sustainedRatePerMs } from '../flow/options.js';
import type { SendLatencyLimit } from './auto-concurrency.js';
import { DEFAULTS, type HarvestConfig } from './config.js';
import type { HarvestMonitor } from './monitor.js';
import { PageShapeError, readPage, type PageContent } from './page-reader.js';
import { QuotaPause } from './quota-pause.js';
import { scrub } from './secrets.js';
import { harvestTransport, RefusedError, type ReadBody } from './transport.js';

/** One page's outcome after retries and quota pauses: its content, or why it failed (redacted). */
export type PageResult = { ok: true; content: PageContent; url: string; headers: Headers } | { ok: false; reason: string };

/** Longest Retry-After a quota pause honours; a longer one is waited out in steps of this. */
const MAX_PAUSE_MS = 6 * 60 * 60 * 1000;
/** A pause sluiceFetch takes this long or longer is shown as a quota pause. */
const VISIBLE_PAUSE_MS = 1000;

export interface PageFetcherDeps {
  clock: Clock;
  monitor: HarvestMonitor;
  /** The fetch underneath (tests pass a double). Default globalThis.fetch. */
  fetch?: FetchFn;
  limiter: RateLimiter | undefined;
  limit: SendLatencyLimit | undefined;
  /** The fixed concurrency, reported when `limit` is undefined. */
  fixedConcurrency: number;
}

/**
 * PageFetcher: gets one page — through sluiceFetch (rate, adaptive rate, retries honouring
 * Retry-After, per-attempt timeout) over harvestTransport (safe redirects, body cap, JSON)
 * — and reads it. A quota exhausted until a reset pauses the whole harvest (QuotaPause)
 * and the page is asked again; any other failure is returned as a reason, never thrown,
 * except the caller's abort.
 */
export class PageFetcher {
  readonly pause: QuotaPause;
  private readonly api: SluiceFetch;
  private readonly bodies = new WeakMap<Response, ReadBody>();
  private readonly secrets: string[];
  private sending = 0;
  private lastRate: number | undefined;

  constructor(
    private readonly config: HarvestConfig,
    private readonly deps: PageFetcherDeps,
  ) {
    const { clock, monitor } = deps;
    this.pause = new QuotaPause(clock, monitor);
    this.secrets = Object.values(config.headers);
    const transport = harvestTransport(
      {
        fetch: deps.fetch ?? ((input, init) => globalThis.fetch(input, init)),
        clock,
        monitor,
        maxBodyBytes: config.maxBodyBytes,
        maxRedirects: DEFAULTS.maxRedirects,
        userHeaders: Object.keys(config.headers),
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
    this.api = sluiceFetch({
      fetch: counted,
      clock,
      ...(deps.limiter ? { rate: deps.limiter, adaptive: config.adaptive ? { margin: 0.005 } : false } : { adaptive: false }),
      retry: {
        attempts: config.retries + 1,
        // Every retry is paced by the rate limiter already; a budget would only fail pages.
        budget: false,
        retryOn: (outcome) => !(outcome.ok === false && (outcome.error instanceof RefusedError || outcome.error instanceof PageShapeError)) && isTransient(outcome),
      },
      timeout: config.timeoutMs,
      // A long Retry-After is a quota reset: honour it whole, every request waits (shown as a pause).
      maxRetryAfter: MAX_PAUSE_MS,
      onEvent: (event) => {
        const now = clock.now();
        if (event.type === 'retry') monitor.retryScheduled(now, event.delayMs);
        else if (event.type === 'response') {
          if (event.pauseMs !== undefined && event.pauseMs >= VISIBLE_PAUSE_MS) this.pause.pauseUntil(now + event.pauseMs, `quota exhausted: HTTP ${event.status}, the server asked to wait ${Math.ceil(event.pauseMs / 1000)} s`);
          if (event.rate !== undefined && event.rate !== this.lastRate) {
            this.lastRate = event.rate;
            monitor.rateLimit(now, event.rate);
          }
        }
      },
    });
  }

  /** Fetches and reads the page at `url`. Rejects only when `signal` aborts. */
  async fetch(url: string, signal: AbortSignal): Promise<PageResult> {
    let lastReason = '';
    for (let pauses = 0; pauses <= DEFAULTS.maxQuotaPauses; pauses++) {
      await this.pause.wait(signal);
      let response: Response;
      try {
        response = await this.api(url, { headers: this.config.headers, redirect: 'manual', signal });
      } catch (error) {
        if (signal.aborted || isAbortError(error)) throw error;
        const waitMs = error instanceof RejectedError && Number.isFinite(error.retryAfterMs) ? error.retryAfterMs : undefined;
        lastReason = this.reasonOf(error);
        if (waitMs !== undefined && waitMs > 0) {
          this.pause.pauseUntil(this.deps.clock.now() + Math.min(waitMs, MAX_PAUSE_MS), `quota exhausted: ${lastReason}`);
          continue;
        }
        return { ok: false, reason: lastReason };
      }
      const read = this.bodies.get(response);
      if (read !== undefined) {
        try {
          return { ok: true, content: readPage(read.body, response.headers, this.config), url: read.url, headers: response.headers };
        } catch (error) {
          return { ok: false, reason: this.reasonOf(error) };
        }
      }
      lastReason = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
      const hint = parseFeedback(response, { maxRetryAfterMs: MAX_PAUSE_MS });
      if ((hint.throttled || response.status === 403) && hint.retryAfterMs !== undefined && hint.retryAfterMs > 0) {
        this.pause.pauseUntil(this.deps.clock.now() + hint.retryAfterMs, `quota exhausted (${lastReason}), resets in ${Math.ceil(hint.retryAfterMs / 1000)} s`);
        continue;
      }
      if (response.status === 429) {
        // Still refused after every retry, and the server will not say until when (a hidden
        // limit): wait longer each time — 1 s, 2 s, 4 s … up to a minute — rather than fail.
        const guessMs = Math.min(60_000, 1000 * 2 ** pauses);
        this.pause.pauseUntil(this.deps.clock.now() + guessMs, `quota exhausted (${lastReason}, no reset given), waiting ${Math.ceil(guessMs / 1000)} s`);
        continue;
      }
      return { ok: false, reason: lastReason };
    }
    return { ok: false, reason: `still throttled after ${DEFAULTS.maxQuotaPauses} quota pauses (${lastReason})` };
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
