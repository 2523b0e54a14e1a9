import { ConfigError } from '../core/errors.js';

/** A source of uniform numbers in [0, 1), injected so tests are deterministic. Default `Math.random`. */
export type Random = () => number;

/** What a schedule is told when asked for a delay. */
export interface BackoffStep {
  /** 1 for the delay before the first retry (or the first reopen), 2 for the next, and so on. */
  retry: number;
  /** The delay this schedule gave last time in this sequence; 0 before the first. */
  previousMs: number;
  random: Random;
}

/**
 * Backoff: an immutable delay schedule. It holds no state — the caller passes the retry
 * number and the previous delay — so one schedule serves any number of concurrent
 * sequences. Combinators return new schedules:
 *
 * ```ts
 * exponential(100).fullJitter().cap(10_000)   // AWS "full jitter"
 * decorrelatedJitter(100).cap(10_000)          // AWS "decorrelated jitter"
 * ```
 *
 * Every delay is finite and >= 0: NaN becomes 0 and an overflowing exponential becomes
 * `Number.MAX_VALUE` until a `cap` bounds it.
 */
export class Backoff {
  private constructor(private readonly compute: (step: BackoffStep) => number) {}

  /** Wraps a custom schedule; its result is clamped to a finite number >= 0. */
  static from(compute: (step: BackoffStep) => number): Backoff {
    return new Backoff(compute);
  }

  /** The delay for `step`, a finite number >= 0. */
  delay(step: BackoffStep): number {
    const ms = this.compute(step);
    if (!(ms > 0)) return 0; // also catches NaN
    return ms === Number.POSITIVE_INFINITY ? Number.MAX_VALUE : ms;
  }

  /** Delays drawn uniformly from [0, d) for this schedule's d: spreads a crowd of retrying callers. */
  fullJitter(): Backoff {
    return new Backoff((step) => this.delay(step) * step.random());
  }

  /** Delays drawn uniformly from [d/2, d): keeps half the backoff, spreads the rest. */
  equalJitter(): Backoff {
    return new Backoff((step) => {
      const d = this.delay(step);
      return d / 2 + (d / 2) * step.random();
    });
  }

  /** No delay longer than `maxMs`. */
  cap(maxMs: number): Backoff {
    checkMs(maxMs, 'cap');
    return new Backoff((step) => Math.min(maxMs, this.delay(step)));
  }
}

/** constant: `ms` before every retry. */
export function constant(ms: number): Backoff {
  checkMs(ms, 'constant');
  return Backoff.from(() => ms);
}

/** exponential: `initialMs · factor^(retry−1)` — 100, 200, 400… by default. Uncapped it grows without bound; add `.cap()`. */
export function exponential(initialMs: number, factor = 2): Backoff {
  checkMs(initialMs, 'exponential.initialMs');
  if (!(typeof factor === 'number' && factor >= 1 && Number.isFinite(factor))) {
    throw new ConfigError('exponential.factor', factor, 'must be a finite number >= 1');
  }
  return Backoff.from((step) => initialMs * factor ** (step.retry - 1));
}

/**
 * decorrelatedJitter: AWS's "decorrelated jitter" — each delay uniform in
 * [initialMs, 3 × previous], starting from `initialMs`. Grows like an exponential on
 * average while staying spread out; bound it with `.cap()`.
 */
export function decorrelatedJitter(initialMs: number): Backoff {
  checkMs(initialMs, 'decorrelatedJitter.initialMs');
  return Backoff.from((step) => {
    const previous = Math.max(initialMs, step.previousMs);
    return initialMs + (previous * 3 - initialMs) * step.random();
  });
}

function checkMs(ms: number, field: string): void {
  if (!(typeof ms === 'number' && ms >= 0 && Number.isFinite(ms))) {
    throw new ConfigError(field, ms, 'must be a finite number of milliseconds >= 0');
  }
}
