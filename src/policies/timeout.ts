import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration, type Duration } from '../core/duration.js';
import { TimeoutError } from '../core/errors.js';
import { DeadlineQueue, type Deadline } from './deadline-queue.js';
import type { Subscribe } from '../core/events.js';
import { checkName, resilienceChannel, Telemetry } from '../core/telemetry.js';
import type { Policy, PolicyContext } from './policy.js';
import { isAborted, parentOf, reasonOf, Scope, type Parent } from './scope.js';

export interface TimeoutOptions {
  clock?: Clock | undefined;
  /** What this policy is called in events and metrics (a label: few and stable). Default 'timeout'. */
  name?: string | undefined;
}

/** Emitted when an attempt runs out of time (Polly's OnTimeout). Published on `sluice:resilience` too. */
export interface TimeoutEvent {
  type: 'timeout';
  /** The policy's name. */
  policy: string;
  timeoutMs: number;
}

/**
 * TimeoutPolicy: gives each call `ms` to settle. At the limit it aborts the signal the
 * call was given (its reason is the TimeoutError) and rejects at once with TimeoutError,
 * without waiting for the work to notice; whatever the work settles with later is
 * dropped. A caller's abort is passed on to the work and rejects with the caller's
 * reason. The listener on the caller's signal is removed when the call ends. All calls
 * through one TimeoutPolicy share one timer (see DeadlineQueue), released once the event
 * loop turns with no call in flight.
 *
 * `timeout(0)` times out on the next timer turn; a synchronous function still runs.
 */
export class TimeoutPolicy implements Policy {
  readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly deadlines: DeadlineQueue;
  private readonly timeoutEvents = new Telemetry<TimeoutEvent>(resilienceChannel);
  /** What this policy is called in events and metrics. */
  readonly name: string;
  /** Subscribes to timeouts; returns the disposer. */
  readonly onTimeout: Subscribe<TimeoutEvent> = this.timeoutEvents.subscribe;

  constructor(ms: Duration, options: TimeoutOptions = {}) {
    this.timeoutMs = parseDuration(ms, 'timeout');
    this.clock = options.clock ?? systemClock;
    this.deadlines = new DeadlineQueue(this.clock);
    this.name = checkName(options.name, 'timeout');
  }


  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    const parent = parentOf(context);
    if (isAborted(parent)) return Promise.reject(reasonOf(parent!));
    const attempt = context?.attempt ?? 1;
    // Inline closures rather than named ones: this is the hot path, and keeping allocations
    // (and transpilers' name-keeping helpers) out of it is most of its cost.
    return new Promise<T>((resolve, reject) => {
      const call = new TimedCall(this.deadlines, this.clock.now() + this.timeoutMs, this.expire, parent, attempt, reject);
      let result: T | PromiseLike<T>;
      try {
        result = fn(call);
      } catch (error) {
        if (call.finish()) reject(error);
        return;
      }
      Promise.resolve(result).then(
        (value) => {
          if (call.finish()) resolve(value);
        },
        (error: unknown) => {
          if (call.finish()) reject(error);
        },
      );
    });
  }

  /** What a deadline does: tell listeners, then abort the call's scope with a TimeoutError. */
  private readonly expire = (scope: Scope): void => {
    if (this.timeoutEvents.active) this.timeoutEvents.emit({ type: 'timeout', policy: this.name, timeoutMs: this.timeoutMs });
    scope.abort(new TimeoutError(`timed out after ${this.timeoutMs} ms`, this.timeoutMs));
  };
}

/**
 * One call under a TimeoutPolicy: the scope its work runs in (aborted at the deadline or
 * by the caller), the context the work is given, its place in the deadline queue, and
 * whether it has finished. One object for all of these, because this is the hot path.
 */
class TimedCall extends Scope implements Deadline, PolicyContext {
  queued = false;
  private done = false;

  constructor(
    private readonly deadlines: DeadlineQueue,
    readonly at: number,
    private readonly onExpire: (scope: Scope) => void,
    parent: Parent,
    readonly attempt: number,
    private readonly reject: (reason: unknown) => void,
  ) {
    super(parent);
    deadlines.add(this);
  }

  expire(): void {
    if (!this.done) this.onExpire(this);
  }

  /** The deadline and the caller's abort both end the call through the scope. */
  protected override aborted_(reason: unknown): void {
    if (this.finish()) this.reject(reason);
  }

  /** Marks the call finished; true the first time only. */
  finish(): boolean {
    if (this.done) return false;
    this.done = true;
    this.deadlines.remove(this);
    this.release();
    return true;
  }
}

/** timeout: a TimeoutPolicy of `ms` (a number or `'5s'`). */
export function timeout(ms: Duration, options?: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
