import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import type { LimitInput, LimitSpec } from './limit-spec.js';
import { RateAdaptation, type RateAdaptationOptions, type RateSignal, type RateStep } from './rate-adaptation.js';
import type { RateLimiter } from './rate-limiter.js';

export type AdaptiveRateOptions = Omit<RateAdaptationOptions, 'initial'> & { clock?: Clock };

/**
 * AdaptiveRate: applies RateAdaptation's steps to a RateLimiter. The limiter's pacing limit
 * (the one with the shortest interval) starts as configured and is its ceiling; the new
 * rate replaces it through `setLimits`, and longer limits (an hourly cap) stay as they are.
 * A pause is kept here rather than in the limiter: `admit` waits it out before and after
 * taking its turn, so callers queued during a pause are paced on resumption, not released
 * in a burst.
 *
 * One AdaptiveRate per server (or per API key): what one server says about its limit says
 * nothing about another's.
 */
export class AdaptiveRate {
  readonly limiter: RateLimiter;
  private readonly logic: RateAdaptation;
  private readonly clock: Clock;
  private readonly pacing: LimitSpec;
  private readonly others: readonly LimitSpec[];
  private applied: number;

  constructor(limiter: RateLimiter, options: AdaptiveRateOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ConfigError('adaptive', options, 'must be an object or true');
    this.limiter = limiter;
    this.clock = options.clock ?? systemClock;
    const specs = limiter.limits;
    const shortest = Math.min(...specs.map((s) => s.intervalMs));
    this.pacing = specs.find((s) => s.intervalMs === shortest)!;
    this.others = specs.filter((s) => s !== this.pacing);
    this.applied = (this.pacing.limit * 1000) / this.pacing.intervalMs;
    this.logic = new RateAdaptation({ ...options, initial: this.applied });
  }

  /** The current rate (requests per second), pause and mode. */
  get step(): RateStep {
    return this.logic.current;
  }

  /**
   * Waits out any pause, then the limiter's turn; if a pause began while it queued (a 429
   * arrived meanwhile), waits that out too and queues again. Rejects with the signal's reason.
   */
  async admit(signal?: AbortSignal, cost = 1): Promise<void> {
    for (;;) {
      await this.waitPause(signal);
      await this.limiter.acquire(cost === 1 && signal === undefined ? undefined : { cost, signal });
      if (this.logic.current.pauseUntil <= this.clock.now()) return;
    }
  }

  /** Feeds one response's signal in and applies the resulting rate. */
  observe(signal: RateSignal): RateStep {
    const step = this.logic.observe(signal);
    this.apply(step.rate);
    return step;
  }

  private async waitPause(signal: AbortSignal | undefined): Promise<void> {
    for (let wait = this.logic.current.pauseUntil - this.clock.now(); wait > 0; wait = this.logic.current.pauseUntil - this.clock.now()) {
      await this.clock.sleep(wait, signal);
    }
  }

  /** setLimits costs a reschedule of the limiter's queue: skip changes under half a percent. */
  private apply(rate: number): void {
    if (Math.abs(rate - this.applied) <= this.applied * 0.005) return;
    this.applied = rate;
    this.limiter.setLimits([this.pacingAt(rate), ...this.others.map(asInput)]);
  }

  /** The pacing limit at `rate` per second, over its own interval while that leaves at least 1 unit. */
  private pacingAt(rate: number): LimitInput {
    const { intervalMs, algorithm } = this.pacing;
    const limit = (rate * intervalMs) / 1000;
    const r = limit >= 1 ? { limit, interval: intervalMs } : { limit: 1, interval: 1000 / rate };
    return { rate: r, algorithm, burst: Math.min(this.pacing.burst, r.limit) };
  }
}

function asInput(spec: LimitSpec): LimitInput {
  return { rate: { limit: spec.limit, interval: spec.intervalMs }, algorithm: spec.algorithm, burst: spec.burst, slack: spec.slackMs };
}
