// Twin: src/store/lua/adaptation.ts — `advance` in Lua, which a fleet shares through
// RedisStore; parity proven by test/store/redis/shared-adaptation.test.ts (against
// MemorySharedAdaptation, which runs `advance`). Change both, or neither.
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
  retryAfterMs?: number | undefined;
  /** The request quota the server reported, if it did. */
  limit?: number | undefined;
  remaining?: number | undefined;
  resetMs?: number | undefined;
  /** The quota's window when the server states it (IETF `w`); with `limit` it gives the rate. */
  windowMs?: number | undefined;
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
  min?: number | undefined;
  /**
   * Multiplier on a throttle. Default 0.8, shallower than the AWS SDK's 0.7: a rate limit
   * refuses only the excess rather than collapsing like a congested link, and the time spent
   * below the limit after each cut is what costs throughput — the average over the climb
   * back is `wMax·(1 − (1 − beta)/4)`, 95 % at 0.8 against 92.5 % at 0.7.
   */
  beta?: number | undefined;
  /** CUBIC's scale C, in (requests/s)/s³: how fast the rate climbs back. Default 0.4 (AWS SDK). */
  scale?: number | undefined;
  /** Share of a stated limit left unused, so network jitter cannot make paced requests arrive early. Default 0.02. */
  margin?: number | undefined;
  /** Pause after the second throttle in a row with no server hint, doubled for each further one. Default 100 ms. */
  backoffMs?: number | undefined;
  /** Longest pause any signal may cause. Default 60 s. */
  maxPauseMs?: number | undefined;
}

/** The options resolved and checked: what `advance` needs besides the state. */
export interface AdaptationParams {
  ceiling: number;
  min: number;
  beta: number;
  scale: number;
  margin: number;
  backoffMs: number;
  maxPauseMs: number;
}

/**
 * Everything adaptation remembers, as plain numbers so it can live elsewhere — in a shared
 * store for a fleet (see shared-adaptation.ts), on that store's clock. Instants are in the
 * time base of the `now` passed to `advance`; `-Infinity` means never.
 */
export interface AdaptationState {
  /** Requests per second to pace at. */
  rate: number;
  mode: 'probing' | 'stated';
  /** CUBIC's maximum: where the curve flattens after a cut. */
  wMax: number;
  /** When the last cut was made (the CUBIC epoch). */
  cutAt: number;
  /** When the last throttle that counted arrived. */
  lastThrottleAt: number;
  /** Throttles in a row since the last success. */
  strikes: number;
  pauseUntil: number;
  /** Start of the current one-second bucket of successes, and the counts of it and the one before. */
  bucketStart: number;
  current1s: number;
  previous1s: number;
  /** Cuts made so far. */
  cuts: number;
  /**
   * Throttles counted so far: the generation of `lastThrottleAt`. A fleet member tells with
   * a throttle which generation it knew when it sent the request (`knownGeneration`).
   */
  generation: number;
}

/**
 * What happened since the last step. One response gives `successes` 1 or a `throttle`; a
 * fleet member reports the successes it counted since its last report in one input.
 */
export interface AdaptationInput {
  now: number;
  /** Successes to count, and when the latest of them arrived (no later than `now`). */
  successes: number;
  lastSuccessAt: number;
  /**
   * A refusal for rate: when its request was sent, the server's own wait if it gave one,
   * and — from a fleet member — the throttle generation it knew when it sent the request.
   */
  throttle?: ThrottleInput | undefined;
  /** A limit the server stated, as requests per second before the floor and ceiling. */
  stated?: number | undefined;
  /** A pause the server asked for on a success (a quota at 0 until its reset). */
  pauseMs?: number | undefined;
}

export interface ThrottleInput {
  sentAt: number;
  retryAfterMs?: number | undefined;
  knownGeneration?: number | undefined;
}

/** Checks RateAdaptation's options and fills in the defaults. */
export function adaptationParams(options: RateAdaptationOptions): AdaptationParams {
  const ceiling = positive(options.initial, 'initial');
  const margin = options.margin ?? 0.02;
  if (!(margin >= 0 && margin < 1)) throw new ConfigError('margin', options.margin, 'must be in [0, 1)');
  return {
    ceiling,
    min: Math.min(positive(options.min ?? 0.5, 'min'), ceiling),
    beta: fraction(options.beta ?? 0.8, 'beta'),
    scale: positive(options.scale ?? 0.4, 'scale'),
    margin,
    backoffMs: nonNegative(options.backoffMs ?? 100, 'backoffMs'),
    maxPauseMs: nonNegative(options.maxPauseMs ?? 60_000, 'maxPauseMs'),
  };
}

