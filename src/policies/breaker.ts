import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration, type Duration } from '../core/duration.js';
import { CircuitOpenError, ConfigError, isAbortError, RejectedError } from '../core/errors.js';
import { invoke } from '../core/invoke.js';
import { Backoff, type Random } from './backoff.js';
import { Emitter, type Subscribe } from '../core/events.js';
import { breakerChannel, checkName, Telemetry } from '../core/telemetry.js';
import { CallCounts, type BreakerEvent, type BreakerStats, type CallOutcome } from './breaker-events.js';
import { isResponseLike, statusOf, type Outcome } from './outcome.js';
import type { Policy, PolicyContext } from './policy.js';
import { RollingCounts } from './rolling-counts.js';
import { Context, isAborted, parentOf, reasonOf, Scope, type Parent } from './scope.js';

/** `isolated` is open by hand (`isolate()`) until `reset()`. */
export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/** How a call counts towards the breaker's health: `ignore` counts neither way. */
export type CallVerdict = 'success' | 'failure' | 'ignore';

export interface CircuitBreakerOptions {
  /** What this breaker is called in events and metrics (a label: few and stable). Default 'circuit-breaker'. */
  name?: string | undefined;
  /** Open after this many failures in a row. Default 5 when `failureRate` is unset, else off. */
  consecutiveFailures?: number | undefined;
  /** Open when failures / calls in the window reach this (0 < rate ≤ 1), once `minimumCalls` calls were seen. */
  failureRate?: number | undefined;
  /** Open when slow calls / calls in the window reach this (0 < rate ≤ 1). Needs `slowCallMs`. */
  slowCallRate?: number | undefined;
  /** A call that takes at least this long is slow; a slow probe counts as failed. */
  slowCallMs?: Duration | undefined;
  /** The sliding window the rates are measured over (ten buckets). Default 10 s. */
  windowMs?: Duration | undefined;
  /** Calls the window needs before a rate can open the breaker. Default 10. */
  minimumCalls?: number | undefined;
  /**
   * How long to stay open before probing: a duration, or a Backoff over the number of
   * opens in a row (`exponential(5_000).cap(300_000)`: 5 s, 10 s, 20 s… while probes keep
   * failing; back to the first after the breaker closes). Default 30 s.
   */
  openMs?: Duration | Backoff | undefined;
  /** Probe calls half-open admits; it closes when all succeed and reopens on any failure. Default 1. */
  halfOpenProbes?: number | undefined;
  /** Sorts each outcome into success, failure or ignore. Default `breakerVerdict`. */
  classify?: ((outcome: Outcome) => CallVerdict) | undefined;
  clock?: Clock | undefined;
  /** Randomness for a jittered `openMs` Backoff. Default `Math.random`. */
  random?: Random | undefined;
}

/** Why the breaker opened. */
export type OpenReason = 'consecutive-failures' | 'failure-rate' | 'slow-call-rate' | 'probe-failed' | 'isolated';

/** Emitted when the breaker opens; `openMs` is Infinity for `isolate()`. */
export interface OpenEvent {
  reason: OpenReason;
  openMs: number;
}

/** A breaker's state as plain JSON, for `restore` in another process or after a restart. */
export interface CircuitSnapshot {
  state: CircuitState;
  /** Milliseconds the breaker had left to stay open when saved (0 unless open). */
  openRemainingMs: number;
  /** Opens in a row (drives a growing `openMs`). */
  opens: number;
  /** Wall-clock time of the save (epoch ms): restore subtracts the time since. */
  savedAt: number;
}

const CALLS = 0;
const FAILURES = 1;
const SLOW = 2;

