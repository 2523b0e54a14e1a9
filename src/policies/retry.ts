import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration, type Duration } from '../core/duration.js';
import { ConfigError, RateLimitedError } from '../core/errors.js';
import { Backoff, exponential, type Random } from './backoff.js';
import { RetryBudget, type RetryBudgetOptions } from './budget.js';
import type { Subscribe } from '../core/events.js';
import { checkName, resilienceChannel, Telemetry } from '../core/telemetry.js';
import type { Outcome } from './outcome.js';
import type { Policy, PolicyContext } from './policy.js';
import { retryAfterOf } from './retry-after.js';
import { Context, isAborted, parentOf, sleep, type Parent } from './scope.js';
import { isTransient } from './transient.js';

export interface RetryOptions {
  /** Most attempts in all, the first included; 1 never retries. Default 3. */
  attempts?: number | undefined;
  /** Delay before each retry, before `maxDelayMs` bounds it. Default `exponential(200).fullJitter()`. */
  backoff?: Backoff | undefined;
  /**
   * Which outcomes to retry, given the outcome and the attempt number (1-based).
   * Default `isTransient` (see transient.ts). A caller's abort is never retried, whatever this says.
   */
  retryOn?: ((outcome: Outcome, attempt: number) => boolean) | undefined;
  /**
   * Longest delay between attempts. A backoff delay above it is cut to it. A server's hint
   * above it ends the retries at once instead of sleeping: a result that carried it is
   * returned as it was (a 429 Response stays a Response, as when attempts run out), an error
   * fails with RateLimitedError. Default 30 s.
   */
  maxDelayMs?: Duration | undefined;
  /**
   * No retry starts later than this after the first attempt started: a retry whose delay
   * would end past it is not made. Bounds retries, not the attempt in flight — put a
   * `timeout` outside the retry to cut that. Default: none.
   */
  deadlineMs?: Duration | undefined;
  /**
   * Retry budget: a RetryBudget to share between policies that call one dependency, its
   * options for one of this policy's own, or `false` for none. Default: this policy's own
   * with the RetryBudget defaults (10% of first attempts plus 1 retry per second).
   */
  budget?: RetryBudget | RetryBudgetOptions | false | undefined;
  clock?: Clock | undefined;
  /** Randomness for jittered backoffs. Default `Math.random`. */
  random?: Random | undefined;
  /** What this policy is called in events and metrics (a label: few and stable). Default 'retry'. */
  name?: string | undefined;
}

/** Why a retry policy stopped with a failure it would otherwise have retried. */
export type GiveUpReason = 'attempts' | 'deadline' | 'budget' | 'retry-after';

/**
 * Emitted before each retry's wait (Polly's OnRetry). `error` or `result` is what attempt
 * `attempt` ended with. Published on `sluice:resilience` too.
 */
export interface RetryEvent {
  type: 'retry';
  /** The policy's name. */
  policy: string;
  attempt: number;
  delayMs: number;
  error?: unknown | undefined;
  result?: unknown | undefined;
}

/** Emitted when a retryable failure is returned or thrown because no retry is possible. Published on `sluice:resilience` too. */
export interface GiveUpEvent {
  type: 'give-up';
  /** The policy's name. */
  policy: string;
  attempts: number;
  reason: GiveUpReason;
  error?: unknown | undefined;
  result?: unknown | undefined;
}

/**
 * RetryPolicy: runs a function again when it fails transiently, waiting between attempts.
 *
 * The wait is the backoff delay (at most `maxDelayMs`), raised to the server's hint when
 * the error or result carries one (`retryAfterMs`, or a `Retry-After` header): a server
 * hint is never undercut. A hint above `maxDelayMs` ends the retries at once: a result that
 * carried it is returned as it was — the function's contract is kept, so a fetch's 429
 * stays a Response — and an error fails with RateLimitedError (its `cause` the error, its
 * `retryAfterMs` the hint), sluice's one typed "not now" for a caller that throws. When
 * attempts, the deadline or the budget run out, the last outcome is returned or thrown as
 * it was. Aborting the caller's signal stops the wait at once and rejects with the
 * signal's reason.
 */
export class RetryPolicy implements Policy {
  private readonly attempts: number;
  private readonly backoff: Backoff;
  private readonly retryOn: (outcome: Outcome, attempt: number) => boolean;
  private readonly deadlineMs: number;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly retryEvents = new Telemetry<RetryEvent>(resilienceChannel);
  private readonly giveUpEvents = new Telemetry<GiveUpEvent>(resilienceChannel);
  /** What this policy is called in events and metrics. */
  readonly name: string;
  /** Longest delay between attempts, ms: a backoff above it is cut to it, a server hint above it ends the retries. */
  readonly maxDelayMs: number;
  /** The budget retries draw on, or undefined for none. */
  readonly budget: RetryBudget | undefined;
  /** Subscribes to retries; returns the disposer. */
  readonly onRetry: Subscribe<RetryEvent> = this.retryEvents.subscribe;
  /** Subscribes to give-ups; returns the disposer. */
  readonly onGiveUp: Subscribe<GiveUpEvent> = this.giveUpEvents.subscribe;

