import { ConfigError } from '../core/errors.js';
import { checkBounds, clamp, type AdaptiveLimit, type LimitBounds, type LimitSample } from './adaptive-limit.js';

export interface Gradient2Options extends LimitBounds {
  /** How much slower than the long-term latency the recent latency may be before the limit shrinks. Default 1.5. */
  tolerance?: number | undefined;
  /** Samples in the long-term latency average. Default 600. */
  longWindow?: number | undefined;
  /** Weight of each new limit estimate (0 < s <= 1). Default 0.2. */
  smoothing?: number | undefined;
  /** Headroom added each sample, as a function of the limit. Default 4. */
  queueSize?: ((limit: number) => number) | undefined;
}

/**
 * Gradient2Limit (Netflix concurrency-limits' Gradient2): compares the recent latency to
 * a long-term average. `gradient = clamp(tolerance × long / short, 0.5, 1)` and
 * `limit ← limit × gradient + queueSize`, smoothed. While latency stays within
 * `tolerance` of its long-term level the limit grows by `queueSize`; when it climbs
 * beyond, the limit shrinks in proportion, at most halving per step. It does not grow
 * while less than half the limit is in use. When the recent latency is far below the
 * long-term one (the service got faster) the long-term average is pulled down quickly.
 * Defaults: initial 20, min 1, max 200. Drops are ignored: Gradient2 reads latency only.
 */
export class Gradient2Limit implements AdaptiveLimit {
  private estimate: number;
  private readonly min: number;
  private readonly max: number;
  private readonly tolerance: number;
  private readonly smoothing: number;
  private readonly queueSize: (limit: number) => number;
  private readonly longRtt: Ewma;

  constructor(options: Gradient2Options = {}) {
    ({ min: this.min, max: this.max, initial: this.estimate } = checkBounds(options, 20, 200));
    this.tolerance = options.tolerance ?? 1.5;
    if (!(this.tolerance >= 1)) throw new ConfigError('tolerance', options.tolerance, 'must be a number >= 1');
    this.smoothing = options.smoothing ?? 0.2;
    if (!(this.smoothing > 0 && this.smoothing <= 1)) throw new ConfigError('smoothing', options.smoothing, 'must be in (0, 1]');
    const longWindow = options.longWindow ?? 600;
    if (!Number.isInteger(longWindow) || longWindow < 1) throw new ConfigError('longWindow', options.longWindow, 'must be a whole number >= 1');
    this.longRtt = new Ewma(longWindow, 10);
    this.queueSize = options.queueSize ?? (() => 4);
  }

  get limit(): number {
    return Math.floor(this.estimate);
  }

  onSample({ rttMs, inflight }: LimitSample): number {
    const shortRtt = Math.max(rttMs, 1e-6);
    let longRtt = this.longRtt.add(shortRtt);
    // The service got much faster: let the baseline follow quickly instead of waiting a whole window.
    if (longRtt / shortRtt > 2) longRtt = this.longRtt.scale(0.95);
    // An application-limited caller proves nothing about the service; hold the limit.
    if (inflight < this.estimate / 2) return this.limit;
    const gradient = clamp((this.tolerance * longRtt) / shortRtt, 0.5, 1);
    const target = this.estimate * gradient + this.queueSize(this.estimate);
    this.estimate = clamp(this.estimate * (1 - this.smoothing) + target * this.smoothing, this.min, this.max);
    return this.limit;
  }
}

/** Exponential moving average over `window` samples, a plain mean for the first `warmup`. */
export class Ewma {
  private value = 0;
  private count = 0;
  private readonly alpha: number;

  constructor(
    window: number,
    private readonly warmup: number,
  ) {
    this.alpha = 2 / (window + 1);
  }

  get current(): number {
    return this.value;
  }

  add(sample: number): number {
    this.count++;
    if (this.count <= this.warmup) this.value += (sample - this.value) / this.count;
    else this.value += this.alpha * (sample - this.value);
    return this.value;
  }

  scale(factor: number): number {
    this.value *= factor;
    return this.value;
  }
}
