import { CircuitOpenError, ConfigError, isAbortError, RejectedError } from '../core/errors.js';
import { isResponseLike, statusOf, type Outcome } from './outcome.js';

/** HTTP statuses worth retrying: timeout, too early, too many requests, and the transient 5xx. */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Network error codes (Node and undici) that say "the path failed", not "the request was wrong". */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * isTransient: the default `retryOn`. Retries
 * - results shaped like HTTP responses with status 408, 425, 429, 500, 502, 503 or 504;
 * - errors carrying such a status (`status`, `statusCode` or `response.status`);
 * - network errors (ECONNRESET, ETIMEDOUT, undici socket errors…), TimeoutError and
 *   sluice refusals that carry a finite `retryAfterMs` (RateLimitedError, QueueFullError);
 * - any other Error, as p-retry does — except programmer errors (TypeError, RangeError,
 *   ReferenceError, SyntaxError) unless their `cause` is transient (fetch's "fetch failed").
 *
 * Never retries an AbortError, a ConfigError, a CircuitOpenError (retrying into an open
 * breaker is what it exists to stop; write your own predicate to ask for it), an error
 * with a non-retryable HTTP status, or a non-Error thrown value.
 */
export function isTransient(outcome: Outcome): boolean {
  if (outcome.ok) return isResponseLike(outcome.value) && RETRYABLE_STATUS.has(outcome.value.status);
  return isTransientError(outcome.error, 2);
}

function isTransientError(error: unknown, depth: number): boolean {
  if (!(error instanceof Error)) return false;
  if (isAbortError(error) || error instanceof ConfigError || error instanceof CircuitOpenError) return false;
  if (error instanceof RejectedError) return Number.isFinite(error.retryAfterMs);
  const status = statusOf(error);
  if (status !== undefined) return RETRYABLE_STATUS.has(status);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError) {
    return depth > 0 && isTransientError(error.cause, depth - 1);
  }
  return true;
}