/**
 * CircuitBreaker: stops calling a dependency that keeps failing, and probes it before
 * trusting it again.
 *
 * - closed: calls run; outcomes are counted. It opens on `consecutiveFailures` in a row,
 *   or when the failure (or slow-call) rate over the window reaches its threshold with at
 *   least `minimumCalls` calls.
 * - open: calls fail at once with CircuitOpenError whose `retryAfterMs` is the time left.
 *   At `openMs` after opening, to the millisecond, the next look at the breaker (a call or
 *   `state`) finds it half-open; no timer is kept, so an idle breaker holds nothing.
 * - half-open: exactly `halfOpenProbes` calls are admitted as probes; concurrent callers
 *   beyond them get CircuitOpenError (`retryAfterMs`: the open duration that would follow
 *   a failed probe). All probes succeeding closes it; one failing reopens it.
 *
 * Never stuck: a probe whose caller aborts gives its slot back at once (the call is
 * rejected with the abort reason), and so does a probe whose outcome is ignored, so the
 * next caller probes instead. A probe that never settles does hold its slot: put a
 * per-attempt timeout inside the breaker. Outcomes of calls that started before a state
 * change are not counted after it.
 */
export class CircuitBreaker implements Policy {
  private current: CircuitState = 'closed';
  private openUntil = 0;
  private opens = 0;
  private lastOpenMs = 0;
  private consecutive = 0;
  /** Bumped on every transition, so a call records only into the state it started in. */
  private generation = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;

  private readonly consecutiveLimit: number;
  private readonly failureRate: number;
  private readonly slowCallRate: number;
  private readonly slowCallMs: number;
  private readonly minimumCalls: number;
  private readonly openSchedule: Backoff | number;
  private readonly probes: number;
  private readonly classify: (outcome: Outcome) => CallVerdict;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly window: RollingCounts | undefined;

  /** What this breaker is called in events, stats and metrics. */
  readonly name: string;
  private readonly counts = new CallCounts();
  private readonly events = new Telemetry<BreakerEvent>(breakerChannel);
  /**
   * Subscribes to every call's outcome (with its duration) and every change of state;
   * also published on `sluice:breaker`. Returns the disposer.
   */
  readonly onEvent: Subscribe<BreakerEvent> = this.events.subscribe;
  private readonly openEvents = new Emitter<OpenEvent>();
  private readonly halfOpenEvents = new Emitter<void>();
  private readonly closeEvents = new Emitter<void>();
  /** Subscribes to opening (including `isolate()`); returns the disposer. */
  readonly onOpen: Subscribe<OpenEvent> = this.openEvents.subscribe;
  /** Subscribes to half-opening; returns the disposer. */
  readonly onHalfOpen: Subscribe<void> = this.halfOpenEvents.subscribe;
  /** Subscribes to closing (including `reset()` from another state); returns the disposer. */
  readonly onClose: Subscribe<void> = this.closeEvents.subscribe;

  constructor(options: CircuitBreakerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    this.failureRate = rate(options.failureRate, 'failureRate');
    this.slowCallRate = rate(options.slowCallRate, 'slowCallRate');
    this.consecutiveLimit = options.consecutiveFailures ?? (options.failureRate === undefined ? 5 : Number.POSITIVE_INFINITY);
    if (!(this.consecutiveLimit >= 1 && (Number.isInteger(this.consecutiveLimit) || this.consecutiveLimit === Number.POSITIVE_INFINITY))) {
      throw new ConfigError('consecutiveFailures', options.consecutiveFailures, 'must be an integer >= 1');
    }
    this.slowCallMs = options.slowCallMs === undefined ? Number.POSITIVE_INFINITY : parseDuration(options.slowCallMs, 'slowCallMs');
    if (options.slowCallRate !== undefined && options.slowCallMs === undefined) {
      throw new ConfigError('slowCallMs', undefined, 'is required with slowCallRate: how long is a slow call?');
    }
    this.minimumCalls = options.minimumCalls ?? 10;
    if (!(Number.isInteger(this.minimumCalls) && this.minimumCalls >= 1)) throw new ConfigError('minimumCalls', options.minimumCalls, 'must be an integer >= 1');
    const openMs = options.openMs ?? 30_000;
    this.openSchedule = openMs instanceof Backoff ? openMs : parseDuration(openMs, 'openMs');
    this.probes = options.halfOpenProbes ?? 1;
    if (!(Number.isInteger(this.probes) && this.probes >= 1)) throw new ConfigError('halfOpenProbes', options.halfOpenProbes, 'must be an integer >= 1');
    this.classify = options.classify ?? breakerVerdict;
    if (typeof this.classify !== 'function') throw new ConfigError('classify', options.classify, 'must be a function (outcome) => verdict');
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    const windowMs = parseDuration(options.windowMs ?? 10_000, 'windowMs');
    if (!(windowMs > 0)) throw new ConfigError('windowMs', options.windowMs, 'must be longer than 0');
    const usesWindow = Number.isFinite(this.failureRate) || Number.isFinite(this.slowCallRate);
    this.window = usesWindow ? new RollingCounts(3, windowMs, this.clock) : undefined;
    this.name = checkName(options.name, 'circuit-breaker');
  }

