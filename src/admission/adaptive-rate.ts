import { ConfigError } from '../core/errors.js';
import { checkBounds, clamp, type AdaptiveLimit, type LimitBounds, type LimitSample } from './adaptive.js';
import { Ewma } from './adaptive-gradient2.js';

export interface RateSizedOptions extends LimitBounds {
  /**
   * The rate work is admitted at, in items per millisecond, read on every sample so it
   * follows `RateLimiter.setLimits` and the average cost of an item.
   */
  itemsPerMs: () => number;
  /** Multiplier over Little's law, covering latency spread and rate bursts. Default 1.5. */
  headroom?: number;
  /** Samples over which the latency maximum is taken (two half-windows). Default 64. */
  latencyWindow?: number;
  /** Recent latency above `tolerance ×` its long-term average means overload. Default 2. */
  tolerance?: number;
  /** Samples in the long-term latency average. Default 100. */
  longWindow?: number;
  /** Factor applied on a drop (429, 503, timeout). Default 0.9. */
  backoffRatio?: number;
}

/**
 * RateSizedLimit: concurrency for rate-limited work, sized by Little's law. To start
 * `λ` items per ms when each takes `W` ms, `λ·W` must be in flight; the limit is
 * `ceil(λ × Wmax × headroom)`, where `Wmax` is the slowest latency among recent samples.
 * Latency that swings (8 s one call, 30 s the next) therefore raises the limit instead of
 * starving the rate, and a faster service lowers it, so the rate limiter — not the
 * latency — decides the throughput.
 *
 * More in flight is not always better: a service that slows down *because* it is
 * overloaded would be fed ever more work. So a brake, AIMD-style, caps the Little's-law
 * size: a drop multiplies it by `backoffRatio`; recent latency beyond `tolerance ×` its
 * long-term average (latency that keeps climbing, not a random spread) shrinks it in
 * proportion, as Gradient2 does; calm samples release it by 1 each until it no longer
 * binds. Before the first sample the limit is `initial` (default `max`): the rate limiter
 * alone paces the start. Defaults: min 1, max 1000.
 */
export class RateSizedLimit implements AdaptiveLimit {
  private current: number;
  private brake = Number.POSITIVE_INFINITY;
  private readonly min: number;
  private readonly max: number;
  private readonly itemsPerMs: () => number;
  private readonly headroom: number;
  private readonly tolerance: number;
  private readonly backoffRatio: number;
  private readonly halfWindow: number;
  private blockMax = 0;
  private previousMax = 0;
  private blockCount = 0;
  private readonly shortRtt = new Ewma(10, 1);
  private readonly longRtt: Ewma;
  private samples = 0;

  constructor(options: RateSizedOptions) {
    if (options === null || typeof options !== 'object' || typeof options.itemsPerMs !== 'function') {
      throw new ConfigError('itemsPerMs', options?.itemsPerMs, 'must be a function returning items per millisecond');
    }
    const bounds = checkBounds({ ...options, initial: options.initial ?? options.max ?? 1000 }, 1000, 1000);
    ({ min: this.min, max: this.max, initial: this.current } = bounds);
    this.itemsPerMs = options.itemsPerMs;
    this.headroom = options.headroom ?? 1.5;
    if (!(this.headroom >= 1)) throw new ConfigError('headroom', options.headroom, 'must be a number >= 1');
    this.tolerance = options.tolerance ?? 2;
    if (!(this.tolerance > 1)) throw new ConfigError('tolerance', options.tolerance, 'must be a number > 1');
    this.backoffRatio = options.backoffRatio ?? 0.9;
    if (!(this.backoffRatio > 0 && this.backoffRatio < 1)) throw new ConfigError('backoffRatio', options.backoffRatio, 'must be between 0 and 1');
    const window = options.latencyWindow ?? 64;
    if (!Number.isInteger(window) || window < 2) throw new ConfigError('latencyWindow', options.latencyWindow, 'must be a whole number >= 2');
    this.halfWindow = Math.ceil(window / 2);
    const longWindow = options.longWindow ?? 100;
    if (!Number.isInteger(longWindow) || longWindow < 1) throw new ConfigError('longWindow', options.longWindow, 'must be a whole number >= 1');
    this.longRtt = new Ewma(longWindow, 10);
  }

  get limit(): number {
    return this.current;
  }

  /** The latency Little's law is applied to: the slowest of the recent samples. */
  get latencyMs(): number {
    return Math.max(this.blockMax, this.previousMax);
  }

  /** Whether the overload brake is holding the limit below Little's law. */
  get braking(): boolean {
    return Number.isFinite(this.brake);
  }

  onSample({ rttMs, inflight, dropped }: LimitSample): number {
    this.samples++;
    this.recordLatency(rttMs);
    const short = this.shortRtt.add(rttMs);
    let long = this.longRtt.add(rttMs);
    if (long > 2 * short) long = this.longRtt.scale(0.95); // faster now: let the baseline follow
    const little = Math.ceil(this.itemsPerMs() * this.latencyMs * this.headroom);

    if (dropped) {
      this.brake = Math.floor(Math.min(this.brake, this.current) * this.backoffRatio);
    } else if (this.samples > 10 && short > this.tolerance * long) {
      const gradient = clamp((this.tolerance * long) / short, 0.5, 1);
      // Smoothed like Gradient2 so one slow sample moves the limit a little, a trend a lot.
      this.brake = Math.floor(Math.min(this.brake, this.current) * (0.8 + 0.2 * gradient));
    } else if (this.braking && inflight * 2 >= this.brake) {
      this.brake += 1;
      if (this.brake >= little) this.brake = Number.POSITIVE_INFINITY;
    }
    if (this.brake < this.min) this.brake = this.min;
    this.current = clamp(Math.min(little, this.brake), this.min, this.max);
    return this.current;
  }

  /** Max over the current and the previous half-window: O(1) time and memory, forgets old peaks. */
  private recordLatency(rttMs: number): void {
    if (rttMs > this.blockMax) this.blockMax = rttMs;
    if (++this.blockCount >= this.halfWindow) {
      this.previousMax = this.blockMax;
      this.blockMax = 0;
      this.blockCount = 0;
    }
  }
}
