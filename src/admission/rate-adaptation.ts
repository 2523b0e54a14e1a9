import { ConfigError } from '../core/errors.js';

/** What one response said, reduced to what adaptation needs. Times are Clock milliseconds. */
export interface RateSignal {
  /** When the request was sent: a throttle of a request sent before the last cut says nothing about the new rate. */
  sentAt: number;
  /** When its response arrived. */
  now: number;
  /** The server refused for rate (429, 503). */
  throttled: boolean;
  /** The server's own wait: Retry-After, or the reset of an exhausted quota. */
  retryAfterMs?: number;
  /** The request quota the server reported, if it did. */
  limit?: number;
  remaining?: number;
  resetMs?: number;
  /** The quota's window when the server states it (IETF `w`); with `limit` it gives the rate. */
  windowMs?: number;
}

/** Where a step leaves the rate: requests per second, and when sending may resume. */
export interface RateStep {
  /** Requests per second to pace at from now on. */
  rate: number;
  /** No request should start before this instant (Clock ms); `-Infinity` when there is no pause. */
  pauseUntil: number;
  /** `'probing'`: the limit is unknown and found by CUBIC; `'stated'`: the server's stated limit is followed. */
  mode: 'probing' | 'stated';
}

export interface RateAdaptationOptions {
  /** The configured rate, requests per second: the start, and the ceiling probing never passes. */
  initial: number;
  /** Lowest rate a run of throttles may cut to. Default 0.5/s (the AWS SDK's MIN_FILL_RATE). */
  min?: number;
  /**
   * Multiplier on a throttle. Default 0.8, shallower than the AWS SDK's 0.7: a rate limit
   * refuses only the excess rather than collapsing like a congested link, and the time spent
   * below the limit after each cut is what costs throughput — the average over the climb
   * back is `wMax·(1 − (1 − beta)/4)`, 95 % at 0.8 against 92.5 % at 0.7.
   */
  beta?: number;
  /** CUBIC's scale C, in (requests/s)/s³: how fast the rate climbs back. Default 0.4 (AWS SDK). */
  scale?: number;
  /** Share of a stated limit left unused, so network jitter cannot make paced requests arrive early. Default 0.02. */
  margin?: number;
  /** Pause after the second throttle in a row with no server hint, doubled for each further one. Default 100 ms. */
  backoffMs?: number;
  /** Longest pause any signal may cause. Default 60 s. */
  maxPauseMs?: number;
}

/**
 * RateAdaptation: the pure decision logic of adaptive rate — feed it what each response
 * said (time included) and it answers the rate to pace at and how long to pause. It does
 * no I/O and reads no clock; `AdaptiveRate` applies its steps to a RateLimiter.
 *
 * - **The server states its limit** (`limit` with `windowMs`, e.g. IETF `q` and `w`): the
 *   rate is that limit less `margin` and one request, and no probing goes above it.
 * - **The limit is unknown**: CUBIC as in the AWS SDK's adaptive retry mode. A throttle
 *   remembers `wMax` — the rate, or the successes of the last second when fewer (the AWS
 *   SDK uses its measured rate so) — and cuts to `beta × wMax`; successes then follow
 *   `C·(t − K)³ + wMax` with `K = ∛(wMax·(1 − beta)/C)`: fast back toward `wMax`, flat near
 *   it, then probing above it — never above `initial`. Only the first throttle after a
 *   success cuts; throttles in a row pause instead (below). A throttle of a request sent
 *   before the previous throttle arrived is ignored: it was in flight when we reacted.
 * - **Pauses**: a Retry-After (or an exhausted quota's reset) pauses until then; a quota at
 *   `remaining: 0` pauses until its reset even on a success, instead of spending requests
 *   on 429s; a second throttle in a row with no hint pauses `backoffMs`, doubling while
 *   they follow each other, so an unknown window that is full is not hammered while it
 *   drains.
 */
export class RateAdaptation {
  private rate: number;
  private readonly ceiling: number;
  private readonly min: number;
  private readonly beta: number;
  private readonly scale: number;
  private readonly margin: number;
  private readonly backoffMs: number;
  private readonly maxPauseMs: number;
  private wMax: number;
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private lastThrottleAt = Number.NEGATIVE_INFINITY;
  private bucketStart = Number.NEGATIVE_INFINITY;
  private current1s = 0;
  private previous1s = 0;
  private pauseUntil = Number.NEGATIVE_INFINITY;
  private strikes = 0;
  private mode: 'probing' | 'stated' = 'probing';

  constructor(options: RateAdaptationOptions) {
    this.ceiling = positive(options.initial, 'initial');
    this.min = Math.min(positive(options.min ?? 0.5, 'min'), this.ceiling);
    this.beta = fraction(options.beta ?? 0.8, 'beta');
    this.scale = positive(options.scale ?? 0.4, 'scale');
    this.margin = options.margin ?? 0.02;
    if (!(this.margin >= 0 && this.margin < 1)) throw new ConfigError('margin', options.margin, 'must be in [0, 1)');
    this.backoffMs = nonNegative(options.backoffMs ?? 100, 'backoffMs');
    this.maxPauseMs = nonNegative(options.maxPauseMs ?? 60_000, 'maxPauseMs');
    this.rate = this.ceiling;
    this.wMax = this.ceiling;
  }