  /** Its calls by outcome since it was made, how often it opened, and its state now. */
  stats(): BreakerStats {
    return { name: this.name, state: this.state, calls: this.counts.snapshot(), opened: this.counts.opened };
  }

  /** The state now; reading it after the open time has passed moves the breaker to half-open. */
  get state(): CircuitState {
    this.refresh();
    return this.current;
  }

  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    const parent = parentOf(context);
    if (isAborted(parent)) return Promise.reject(reasonOf(parent!));
    const attempt = context?.attempt ?? 1;
    this.refresh();
    if (this.current !== 'closed') {
      const refusal = this.admitProbe();
      if (refusal) {
        this.called('rejected', Number.NaN);
        return Promise.reject(refusal);
      }
      return this.runProbe(fn, parent, attempt);
    }
    const generation = this.generation;
    // The clock is read only when someone needs the call's duration.
    const start = this.slowCallMs === Number.POSITIVE_INFINITY && !this.events.active ? 0 : this.clock.now();
    // The breaker changes nothing in the context, so an enclosing policy's is passed on as is.
    const inner = context instanceof Context ? context : new Context(parent, attempt);
    let result: Promise<T>;
    try {
      result = Promise.resolve(fn(inner));
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.then(
      (value) => {
        this.recordClosed(generation, start, { ok: true, value }, parent);
        return value;
      },
      (error: unknown) => {
        this.recordClosed(generation, start, { ok: false, error }, parent);
        throw error;
      },
    );
  }

  /** Opens the breaker by hand until `reset()`: every call fails with CircuitOpenError (`retryAfterMs` Infinity). */
  isolate(): void {
    if (this.current === 'isolated') return;
    this.transition('isolated');
    if (this.openEvents.active) this.openEvents.emit({ reason: 'isolated', openMs: Number.POSITIVE_INFINITY });
  }

  /** Closes the breaker and forgets its history (counts, opens in a row). */
  reset(): void {
    const was = this.current;
    this.opens = 0;
    this.transition('closed');
    if (was !== 'closed' && this.closeEvents.active) this.closeEvents.emit();
  }

  /** The state as JSON; half-open is saved as open with no time left, so it probes again after restore. */
  toJSON(): CircuitSnapshot {
    this.refresh();
    const state = this.current === 'half-open' ? 'open' : this.current;
    const openRemainingMs = state === 'open' ? Math.max(0, this.openUntil - this.clock.now()) : 0;
    return { state, openRemainingMs, opens: this.opens, savedAt: Date.now() };
  }

