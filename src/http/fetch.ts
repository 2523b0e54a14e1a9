import { compose } from '../policies/compose.js';
import { bulkhead, rateLimit } from '../policies/limiter-policies.js';
import { pipeline } from '../policies/pipeline.js';
import { Answer, describe, MarkOurs, QuotaHold } from './fetch-attempt.js';
import { ServerPace } from './fetch-feedback.js';
import { FirstAnswer } from './first-answer.js';
import { resolveFetchOptions, type SluiceFetchOptions } from './fetch-options.js';
import { redactUrl } from './redact.js';

/** What sluiceFetch returns: the `fetch` signature, so it fits wherever a fetch is asked for. */
export type SluiceFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * sluiceFetch: a `fetch` that paces itself. Each attempt goes through the pipeline of
 * policies/pipeline.ts, in order:
 *
 * 1. the retry, then the breaker;
 * 2. waits out a pause the server asked for (Retry-After, a quota at 0 until its reset);
 * 3. takes its turn from the rate limiter (adapted to the server's feedback when `adaptive`,
 *    its arrival margin widened when a 429 comes while the whole rate was in use:
 *    ArrivalMargin); the first request goes alone and is counted from its answer (FirstAnswer);
 * 4. takes the extra quota (LLM tokens), then a concurrency slot;
 * 5. is sent under the per-attempt timeout, and its answer heard inside the slot.
 *
 * Every response's headers feed the adaptation; 429 and 5xx are retried with backoff, never
 * sooner than the server asked. When retries run out the last response is returned as
 * fetch would return it (a 429 stays a Response); a Retry-After longer than the retry's
 * `maxDelayMs` rejects with RateLimitedError. The concurrency slot is held until the
 * response's headers arrive, not while its body is read.
 *
 * Only http and https URLs are fetched; a URL with credentials is refused (they would be
 * echoed in fetch's own error), and no header value or secret query value appears in an
 * error or event this function makes. Bad options throw ConfigError naming the field,
 * before any request. One sluiceFetch per server: its pauses and adapted rate are that
 * server's.
 */
export function sluiceFetch(options: SluiceFetchOptions = {}): SluiceFetch {
  const parts = resolveFetchOptions(options);
  const pace = new ServerPace(parts);
  const firstAnswer = FirstAnswer.for(parts.limiter);
  const emit = parts.onEvent;
  if (emit && parts.adaptive) {
    parts.adaptive.onSharingChange(({ sharing, error }) => emit(error === undefined ? { type: 'sharing', sharing } : { type: 'sharing', sharing, error: describe(error) }));
  }
  // What this sluiceFetch's attempts returned or threw: a RetryPolicy may be shared by
  // several sluiceFetch, and each must report (and free) only its own retries.
  const ours = new WeakSet<object>();
  parts.retry?.onRetry((event) => {
    const outcome = event.result ?? event.error;
    if (typeof outcome !== 'object' || outcome === null || !ours.has(outcome)) return;
    const response = event.result instanceof Response ? event.result : undefined;
    // A retried answer is dropped: free its connection.
    if (response) void response.body?.cancel().catch(() => {});
    if (!emit) return;
    // The retry policy may be shared, so the event names the server only from the response itself.
    const about = response ? { status: response.status, ...(response.url ? { url: redactUrl(response.url) } : {}) } : {};
    emit({ type: 'retry', attempt: event.attempt, delayMs: event.delayMs, ...about });
  });
  // The parts every request shares; each request adds its own QuotaHold and Answer.
  const shared = {
    retry: parts.retry,
    // Without a retry nobody asks whose an outcome is.
    attempt: parts.retry && new MarkOurs(ours),
    breaker: parts.breaker,
    rateLimit: parts.adaptive || parts.limiter === undefined ? pace : compose(pace, rateLimit(parts.limiter)),
    bulkhead: parts.concurrency && bulkhead(parts.concurrency),
    timeout: parts.timeout,
  };

  return async function fetchWithSluice(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = toRequest(input, init);
    const caller = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    const quota = parts.quota && new QuotaHold(parts.quota, request);
    // Until the first request has been answered, each goes alone (FirstAnswer).
    const first = firstAnswer?.waiting && (await firstAnswer.enter(caller)) ? firstAnswer : undefined;
    // Written out, not spread from `shared`: a spread object is slow to build and to read.
    const exchange = pipeline({
      retry: shared.retry,
      attempt: shared.attempt,
      breaker: shared.breaker,
      rateLimit: quota ? compose(shared.rateLimit, quota) : shared.rateLimit,
      bulkhead: shared.bulkhead,
      admitted: new Answer(parts, pace, { method: request.method, url: redactUrl(request.url) }, quota, first),
      timeout: shared.timeout,
    });
    try {
      return await exchange.execute((context) => parts.fetch(request.clone(), { signal: context.signal }), caller === undefined ? undefined : { signal: caller });
    } finally {
      first?.leave();
    }
  };
}

/** Builds the Request once (each attempt sends a clone); refuses what must not be sent. */
function toRequest(input: string | URL | Request, init: RequestInit | undefined): Request {
  const raw = input instanceof Request ? input.url : String(input);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`sluiceFetch: not an absolute URL: ${redactUrl(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`sluiceFetch: only http and https URLs are fetched (got ${url.protocol})`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(`sluiceFetch: credentials in the URL are not sent; use an Authorization header (${redactUrl(url)})`);
  }
  try {
    return new Request(input, init);
  } catch (error) {
    // fetch's own message quotes the invalid header value, and that value is often a token.
    if (error instanceof TypeError && /header value/.test(error.message)) throw new TypeError('sluiceFetch: a header value is invalid (a line break or a NUL in it); the value is not shown');
    throw error;
  }
}
