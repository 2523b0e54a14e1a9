import { ConfigError } from '../core/errors.js';

/**
 * One finished call, as an adaptive limit sees it: how long it took, how many calls were
 * in flight when it started, and whether it was dropped (429, 503, a timeout: a sign of
 * overload rather than an ordinary failure).
 */
export interface LimitSample {
  rttMs: number;
  inflight: number;
  dropped: boolean;
}

/**
 * AdaptiveLimit: a concurrency limit as a pure algorithm. It does no I/O and keeps no
 * clock: the enforcer (a flow) feeds it one sample per finished call and reads `limit`.
 * In the style of Netflix concurrency-limits, where `Limit` is apart from `Limiter`.
 */
export interface AdaptiveLimit {
  /** The limit in force: a whole number within the algorithm's min and max. */
  readonly limit: number;
  /** Takes one sample and returns the new limit. */
  onSample(sample: LimitSample): number;
}

/** Bounds every adaptive limit shares. */
export interface LimitBounds {
  /** Starting limit. */
  initial?: number | undefined;
  /** Never below this; a whole number >= 1. */
  min?: number | undefined;
  /** Never above this. */
  max?: number | undefined;
}

export interface AimdOptions extends LimitBounds {
  /** Factor applied on a drop. Default 0.9 (30 → 27). */
  backoffRatio?: number | undefined;
  /** A call slower than this counts as a drop. Default: never. */
  timeoutMs?: number | undefined;
}

/**
 * AimdLimit: additive increase, multiplicative decrease. A drop (or a call slower than
 * `timeoutMs`) multiplies the limit by `backoffRatio` (rounded down); a success adds 1,
 * but only while at least half the limit is in use — an idle limit has proved nothing
 * and must not grow without bound. Defaults: initial 20, min 1, max 200, ratio 0.9.
 */
export class AimdLimit implements AdaptiveLimit {
  private current: number;
  private readonly min: number;
  private readonly max: number;
  private readonly backoffRatio: number;
  private readonly timeoutMs: number;

  constructor(options: AimdOptions = {}) {
    ({ min: this.min, max: this.max, initial: this.current } = checkBounds(options, 20, 200));
    this.backoffRatio = options.backoffRatio ?? 0.9;
    if (!(this.backoffRatio > 0 && this.backoffRatio < 1)) throw new ConfigError('backoffRatio', options.backoffRatio, 'must be between 0 and 1');
    this.timeoutMs = options.timeoutMs ?? Number.POSITIVE_INFINITY;
    if (!(this.timeoutMs > 0)) throw new ConfigError('timeoutMs', options.timeoutMs, 'must be a number of milliseconds > 0');
  }

  get limit(): number {
    return this.current;
  }

  onSample({ rttMs, inflight, dropped }: LimitSample): number {
    let next = this.current;
    if (dropped || rttMs > this.timeoutMs) next = Math.floor(this.current * this.backoffRatio);
    else if (inflight * 2 >= this.current) next = this.current + 1;
    this.current = clamp(next, this.min, this.max);
    return this.current;
  }
}

/** Validates min/max/initial and returns them with the algorithm's defaults filled in. */
export function checkBounds(options: LimitBounds, defaultInitial: number, defaultMax: number): Required<LimitBounds> {
  const min = options.min ?? 1;
  if (!Number.isInteger(min) || min < 1) throw new ConfigError('min', options.min, 'must be a whole number >= 1');
  const max = options.max ?? Math.max(defaultMax, min);
  if (!(max >= min)) throw new ConfigError('max', options.max, `must be a number >= min (${min})`);
  const initial = options.initial ?? clamp(defaultInitial, min, max);
  if (!(initial >= min && initial <= max)) throw new ConfigError('initial', options.initial, `must lie within min (${min}) and max (${max})`);
  return { min, max, initial: Math.floor(initial) };
}

export function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}