  /**
   * Takes on a saved state. An open breaker stays open for what was left when saved, less
   * the wall-clock time since (`nowEpochMs`, default `Date.now()`). Window counts are not
   * saved. Emits no events. Throws ConfigError for a malformed snapshot.
   */
  restore(snapshot: CircuitSnapshot, nowEpochMs = Date.now()): void {
    const { state, openRemainingMs, opens, savedAt } = snapshot ?? ({} as CircuitSnapshot);
    if (state !== 'closed' && state !== 'open' && state !== 'isolated' && state !== 'half-open') {
      throw new ConfigError('snapshot.state', state, "must be 'closed', 'open', 'half-open' or 'isolated'");
    }
    if (!(openRemainingMs >= 0)) throw new ConfigError('snapshot.openRemainingMs', openRemainingMs, 'must be a number >= 0');
    if (!(Number.isInteger(opens) && opens >= 0)) throw new ConfigError('snapshot.opens', opens, 'must be an integer >= 0');
    if (!Number.isFinite(savedAt)) throw new ConfigError('snapshot.savedAt', savedAt, 'must be epoch milliseconds');
    this.opens = opens;
    if (state === 'open' || state === 'half-open') {
      this.transition('open');
      this.openUntil = this.clock.now() + Math.max(0, openRemainingMs - Math.max(0, nowEpochMs - savedAt));
    } else {
      this.transition(state);
    }
  }

  /** Returns a refusal, or undefined after taking a probe slot. */
  private admitProbe(): CircuitOpenError | undefined {
    if (this.current === 'open') {
      return new CircuitOpenError('circuit breaker is open', this.openUntil - this.clock.now());
    }
    if (this.current === 'isolated') return new CircuitOpenError('circuit breaker is isolated', Number.POSITIVE_INFINITY);
    if (this.probesInFlight + this.probeSuccesses >= this.probes) {
      return new CircuitOpenError('circuit breaker is half-open and its probes are taken', this.openDuration(this.opens + 1, false));
    }
    this.probesInFlight++;
    return undefined;
  }

