import { compose } from '../policies/compose.js';
import { bulkhead, rateLimit } from '../policies/limiter-policies.js';
import { pipeline } from '../policies/pipeline.js';
import { Answer, describe, MarkOurs, QuotaHold } from './fetch-attempt.js';
import { ServerPace } from './fetch-feedback.js';
import { FirstAnswer } from '../adaptive/first-answer.js';
import { resolveFetchOptions, type SluiceFetchOptions } from './fetch-options.js';
import { outgoingOf } from './outgoing.js';
import { retriedByCaller } from './retry-owner.js';
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
 * fetch would return it (a 429 stays a Response), and so is one whose Retry-After is longer
 * than `maxRetryAfter` (or the retry's `maxDelayMs`), at once: no wait that long is made.
 * A request marked as retried by its sender (the OpenAI and Anthropic SDKs'
 * `x-stainless-retry-count`) is not retried here: its sender owns the retries, and each
 * attempt it makes is still paced (retry-owner.ts). The concurrency slot is held until the
 * response's headers arrive, not while its body is read.
 *
 * The wrapped fetch gets a URL string and an init on every attempt, never a Request built
 * here, so any fetch works (undici's own, a test double): see outgoing.ts.
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
    rateLimit: parts.adaptive || parts.limiter === undefined ? pace : compose(pace, rateLimit(parts.limiter, { priority: parts.priority })),
    bulkhead: parts.concurrency && bulkhead(parts.concurrency),
    timeout: parts.timeout,
  };

  return async function fetchWithSluice(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const outgoing = await outgoingOf(input, init);
    const quota = parts.quota && new QuotaHold(parts.quota, outgoing.request);
    const retried = retriedByCaller(outgoing.request.headers);
    // Until the first request has been answered, each goes alone (FirstAnswer).
    const first = firstAnswer?.waiting && (await firstAnswer.enter(outgoing.signal)) ? firstAnswer : undefined;
    // Written out, not spread from `shared`: a spread object is slow to build and to read.
    const exchange = pipeline({
      retry: retried ? undefined : shared.retry,
      attempt: retried ? undefined : shared.attempt,
      breaker: shared.breaker,
      rateLimit: quota ? compose(shared.rateLimit, quota) : shared.rateLimit,
      bulkhead: shared.bulkhead,
      admitted: new Answer(parts, pace, { method: outgoing.request.method, url: redactUrl(outgoing.url) }, quota, first),
      timeout: shared.timeout,
    });
    const { url, init: sent, signal } = outgoing;
    try {
      return await exchange.execute((context) => parts.fetch(url, { ...sent, signal: context.signal }), signal === undefined ? undefined : { signal });
    } finally {
      first?.leave();
    }
  };
}
