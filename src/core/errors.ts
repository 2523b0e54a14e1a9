/**
 * sluice's error family. Every refusal is a `RejectedError` carrying `retryAfterMs`,
 * so callers can handle "not now" uniformly whichever component said it.
 */
export class SluiceError extends Error {
  override name = 'SluiceError';
}

/** ConfigError: an option or argument is invalid. `field` names it, `value` is what was given. */
export class ConfigError extends SluiceError {
  override name = 'ConfigError';
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`${field}: ${reason} (got ${describe(value)})`);
  }
}

/** RejectedError: the call was refused without running; it may succeed after `retryAfterMs`. */
export class RejectedError extends SluiceError {
  override name = 'RejectedError';
  constructor(
    message: string,
    /** Milliseconds until a retry may succeed; `Infinity` when no retry can. */
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** RateLimitedError: a rate limit would make the caller wait longer than it allowed. */
export class RateLimitedError extends RejectedError {
  override name = 'RateLimitedError';
}

/** QueueFullError: a bounded queue is full and was configured to reject. */
export class QueueFullError extends RejectedError {
  override name = 'QueueFullError';
}

/** CircuitOpenError: a circuit breaker is open (or its half-open probes are taken). */
export class CircuitOpenError extends RejectedError {
  override name = 'CircuitOpenError';
}

/** TimeoutError: an attempt or a whole operation ran past its time limit. */
export class TimeoutError extends SluiceError {
  override name = 'TimeoutError';
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message);
  }
}

/** StoreUnavailableError: the shared store (Redis) could not be reached and the policy is to reject. */
export class StoreUnavailableError extends RejectedError {
  override name = 'StoreUnavailableError';
}

/** The error an aborted wait rejects with: the signal's reason, or a standard AbortError. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** True for an abort, whichever way it was raised (DOMException or an Error named AbortError). */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}