  /** Runs a half-open probe. The slot is given back exactly once: on outcome, or on the caller's abort. */
  private runProbe<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, parent: Parent, attempt: number): Promise<T> {
    const generation = this.generation;
    const start = this.clock.now();
    const scope = new Scope(parent);
    return new Promise<T>((resolve, reject) => {
      let done = false;
      scope.listen((reason) => {
        if (done) return;
        done = true;
        this.called('ignored', start);
        this.releaseProbe(generation);
        reject(reason);
      });
      const settle = (outcome: Outcome<T>): void => {
        if (done) return;
        done = true;
        scope.release();
        this.recordProbe(generation, start, outcome);
        if (outcome.ok) resolve(outcome.value);
        else reject(outcome.error);
      };
      invoke(() => fn(new Context(scope, attempt))).then(
        (value) => settle({ ok: true, value }),
        (error: unknown) => settle({ ok: false, error }),
      );
    });
  }

  private releaseProbe(generation: number): void {
    if (generation === this.generation) this.probesInFlight--;
  }

  private recordProbe(generation: number, start: number, outcome: Outcome): void {
    const verdict = this.verdictOf(outcome, undefined);
    this.called(OUTCOME[verdict], start);
    if (generation !== this.generation) return;
    this.probesInFlight--;
    if (verdict === 'ignore') return;
    if (verdict === 'failure' || this.clock.now() - start >= this.slowCallMs) {
      this.open('probe-failed');
      return;
    }
    if (++this.probeSuccesses < this.probes) return;
    this.opens = 0;
    this.transition('closed');
    if (this.closeEvents.active) this.closeEvents.emit();
  }

  private recordClosed(generation: number, start: number, outcome: Outcome, parent: Parent): void {
    const verdict = this.verdictOf(outcome, parent);
    this.called(OUTCOME[verdict], start);
    if (generation !== this.generation || verdict === 'ignore') return;
    const failed = verdict === 'failure';
    this.consecutive = failed ? this.consecutive + 1 : 0;
    if (this.consecutive >= this.consecutiveLimit) {
      this.open('consecutive-failures');
      return;
    }
    const window = this.window;
    if (window === undefined) return;
    // One clock read for the whole record (see RollingCounts.add).
    const now = this.clock.now();
    window.add(CALLS, 1, now);
    if (failed) window.add(FAILURES, 1, now);
    if (now - start >= this.slowCallMs) window.add(SLOW, 1, now);
    const calls = window.sum(CALLS, now);
    if (calls < this.minimumCalls) return;
    if (window.sum(FAILURES, now) >= this.failureRate * calls) this.open('failure-rate');
    else if (window.sum(SLOW, now) >= this.slowCallRate * calls) this.open('slow-call-rate');
  }

  /** The verdict, with two rules no classifier overrides: a caller's abort is ignored, and a throwing classifier counts as failure. */
  private verdictOf(outcome: Outcome, parent: Parent): CallVerdict {
    if (!outcome.ok && isAborted(parent)) return 'ignore';
    try {
      return this.classify(outcome);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
      return 'failure';
    }
  }

  private refresh(): void {
    if (this.current === 'open' && this.clock.now() >= this.openUntil) {
      this.transition('half-open');
      if (this.halfOpenEvents.active) this.halfOpenEvents.emit();
    }
  }

  private open(reason: OpenReason): void {
    this.opens++;
    const openMs = this.openDuration(this.opens, true);
    this.transition('open');
    this.openUntil = this.clock.now() + openMs;
    if (this.openEvents.active) this.openEvents.emit({ reason, openMs });
  }

  private openDuration(opens: number, commit: boolean): number {
    if (typeof this.openSchedule === 'number') return this.openSchedule;
    const ms = this.openSchedule.delay({ retry: opens, previousMs: this.lastOpenMs, random: this.random });
    if (commit) this.lastOpenMs = ms;
    return ms;
  }

  /** Counts a call's outcome and reports it, with its duration from `start` (NaN: it never ran). */
  private called(outcome: CallOutcome, start: number): void {
    this.counts.add(outcome);
    if (!this.events.active) return;
    const durationMs = Number.isNaN(start) ? 0 : this.clock.now() - start;
    this.events.emit({ type: 'call', breaker: this.name, outcome, durationMs, state: this.current });
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    if (from !== to && (to === 'open' || to === 'isolated')) this.counts.opened++;
    if (from !== to && this.events.active) this.events.emit({ type: 'state', breaker: this.name, state: to, from });
    this.current = to;
    this.generation++;
    this.consecutive = 0;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.window?.clear();
    if (to === 'closed') this.lastOpenMs = 0;
  }
}

const OUTCOME: Record<CallVerdict, CallOutcome> = { success: 'success', failure: 'failure', ignore: 'ignored' };

/** circuitBreaker: a CircuitBreaker; see CircuitBreakerOptions for each option and its default. */
export function circuitBreaker(options?: CircuitBreakerOptions): CircuitBreaker {
  return new CircuitBreaker(options);
}

/**
 * breakerVerdict: the default `classify`. Ignores aborts, ConfigErrors and refusals
 * (RejectedError: a local limiter or an inner breaker said no — that says nothing about
 * the dependency). Counts as failure any other error, and HTTP statuses 408, 429 and
 * 5xx whether thrown (`status`, `statusCode`, `response.status`) or returned as a
 * Response-like value; other statuses mean the dependency answered, so they are successes.
 */
export function breakerVerdict(outcome: Outcome): CallVerdict {
  if (outcome.ok) return isResponseLike(outcome.value) && unhealthy(outcome.value.status) ? 'failure' : 'success';
  const error = outcome.error;
  if (isAbortError(error) || error instanceof ConfigError || error instanceof RejectedError) return 'ignore';
  const status = statusOf(error);
  return status === undefined || unhealthy(status) ? 'failure' : 'success';
}

function unhealthy(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function rate(value: number | undefined, field: string): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (!(typeof value === 'number' && value > 0 && value <= 1)) throw new ConfigError(field, value, 'must be a rate in (0, 1], e.g. 0.5');
  return value;
}