/** The state before any feedback: the configured rate, probing. */
export function initialState(params: AdaptationParams): AdaptationState {
  const never = Number.NEGATIVE_INFINITY;
  return {
    rate: params.ceiling,
    mode: 'probing',
    wMax: params.ceiling,
    cutAt: never,
    lastThrottleAt: never,
    strikes: 0,
    pauseUntil: never,
    bucketStart: never,
    current1s: 0,
    previous1s: 0,
    cuts: 0,
    generation: 0,
  };
}

/**
 * What one response said, as an input. A stated limit is adopted less the margin and one
 * request: a window of ours holding N can show N + 1 at the server, whose window edge and
 * clock differ by jitter, and a full window there answers remaining 0 with a reset rounded
 * up to a whole second — a pause.
 */
export function inputOf(signal: RateSignal, params: AdaptationParams): AdaptationInput {
  const { now, limit, windowMs } = signal;
  const input: AdaptationInput = { now, successes: signal.throttled ? 0 : 1, lastSuccessAt: now };
  if (limit !== undefined && windowMs !== undefined && limit > 0 && windowMs > 0) {
    input.stated = (Math.max(1, limit * (1 - params.margin) - 1) * 1000) / windowMs;
  }
  if (signal.throttled) input.throttle = signal.retryAfterMs === undefined ? { sentAt: signal.sentAt } : { sentAt: signal.sentAt, retryAfterMs: signal.retryAfterMs };
  if (signal.remaining === 0 && signal.resetMs !== undefined) input.pauseMs = signal.resetMs;
  return input;
}

/**
 * advance: one step of adaptive rate — the whole algorithm, on a state that may be this
 * process's own or a fleet's. The Redis script in src/store/lua/adaptation.ts is the same
 * function line for line. Order: a stated limit, then the successes, then the throttle,
 * then a requested pause.
 */
export function advance(s: AdaptationState, input: AdaptationInput, p: AdaptationParams): void {
  const { now } = input;
  if (input.stated !== undefined) {
    // The configured rate stays a ceiling: a server allowing more does not oblige us to use it.
    s.mode = 'stated';
    s.rate = clamp(input.stated, p);
    s.wMax = s.rate;
  }
  if (input.successes > 0) onSuccesses(s, input, p);
  if (input.throttle !== undefined) onThrottle(s, now, input.throttle, p);
  if (input.pauseMs !== undefined) pause(s, now, input.pauseMs, p);
}

function onSuccesses(s: AdaptationState, input: AdaptationInput, p: AdaptationParams): void {
  const { now } = input;
  // A success that arrived after the last throttle ends a run of throttles. In a fleet,
  // successes are reported late and in batches: ones that arrived before the throttle do not.
  if (input.lastSuccessAt >= s.lastThrottleAt) s.strikes = 0;
  roll(s, now);
  s.current1s += input.successes;
  if (s.mode === 'stated' || s.cutAt === Number.NEGATIVE_INFINITY) return;
  s.rate = curve(s, now, p);
}

/** CUBIC at `now`: it starts at beta·wMax, the rate just cut to; never below the floor or above the ceiling. */
function curve(s: AdaptationState, now: number, p: AdaptationParams): number {
  const t = (now - s.cutAt) / 1000;
  const k = Math.cbrt((s.wMax * (1 - p.beta)) / p.scale);
  return clamp(p.scale * (t - k) ** 3 + s.wMax, p);
}

