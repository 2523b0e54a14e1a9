import type { RateSignal } from '../algorithms/rate-adaptation.js';
import { compose } from '../policies/compose.js';
import type { Policy, PolicyContext } from '../policies/policy.js';
import { signalOf } from './fetch-feedback.js';
import { resolveFetchOptions, type FetchParts, type SluiceFetchEvent, type SluiceFetchOptions } from './fetch-options.js';
import { redactText } from '../core/redact.js';
import { redactUrl } from './redact.js';

/** What sluiceFetch returns: the `fetch` signature, so it fits wherever a fetch is asked for. */
export type SluiceFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * sluiceFetch: a `fetch` that paces itself. Each attempt, in order:
 *
 * 1. waits out a pause the server asked for (Retry-After, a quota at 0 until its reset);
 * 2. takes its turn from the rate limiter (adapted to the server's feedback when `adaptive`);
 * 3. takes the extra quota (LLM tokens), then a concurrency slot;
 * 4. runs under the per-attempt timeout, inside the breaker, inside the retry.
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
  const outer = compose(...([parts.retry, parts.breaker].filter((p) => p !== undefined) as Policy[]));
  const pause = new ServerPause(parts);
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

  return async function fetchWithSluice(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = toRequest(input, init);
    const caller = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    const label = { method: request.method, url: redactUrl(request.url) };
    const tracked = (context: PolicyContext): Promise<Response> =>
      attempt(parts, pause, request, label, context).then(
        (response) => {
          ours.add(response);
          return response;
        },
        (error: unknown) => {
          if (typeof error === 'object' && error !== null) ours.add(error);
          throw error;
        },
      );
    return outer.execute(tracked, caller === undefined ? undefined : { signal: caller });
  };
}

async function attempt(parts: FetchParts, pause: ServerPause, request: Request, label: { method: string; url: string }, context: PolicyContext): Promise<Response> {
  const signal = context.signal;
  if (parts.adaptive) await parts.adaptive.admit(signal);
  else {
    await pause.wait(signal);
    await parts.limiter?.acquire({ signal });
  }
  const ticket = await parts.quota?.reserve(request, signal);
  let settled = false;
  const permit = await parts.concurrency?.acquire({ signal }).catch(async (error: unknown) => {
    settled = true;
    await ticket?.settle('unsent');
    throw error;
  });
  try {
    const sentAt = parts.clock.now();
    const send = (ctx: PolicyContext): Promise<Response> => parts.fetch(request.clone(), { signal: ctx.signal });
    const response = parts.timeout ? await parts.timeout.execute(send, context) : await send(context);
    const step = pause.observe(response, sentAt);
    settled = true;
    // Accounting must not turn an answer into a failure (a retry would send it twice): if the
    // store cannot take the correction now, the window keeps the estimate.
    await ticket?.settle(response).catch(() => {});
    parts.onEvent?.({ type: 'response', ...label, attempt: context.attempt, status: response.status, throttled: step.throttled, ...step.detail });
    return response;
  } catch (error) {
    parts.onEvent?.({ type: 'error', ...label, attempt: context.attempt, error: describe(error) });
    if (!settled) await ticket?.settle(undefined).catch(() => {});
    throw error;
  } finally {
    permit?.release();
  }
}

/**
 * ServerPause: the feedback side. With adaptation on, AdaptiveRate keeps the pause and the
 * rate; without it, a pause is still kept here, so a Retry-After holds back every request
 * to the server, not only the retry of the request that got it.
 */
class ServerPause {
  private until = Number.NEGATIVE_INFINITY;
  constructor(private readonly parts: FetchParts) {}

  async wait(signal: AbortSignal): Promise<void> {
    const { clock } = this.parts;
    for (let ms = this.until - clock.now(); ms > 0; ms = this.until - clock.now()) await clock.sleep(ms, signal);
  }

  observe(response: Response, sentAt: number): { throttled: boolean; detail: Pick<Extract<SluiceFetchEvent, { type: 'response' }>, 'rate' | 'pauseMs'> } {
    const { clock, adaptive, maxRetryAfterMs } = this.parts;
    const now = clock.now();
    const { feedback, signal } = signalOf(response, sentAt, now, Date.now(), maxRetryAfterMs);
    if (adaptive) {
      const step = adaptive.observe(signal);
      const pauseMs = step.pauseUntil - now;
      return { throttled: feedback.throttled, detail: pauseMs > 0 ? { rate: step.rate, pauseMs } : { rate: step.rate } };
    }
    const pauseMs = plainPause(signal);
    if (pauseMs !== undefined && now + pauseMs > this.until) this.until = now + pauseMs;
    return { throttled: feedback.throttled, detail: pauseMs !== undefined && pauseMs > 0 ? { pauseMs } : {} };
  }
}

/** Without adaptation: pause for a throttle's hint, or until an exhausted quota resets. */
function plainPause(signal: RateSignal): number | undefined {
  if (signal.throttled && signal.retryAfterMs !== undefined) return signal.retryAfterMs;
  if (signal.remaining === 0 && signal.resetMs !== undefined) return signal.resetMs;
  return undefined;
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

/** An error as text for events, with any credential it quotes (URL, Bearer token, secret field) redacted. */
function describe(error: unknown): string {
  return redactText(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}
