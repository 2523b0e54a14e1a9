import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration, type Duration } from '../core/duration.js';
import { abortReason, TimeoutError } from '../core/errors.js';
import { Emitter, type Subscribe } from './events.js';
import type { Policy, PolicyContext } from './policy.js';

export interface TimeoutOptions {
  clock?: Clock;
}

/** Emitted when an attempt runs out of time. */
export interface TimeoutEvent {
  timeoutMs: number;
}

/**
 * TimeoutPolicy: gives each call `ms` to settle. At the limit it aborts the signal the
 * call was given (its reason is the TimeoutError) and rejects at once with TimeoutError,
 * without waiting for the work to notice; whatever the work settles with later is
 * dropped. A caller's abort is passed on to the work and rejects with the caller's
 * reason. Either way the timer and the listener on the caller's signal are removed when
 * the call ends, so nothing is left behind.
 *
 * `timeout(0)` times out on the next timer turn; a synchronous function still runs.
 */
export class TimeoutPolicy implements Policy {
  readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly timeoutEvents = new Emitter<TimeoutEvent>();
  /** Subscribes to timeouts; returns the disposer. */
  readonly onTimeout: Subscribe<TimeoutEvent> = this.timeoutEvents.subscribe;

  constructor(ms: Duration, options: TimeoutOptions = {}) {
    this.timeoutMs = parseDuration(ms, 'timeout');
    this.clock = options.clock ?? systemClock;
  }

  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    const parent = context?.signal;
    if (parent?.aborted) return Promise.reject(abortReason(parent));
    const controller = new AbortController();
    const attempt = context?.attempt ?? 1;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        timer.cancel();
        parent?.removeEventListener('abort', onParentAbort);
        return true;
      };
      const onParentAbort = (): void => {
        if (!finish()) return;
        controller.abort(parent!.reason);
        reject(abortReason(parent!));
      };
      const timer = this.clock.timer(() => {
        if (!finish()) return;
        const error = new TimeoutError(`timed out after ${this.timeoutMs} ms`, this.timeoutMs);
        controller.abort(error);
        if (this.timeoutEvents.active) this.timeoutEvents.emit({ timeoutMs: this.timeoutMs });
        reject(error);
      }, this.timeoutMs);
      parent?.addEventListener('abort', onParentAbort, { once: true });
      let result: T | PromiseLike<T>;
      try {
        result = fn({ signal: controller.signal, attempt });
      } catch (error) {
        if (finish()) reject(error);
        return;
      }
      Promise.resolve(result).then(
        (value) => {
          if (finish()) resolve(value);
        },
        (error: unknown) => {
          if (finish()) reject(error);
        },
      );
    });
  }
}

/** timeout: a TimeoutPolicy of `ms` (a number or `'5s'`). */
export function timeout(ms: Duration, options?: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