function onThrottle(s: AdaptationState, now: number, throttle: ThrottleInput, p: AdaptationParams): void {
  // The server's own wait is an instruction, whoever it answered.
  if (throttle.retryAfterMs !== undefined) pause(s, now, throttle.retryAfterMs, p);
  // A request sent before the last throttle arrived was in flight when we reacted to it:
  // its refusal is the same news again, not a sign that the new rate or pause is wrong. In a
  // fleet, the reaction reaches each member a little later: a request its member sent before
  // it knew of the last throttle is in flight in the same sense.
  if (throttle.sentAt < s.lastThrottleAt) return;
  if (throttle.knownGeneration !== undefined && throttle.knownGeneration < s.generation) return;
  s.lastThrottleAt = now;
  s.generation++;
  s.strikes++;
  // Throttles in a row (no success between) mean a full window still draining, not a rate
  // still too high: they pause, doubling each time, but do not cut again. The first only
  // cuts: just over the limit, the cut is the remedy and a pause would waste requests.
  if (s.strikes > 1) {
    if (throttle.retryAfterMs === undefined) pause(s, now, p.backoffMs * 2 ** Math.min(s.strikes - 2, 30), p);
    return;
  }
  if (s.mode === 'stated') return;
  // The maximum to return to is what went through in the last second when that is less
  // than the rate set (the AWS SDK uses its measured rate so): the server's verdict lags
  // the rate by up to its window, so the rate at a throttle overstates the limit.
  // Under one success a second the count says nothing (a slow client), so the rate stands.
  const recent = recentRate(s, now);
  const base = recent >= 1 ? Math.min(s.rate, recent) : s.rate;
  s.wMax = base;
  s.rate = Math.max(p.min, base * p.beta);
  s.cutAt = now;
  s.cuts++;
}

/**
 * Successes in the last second, estimated from two one-second buckets (the previous one
 * weighted by how much of it the last second still covers): O(1) memory at any rate.
 */
function recentRate(s: AdaptationState, now: number): number {
  roll(s, now);
  return s.previous1s * (1 - (now - s.bucketStart) / 1000) + s.current1s;
}

function roll(s: AdaptationState, now: number): void {
  const start = Math.floor(now / 1000) * 1000;
  // A clock that stepped back (a shared store's, after NTP) stays in the newer bucket.
  if (start <= s.bucketStart) return;
  s.previous1s = start - s.bucketStart === 1000 ? s.current1s : 0;
  s.current1s = 0;
  s.bucketStart = start;
}

function pause(s: AdaptationState, now: number, ms: number, p: AdaptationParams): void {
  const until = now + Math.min(Math.max(0, ms), p.maxPauseMs);
  if (until > s.pauseUntil) s.pauseUntil = until;
}

function clamp(rate: number, p: AdaptationParams): number {
  return Math.min(p.ceiling, Math.max(p.min, rate));
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
 *
 * The algorithm itself is `advance`, on an `AdaptationState` this object keeps; a fleet
 * keeps one such state in a shared store instead (`SharedAdaptation`).
 */
export class RateAdaptation {
  readonly params: AdaptationParams;
  private readonly s: AdaptationState;

  constructor(options: RateAdaptationOptions) {
    this.params = adaptationParams(options);
    this.s = initialState(this.params);
  }

  /** The current step without new information. */
  get current(): RateStep {
    return { rate: this.s.rate, pauseUntil: this.s.pauseUntil, mode: this.s.mode };
  }

  /**
   * The rate a success at `now` would set: the CUBIC curve at `now` while probing after a
   * cut, the rate itself otherwise. A fleet member paces at it between exchanges, so that
   * members who read the shared state at different moments still follow one curve.
   */
  rateAt(now: number): number {
    if (this.s.mode === 'stated' || this.s.cutAt === Number.NEGATIVE_INFINITY) return this.s.rate;
    return curve(this.s, now, this.params);
  }

  /** A copy of the whole state. */
  get state(): AdaptationState {
    return { ...this.s };
  }

  /** Takes one response's signal into account and returns the step to apply. */
  observe(signal: RateSignal): RateStep {
    advance(this.s, inputOf(signal, this.params), this.params);
    return this.current;
  }

  /**
   * Takes over the adaptive part of `state` (a fleet's, already converted to this clock):
   * rate, mode, CUBIC epoch, run of throttles and their generation, cuts; a pause only if it ends later than the
   * one held. The success counts stay this process's own.
   */
  restore(state: Pick<AdaptationState, 'rate' | 'mode' | 'wMax' | 'cutAt' | 'lastThrottleAt' | 'strikes' | 'pauseUntil' | 'cuts' | 'generation'>): void {
    const s = this.s;
    s.rate = clamp(state.rate, this.params);
    s.mode = state.mode;
    s.wMax = state.wMax;
    s.cutAt = state.cutAt;
    s.lastThrottleAt = state.lastThrottleAt;
    s.strikes = state.strikes;
    s.cuts = state.cuts;
    s.generation = state.generation;
    if (state.pauseUntil > s.pauseUntil) s.pauseUntil = state.pauseUntil;
  }

  /** Pauses until `now + ms` (capped at maxPauseMs), unless a longer pause holds already. */
  hold(now: number, ms: number): void {
    pause(this.s, now, ms, this.params);
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
