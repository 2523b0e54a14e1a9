import { ConfigError } from '../core/errors.js';
import { checkBounds, clamp, type AdaptiveLimit, type LimitBounds, type LimitSample } from './adaptive-limit.js';

export interface RateSizedOptions extends LimitBounds {
  /**
   * The rate work is admitted at, in items per millisecond, read on every sample so it
   * follows `RateLimiter.setLimits` and the average cost of an item.
   */
  itemsPerMs: () => number;
  /** Multiplier over Little's law, covering latency spread and rate bursts. Default 1.5. */
  headroom?: number | undefined;
  /** Samples over which the latency maximum and minimum are taken (two half-windows). Default 64. */
  latencyWindow?: number | undefined;
  /** The fastest recent call slower than `tolerance ×` the long-term floor means a queue at the service: overload. Default 2. */
  tolerance?: number | undefined;
  /** Factor applied on a drop (429, 503, timeout). Default 0.9. */
  backoffRatio?: number | undefined;
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
 * overloaded would be fed ever more work, since by Little's law its growing queue asks
 * for a growing limit. The tell is the fastest call: a random spread of latencies leaves
 * the quickest calls quick, but a queue at the service delays every call, so the minimum
 * latency of recent samples rises. When it exceeds `tolerance ×` its long-term floor, a
 * brake caps the limit and shrinks it in proportion (as Gradient2 does with averages,
 * at most halving); a drop (429, 503, timeout) multiplies it by `backoffRatio`. It cuts
 * at most once per round trip (the calls in flight at a cut are not evidence against
 * the new limit), and from what is really in flight, since under a rate limit the limit
 * itself often does not bind; calm samples release it by 1 each until it no longer
 * binds. The floor follows a lasting rise slowly (a fiftieth of the gap every 32
 * samples), so a service that got slower for everyone, not because of us, is braked for
 * a while (on the order of a thousand samples) before it is taken as the new normal. Before the first sample the limit is `initial` (default `max`): the rate
 * limiter alone paces the start. Defaults: min 1, max 1000.
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
  private readonly slowest: WindowExtreme;
  /** The fastest of the last 32 calls: short, so the brake lets go soon after the queue drains. */
  private readonly fastest = new WindowExtreme(16, Math.min);
  /** Long-term floor of the latency: drops at once, rises a fiftieth of the gap every 32 samples. */
  private floor = Number.POSITIVE_INFINITY;
  private floorCount = 0;
  private floorBlockMin = Number.POSITIVE_INFINITY;
  /**
   * Samples to wait after a cut before cutting again: the calls in flight at the cut
   * started before it, and their latency says nothing about the new limit (TCP cuts once
   * per round trip for the same reason). Without it the brake collapses to `min`.
   */
  private cooldown = 0;

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
    this.slowest = new WindowExtreme(Math.ceil(window / 2), Math.max);
  }

  get limit(): number {
    return this.current;
  }

  /** The latency Little's law is applied to: the slowest of the recent samples. */
  get latencyMs(): number {
    return this.slowest.value;
  }

  /** Whether the overload brake is holding the limit below Little's law. */
  get braking(): boolean {
    return Number.isFinite(this.brake);
  }

  onSample({ rttMs, inflight, dropped }: LimitSample): number {
    // A refused call (a 429 answered in 2 ms) says nothing about how long the service takes:
    // fed to the latency trackers it would set the floor to 2 ms, every normal call would
    // then look queued, and the brake would halve the limit again and again.
    const recentMin = dropped ? this.fastest.value : this.fastest.add(rttMs);
    if (!dropped) {
      this.slowest.add(rttMs);
      this.updateFloor(rttMs);
    }
    const little = Math.ceil(this.itemsPerMs() * this.latencyMs * this.headroom);
    const queued = this.tolerance * this.floor;
    const overloaded = dropped || recentMin > queued;
    if (overloaded && (this.cooldown > 0 || (this.braking && inflight > this.brake))) {
      // Started before the last cut (it saw more in flight than the brake allows now).
      if (this.cooldown > 0) this.cooldown--;
    } else if (overloaded) {
      // A drop cuts by backoffRatio; queueing by the latency gradient, as Gradient2 does.
      const factor = dropped ? this.backoffRatio : clamp(queued / recentMin, 0.5, 1);
      // Cut from what is really in flight: under a rate limit the limit often is not what binds.
      this.brake = Math.floor(Math.min(this.brake, this.current, inflight + 1) * factor);
      this.cooldown = inflight; // the calls in flight when this one started are still to report
    } else if (this.braking && rttMs <= queued && inflight * 2 >= this.brake) {
      this.cooldown = 0;
      this.brake += 1;
      if (this.brake >= little) this.release();
    }
    if (this.brake < this.min) this.brake = this.min;
    this.current = clamp(Math.min(little, this.brake), this.min, this.max);
    return this.current;
  }

  private release(): void {
    this.brake = Number.POSITIVE_INFINITY;
    this.cooldown = 0;
  }

  private updateFloor(rttMs: number): void {
    if (rttMs < this.floor) this.floor = rttMs;
    if (rttMs < this.floorBlockMin) this.floorBlockMin = rttMs;
    if (++this.floorCount < 32) return;
    this.floor += (this.floorBlockMin - this.floor) / 50;
    this.floorBlockMin = Number.POSITIVE_INFINITY;
    this.floorCount = 0;
  }
}

/**
 * The max (or min) of the last `2 × half` samples, approximately: the extreme of the
 * current and the previous half-window. O(1) time and memory; old extremes are forgotten.
 */
class WindowExtreme {
  private current: number;
  private previous: number;
  private count = 0;
  private readonly empty: number;

  constructor(
    private readonly half: number,
    private readonly pick: (a: number, b: number) => number,
  ) {
    this.empty = pick === Math.max ? 0 : Number.POSITIVE_INFINITY;
    this.current = this.empty;
    this.previous = this.empty;
  }

  get value(): number {
    return this.pick(this.current, this.previous);
  }

  add(sample: number): number {
    this.current = this.pick(this.current, sample);
    if (++this.count >= this.half) {
      this.previous = this.current;
      this.current = this.empty;
      this.count = 0;
    }
    return this.pick(this.current, this.previous);
  }
}
