import { ConfigError } from '../core/errors.js';
import { checkBounds, clamp, type AdaptiveLimit, type LimitBounds, type LimitSample } from './adaptive-limit.js';

export interface VegasOptions extends LimitBounds {
  /** Weight of each new estimate (0 < s <= 1). Default 1. */
  smoothing?: number | undefined;
  /** Re-measure the no-load latency about every `probeMultiplier × limit` samples. Default 30. */
  probeMultiplier?: number | undefined;
  /** Randomness for the probe jitter, in [0, 1). Default Math.random; inject for tests. */
  random?: (() => number) | undefined;
}

/**
 * VegasLimit (TCP Vegas, as in Netflix concurrency-limits): estimates the queue the limit
 * builds at the service as `limit × (1 − rttNoLoad / rtt)`, where `rttNoLoad` is the
 * lowest latency seen. With `log = log10(limit)`: a queue under `log` grows the limit by
 * `6·log`, under `3·log` by `log`; above `6·log` it shrinks by `log`; a drop shrinks it by
 * `log`. The no-load latency is re-measured now and then (a probe) so a service that got
 * slower for good is not mistaken for a queue forever. Defaults: initial 20, min 1, max 1000.
 */
export class VegasLimit implements AdaptiveLimit {
  private estimate: number;
  private readonly min: number;
  private readonly max: number;
  private readonly smoothing: number;
  private readonly probeMultiplier: number;
  private readonly random: () => number;
  private rttNoLoad = 0;
  private probeCountdown: number;

  constructor(options: VegasOptions = {}) {
    ({ min: this.min, max: this.max, initial: this.estimate } = checkBounds(options, 20, 1000));
    this.smoothing = options.smoothing ?? 1;
    if (!(this.smoothing > 0 && this.smoothing <= 1)) throw new ConfigError('smoothing', options.smoothing, 'must be in (0, 1]');
    this.probeMultiplier = options.probeMultiplier ?? 30;
    if (!(this.probeMultiplier >= 1)) throw new ConfigError('probeMultiplier', options.probeMultiplier, 'must be a number >= 1');
    this.random = options.random ?? Math.random;
    this.probeCountdown = this.nextProbe();
  }

  get limit(): number {
    return Math.floor(this.estimate);
  }

  onSample({ rttMs, inflight, dropped }: LimitSample): number {
    if (--this.probeCountdown <= 0) {
      this.probeCountdown = this.nextProbe();
      this.rttNoLoad = rttMs;
      return this.limit;
    }
    if (this.rttNoLoad === 0 || rttMs < this.rttNoLoad) {
      this.rttNoLoad = rttMs;
      return this.limit;
    }
    const limit = this.estimate;
    const log = Math.max(1, Math.log10(limit));
    const queue = Math.ceil(limit * (1 - this.rttNoLoad / rttMs));
    let next: number;
    if (dropped) next = limit - log;
    else if (inflight * 2 < limit) return this.limit; // application-limited: no evidence either way
    else if (queue <= log) next = limit + 6 * log;
    else if (queue < 3 * log) next = limit + log;
    else if (queue > 6 * log) next = limit - log;
    else return this.limit;
    next = clamp(next, this.min, this.max);
    this.estimate = (1 - this.smoothing) * limit + this.smoothing * next;
    return this.limit;
  }

  private nextProbe(): number {
    return Math.max(1, Math.round((0.5 + this.random() * 0.5) * this.probeMultiplier * this.estimate));
  }
}