  constructor(options: RetryOptions = {}) {
    this.attempts = options.attempts ?? 3;
    if (!(Number.isInteger(this.attempts) && this.attempts >= 1)) throw new ConfigError('attempts', options.attempts, 'must be an integer >= 1');
    this.backoff = options.backoff ?? exponential(200).fullJitter();
    if (!(this.backoff instanceof Backoff)) throw new ConfigError('backoff', options.backoff, 'must be a Backoff, e.g. exponential(100).cap(10_000)');
    this.retryOn = options.retryOn ?? isTransient;
    if (typeof this.retryOn !== 'function') throw new ConfigError('retryOn', options.retryOn, 'must be a function (outcome, attempt) => boolean');
    this.maxDelayMs = parseDuration(options.maxDelayMs ?? 30_000, 'maxDelayMs');
    this.deadlineMs = options.deadlineMs === undefined ? Number.POSITIVE_INFINITY : parseDuration(options.deadlineMs, 'deadlineMs');
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    const budget = options.budget ?? {};
    this.budget = budget === false ? undefined : budget instanceof RetryBudget ? budget : new RetryBudget({ clock: this.clock, ...budget });
    this.name = checkName(options.name, 'retry');
  }

  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    const parent = parentOf(context);
    const start = this.deadlineMs === Number.POSITIVE_INFINITY ? 0 : this.clock.now();
    this.budget?.recordCall();
    // The first attempt is not run inside an async function: most calls succeed at once,
    // and a suspended async frame per call in flight is most of what retry would cost.
    let first: Promise<T>;
    try {
      first = Promise.resolve(fn(new Context(parent, 1)));
    } catch (error) {
      first = Promise.reject(error);
    }
    return first.then(
      (value) => {
        const outcome: Outcome<T> = { ok: true, value };
        return isAborted(parent) || !this.retryOn(outcome, 1) ? value : this.retrying(outcome, fn, parent, start);
      },
      (error: unknown) => {
        const outcome: Outcome<T> = { ok: false, error };
        if (isAborted(parent) || !this.retryOn(outcome, 1)) throw error;
        return this.retrying(outcome, fn, parent, start);
      },
    );
  }

  /** Waits and tries again after attempt 1 ended with `outcome`, which `retryOn` chose to retry. */
  private async retrying<T>(outcome: Outcome<T>, fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Parent, start: number): Promise<T> {
    let previousMs = 0;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) {
        try {
          outcome = { ok: true, value: await fn(new Context(parent, attempt)) };
        } catch (error) {
          outcome = { ok: false, error };
        }
        if (isAborted(parent) || !this.retryOn(outcome, attempt)) return settle(outcome);
      }
      if (attempt >= this.attempts) return this.giveUp(outcome, attempt, 'attempts');

      const failure = outcome.ok ? outcome.value : outcome.error;
      const hint = retryAfterOf(failure);
      if (hint !== undefined && hint > this.maxDelayMs) {
        if (outcome.ok) return this.giveUp(outcome, attempt, 'retry-after');
        this.emitGiveUp(outcome, attempt, 'retry-after');
        throw tooLong(hint, this.maxDelayMs, failure);
      }
      const backoffMs = Math.min(this.maxDelayMs, this.backoff.delay({ retry: attempt, previousMs, random: this.random }));
      previousMs = backoffMs;
      const delayMs = hint !== undefined && hint > backoffMs ? hint : backoffMs;
      if (this.clock.now() + delayMs - start > this.deadlineMs) return this.giveUp(outcome, attempt, 'deadline');
      if (this.budget !== undefined && !this.budget.tryRetry()) return this.giveUp(outcome, attempt, 'budget');
      if (this.retryEvents.active) {
        const policy = this.name;
        this.retryEvents.emit(outcome.ok ? { type: 'retry', policy, attempt, delayMs, result: outcome.value } : { type: 'retry', policy, attempt, delayMs, error: outcome.error });
      }
      await sleep(this.clock, delayMs, parent);
    }
  }

  private giveUp<T>(outcome: Outcome<T>, attempts: number, reason: GiveUpReason): T {
    this.emitGiveUp(outcome, attempts, reason);
    return settle(outcome);
  }

  private emitGiveUp(outcome: Outcome, attempts: number, reason: GiveUpReason): void {
    if (!this.giveUpEvents.active) return;
    const policy = this.name;
    this.giveUpEvents.emit(outcome.ok ? { type: 'give-up', policy, attempts, reason, result: outcome.value } : { type: 'give-up', policy, attempts, reason, error: outcome.error });
  }
}

/** retry: a RetryPolicy; see RetryOptions for each option and its default. */
export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}

function settle<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw outcome.error;
}

function tooLong(hintMs: number, maxDelayMs: number, cause: unknown): RateLimitedError {
  const wait = Number.isFinite(hintMs) ? `${Math.ceil(hintMs)} ms` : 'indefinitely';
  const error = new RateLimitedError(`retry: the server asked to wait ${wait}, longer than maxDelayMs (${maxDelayMs} ms); not retrying`, hintMs);
  error.cause = cause;
  return error;
}
