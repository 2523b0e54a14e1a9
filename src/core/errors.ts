import { redactText, safeValue, showValue } from './redact.js';

/** How deep a chain of causes is shown; a longer one ends in `…`. */
const MAX_CAUSES = 3;

/**
 * sluice's error family. Every refusal is a `RejectedError` carrying `retryAfterMs`,
 * so callers can handle "not now" uniformly whichever component said it.
 *
 * No sluice error shows a credential: its message (and so its stack and `String(error)`)
 * passes through redactText, and both `util.inspect` (what console.log and Node's report
 * of an uncaught error use) and `toJSON` (what JSON.stringify uses) show its fields as
 * safeValue renders them and its `cause` by name and redacted message only — never the
 * cause's own fields, which for a caller's error may be a request with its headers. The
 * `cause` itself stays as given, for the caller.
 */
export class SluiceError extends Error {
  override name = 'SluiceError';

  constructor(message?: string, options?: ErrorOptions) {
    super(message === undefined ? undefined : redactText(message), options);
  }

  /** toJSON: name, message and fields, safe to log; the cause as its chain of redacted messages. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, message: redactText(this.message), ...shownFields(this) };
  }

  /** What `util.inspect` shows: the redacted stack, then toJSON's fields. */
  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    const stack = redactText(this.stack ?? `${this.name}: ${this.message}`);
    const fields = shownFields(this);
    return Object.keys(fields).length === 0 ? stack : `${stack} ${inspect(fields, options)}`;
  }
}

/**
 * ConfigError: an option or argument is invalid. `field` names it; `value` is what was
 * given as it may be shown: a number, boolean, bigint, null or undefined as given,
 * anything else as its safe rendering (showValue: a string redacted and cut, an object by
 * its type or keys), so that an error never holds a client, a store, headers or a secret.
 */
export class ConfigError extends SluiceError {
  override name = 'ConfigError';
  readonly value: unknown;
  constructor(
    readonly field: string,
    value: unknown,
    reason: string,
  ) {
    super(`${field}: ${reason} (got ${showValue(value)})`);
    this.value = safeValue(value);
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

/** A sluice error's own fields (its cause last) as they may be shown: each through safeValue, the cause as its chain. */
function shownFields(error: SluiceError): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key !== 'name' && key !== 'cause') fields[key] = safeValue(value);
  }
  if (error.cause !== undefined) fields.cause = causeChain(error.cause);
  return fields;
}

/** A cause as util.inspect of a sluice error shows it: each error in the chain by name and redacted message. */
function causeChain(cause: unknown, depth = 0): string {
  if (depth === MAX_CAUSES) return '…';
  if (!(cause instanceof Error)) return showValue(cause);
  const line = `${cause.name}: ${redactText(cause.message)}`;
  return cause.cause === undefined ? line : `${line} ← ${causeChain(cause.cause, depth + 1)}`;
}