  /** The current step without new information. */
  get current(): RateStep {
    return { rate: this.rate, pauseUntil: this.pauseUntil, mode: this.mode };
  }

  /** Takes one response's signal into account and returns the step to apply. */
  observe(signal: RateSignal): RateStep {
    const { now } = signal;
    this.adopt(signal);
    if (signal.throttled) this.onThrottle(signal);
    else this.onSuccess(now);
    if (signal.remaining === 0 && signal.resetMs !== undefined) this.pause(now, signal.resetMs);
    return this.current;
  }

  /** Adopts a stated limit: `limit` per `windowMs`, less the margin. */
  private adopt(signal: RateSignal): void {
    const { limit, windowMs } = signal;
    if (limit === undefined || windowMs === undefined || !(limit > 0) || !(windowMs > 0)) return;
    this.mode = 'stated';
    // One request fewer than the limit less the margin: a window of ours holding N can show
    // N + 1 at the server, whose window edge and clock differ by jitter, and a full window
    // there answers remaining 0 with a reset rounded up to a whole second — a pause.
    // The configured rate stays a ceiling: a server allowing more does not oblige us to use it.
    const allowed = Math.max(1, limit * (1 - this.margin) - 1);
    this.rate = Math.min(this.ceiling, Math.max(this.min, (allowed * 1000) / windowMs));
    this.wMax = this.rate;
  }

  private onThrottle(signal: RateSignal): void {
    const { now } = signal;
    // The server's own wait is an instruction, whoever it answered.
    if (signal.retryAfterMs !== undefined) this.pause(now, signal.retryAfterMs);
    // A request sent before the last throttle arrived was in flight when we reacted to it:
    // its refusal is the same news again, not a sign that the new rate or pause is wrong.
    if (signal.sentAt < this.lastThrottleAt) return;
    this.lastThrottleAt = now;
    this.strikes++;
    // Throttles in a row (no success between) mean a full window still draining, not a rate
    // still too high: they pause, doubling each time, but do not cut again. The first only
    // cuts: just over the limit, the cut is the remedy and a pause would waste requests.
    if (this.strikes > 1) {
      if (signal.retryAfterMs === undefined) this.pause(now, this.backoffMs * 2 ** Math.min(this.strikes - 2, 30));
      return;
    }
    if (this.mode === 'stated') return;
    // The maximum to return to is what went through in the last second when that is less
    // than the rate set (the AWS SDK uses its measured rate so): the server's verdict lags
    // the rate by up to its window, so the rate at a throttle overstates the limit.
    // Under one success a second the count says nothing (a slow client), so the rate stands.
    const recent = this.recentRate(now);
    const base = recent >= 1 ? Math.min(this.rate, recent) : this.rate;
    this.wMax = base;
    this.rate = Math.max(this.min, base * this.beta);
    this.lastCutAt = now;
  }

  private onSuccess(now: number): void {
    this.strikes = 0;
    this.roll(now);
    this.current1s++;
    if (this.mode === 'stated' || this.lastCutAt === Number.NEGATIVE_INFINITY) return;
    const t = (now - this.lastCutAt) / 1000;
    const k = Math.cbrt((this.wMax * (1 - this.beta)) / this.scale);
    const cubic = this.scale * (t - k) ** 3 + this.wMax;
    // The curve starts at beta·wMax, the rate just cut to; never below the floor or above the ceiling.
    this.rate = Math.min(this.ceiling, Math.max(this.min, cubic));
  }

  /**
   * Successes in the last second, estimated from two one-second buckets (the previous one
   * weighted by how much of it the last second still covers): O(1) memory at any rate.
   */
  private recentRate(now: number): number {
    this.roll(now);
    return this.previous1s * (1 - (now - this.bucketStart) / 1000) + this.current1s;
  }

  private roll(now: number): void {
    const start = Math.floor(now / 1000) * 1000;
    if (start === this.bucketStart) return;
    this.previous1s = start - this.bucketStart === 1000 ? this.current1s : 0;
    this.current1s = 0;
    this.bucketStart = start;
  }

  private pause(now: number, ms: number): void {
    const until = now + Math.min(Math.max(0, ms), this.maxPauseMs);
    if (until > this.pauseUntil) this.pauseUntil = until;
  }
}

function positive(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigError(field, value, 'must be a positive finite number');
  return value;
}

function nonNegative(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ConfigError(field, value, 'must be a finite number >= 0');
  return value;
}

function fraction(value: unknown, field: string): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) throw new ConfigError(field, value, 'must be in (0, 1)');
  return value;
}
