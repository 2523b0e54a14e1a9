import { parseRetryAfterMs } from '../core/http-time.js';
import { headerOf, isResponseLike } from './outcome.js';

/**
 * parseRetryAfter reads an HTTP `Retry-After` value: delta-seconds (`"120"`, decimals
 * tolerated) or an HTTP-date (`"Wed, 21 Oct 2026 07:28:00 GMT"`), measured from
 * `nowEpochMs` (default `Date.now()`). A date in the past gives 0; anything else
 * unparseable gives undefined. The parsing is the HTTP feedback layer's, so both read a
 * header the same way.
 */
export function parseRetryAfter(value: string, nowEpochMs = Date.now()): number | undefined {
  const ms = parseRetryAfterMs(value, nowEpochMs);
  return ms === undefined ? undefined : Math.max(0, ms);
}

/**
 * retryAfterOf finds a server's "try again after" hint, in milliseconds, on an error or a
 * result: a numeric `retryAfterMs` property (every sluice RejectedError has one), or a
 * `Retry-After` header on a Response-like object — the value itself, or its `response`
 * property (axios and got errors), or its `cause`. Undefined when there is no hint;
 * `Infinity` means "never" (a breaker isolated by hand). Negative hints count as 0.
 *
 * The RateLimit header dialects (`RateLimit-Reset`, `X-RateLimit-Reset`…) are read by the
 * HTTP layer, which turns them into `retryAfterMs`.
 */
export function retryAfterOf(source: unknown, nowEpochMs?: number): number | undefined {
  return find(source, nowEpochMs, 2);
}

function find(source: unknown, nowEpochMs: number | undefined, depth: number): number | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const direct = (source as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof direct === 'number' && !Number.isNaN(direct)) return Math.max(0, direct);
  if (isResponseLike(source)) {
    const header = headerOf(source, 'retry-after');
    const ms = header === undefined ? undefined : parseRetryAfter(header, nowEpochMs);
    if (ms !== undefined) return ms;
  }
  if (depth === 0) return undefined;
  return (
    find((source as { response?: unknown }).response, nowEpochMs, depth - 1) ??
    find((source as { cause?: unknown }).cause, nowEpochMs, depth - 1)
  );
}
