// Twin: src/store/lua/smoothing.ts — the same math in Lua, which RedisStore runs; parity
// proven by test/store/redis/memory-vs-redis.test.ts. Change both, or neither.
import type { LimitSpec } from './limit-spec.js';
import { EPSILON_MS, type LimitState } from './limit-state.js';

/**
 * SmoothingState: the `smooth` option of a limit — at most the pro-rata share of the limit
 * in every window of length `smoothMs` or longer, while windows shorter than that may still
 * catch up after a late timer (the pacer's slack).
 *
 * Why: slack keeps a busy limiter at its rate when timers fire late, but the starts that
 * catch up put more than N·W/T into some windows W shorter than T (at 1000/s with 10 ms of
 * slack, 110 in some 100 ms). With `smooth: W` no window of length L ≥ W holds more than
 * `b - 1 + ceil(L·N/T)` unit starts (b = burst; pro rata for burst 1), and catching up is
 * allowed only as far as that permits.
 *
 * How: a unit occupies e = T/N ms. Number the units started since the state was fresh; a
 * start at time a after K units has lag u = a − K·e. For every earlier start i at least
 * G = W·N/T units before it, the rule is a ≥ a_i + (K − K_i − (b − 1))·e, that is
 * u ≥ u_i − (b − 1)·e: a start may be as late as the latest start G units before it, never
 * earlier against its ideal instant. So the state is the largest lag among starts at least
 * G units old (`floor`), and the starts of the last G units (a ring of (K_i, u_i)) that
 * have yet to become that old. Memory: at most one entry per distinct start instant in the
 * last G units (starts at one instant after the first are dominated by it and not kept).
 *
 * A changed rate or window starts afresh: lags counted in different units do not compare.
 */
export class SmoothingState implements LimitState {
  private emission: number;
  /** G: how many units apart two starts must be for the rule to bind them. */
  private span: number;
  private tolerance: number;
  private units = 0;
  private floor = Number.NEGATIVE_INFINITY;
  /** The largest lag recorded since the state was fresh (idleAt). */
  private top = Number.NEGATIVE_INFINITY;
  private marks = new Float64Array(8);
  private lags = new Float64Array(8);
  private head = 0;
  private count = 0;
  private lastAt = Number.NEGATIVE_INFINITY;

  /** How much later than its lag each start is counted: the start lag, below. */
  private lag = 0;

  /**
   * `startLagMs` as SlidingWindowState takes it: a start decided here begins in the caller a
   * little later, so each start counts that much later (at most W/1000, a thousandth of the
   * rate) and the rule holds in the callers' own start times too.
   */
  constructor(
    spec: LimitSpec,
    private readonly startLagMs = 0,
  ) {
    this.emission = spec.intervalMs / spec.limit;
    this.span = spanOf(spec);
    this.tolerance = (spec.burst - 1) * this.emission;
    this.lag = Math.min(startLagMs, (spec.smoothMs ?? 0) / 1000);
  }

  update(spec: LimitSpec, _now: number): void {
    const emission = spec.intervalMs / spec.limit;
    const span = spanOf(spec);
    if (emission === this.emission && span === this.span) {
      this.tolerance = (spec.burst - 1) * emission;
      return;
    }
    this.emission = emission;
    this.span = span;
    this.tolerance = (spec.burst - 1) * emission;
    this.lag = Math.min(this.startLagMs, (spec.smoothMs ?? 0) / 1000);
    this.reset();
  }

  private reset(): void {
    this.units = 0;
    this.floor = Number.NEGATIVE_INFINITY;
    this.top = Number.NEGATIVE_INFINITY;
    this.head = 0;
    this.count = 0;
    this.lastAt = Number.NEGATIVE_INFINITY;
  }

  /**
   * Starts afresh once idle: no rule can bind a future start any more (idleAt). Done on every
   * call, as the Lua does on loading, so both hold the very same state.
   */
  private freshen(now: number): void {
    if (this.idleAt() <= now) this.reset();
  }

  waitMs(now: number, _cost: number): number {
    this.freshen(now);
    this.settle();
    const earliest = this.floor - this.tolerance + this.units * this.emission;
    const wait = earliest - now;
    return wait > EPSILON_MS ? wait : 0;
  }

  take(now: number, cost: number): void {
    this.freshen(now);
    this.settle();
    if (now !== this.lastAt) {
      if (this.count === this.marks.length) this.grow();
      const slot = (this.head + this.count) & (this.marks.length - 1);
      const lag = now + this.lag - this.units * this.emission;
      this.marks[slot] = this.units;
      this.lags[slot] = lag;
      if (lag > this.top) this.top = lag;
      this.count++;
      this.lastAt = now;
    }
    this.units += cost;
  }

  reserve(now: number, cost: number): number {
    const wait = this.waitMs(now, cost);
    if (wait === 0) this.take(now, cost);
    return wait;
  }

  charge(now: number, cost: number, _at: number): void {
    // As a start now: every start after the charged one would count from more units, which
    // only a start now does without moving them (and it is the stricter of the two).
    this.take(now, cost);
  }

  refund(now: number, cost: number, at?: number): void {
    // The refunded units are the newest: later starts count from fewer units. A start whose
    // units are all given back leaves the ring. Units of an older start are not given back:
    // every start after it would count from fewer units, and the ring keeps no record of
    // which of them it could move (kept, the rule is only stricter).
    this.freshen(now);
    if (at !== undefined && at < this.lastAt) return;
    this.units = Math.max(0, this.units - cost);
    const mask = this.marks.length - 1;
    while (this.count > 0 && this.marks[(this.head + this.count - 1) & mask]! >= this.units) {
      this.count--;
      this.lastAt = Number.NEGATIVE_INFINITY;
    }
  }

  /**
   * Fresh again once no rule can bind a future start: the largest lag recorded, carried G
   * units further than the units counted. A first start then or later is unbound by every
   * start before it, and so are the starts after it (their own rule is the stricter one).
   */
  idleAt(): number {
    return this.top + (this.units + this.span) * this.emission;
  }

  /** Starts kept in the ring: what this state costs in memory. */
  get entries(): number {
    return this.count;
  }

  /** Folds starts now at least G units old into the floor. */
  private settle(): void {
    const mask = this.marks.length - 1;
    while (this.count > 0 && this.units - this.marks[this.head]! >= this.span - EPSILON_MS) {
      const lag = this.lags[this.head]!;
      if (lag > this.floor) this.floor = lag;
      this.head = (this.head + 1) & mask;
      this.count--;
    }
  }

  private grow(): void {
    const size = this.marks.length;
    const marks = new Float64Array(size * 2);
    const lags = new Float64Array(size * 2);
    for (let i = 0; i < this.count; i++) {
      marks[i] = this.marks[(this.head + i) & (size - 1)]!;
      lags[i] = this.lags[(this.head + i) & (size - 1)]!;
    }
    this.marks = marks;
    this.lags = lags;
    this.head = 0;
  }
}

/** G = W·N/T, the units in a smoothing window. */
function spanOf(spec: LimitSpec): number {
  return ((spec.smoothMs ?? 0) * spec.limit) / spec.intervalMs;
}

/** A limit with `smooth` set: its own algorithm's state, and the smoothing rule beside it. */
export class SmoothedState implements LimitState {
  private readonly smoothing: SmoothingState;

  constructor(
    private readonly inner: LimitState,
    spec: LimitSpec,
    startLagMs = 0,
  ) {
    this.smoothing = new SmoothingState(spec, startLagMs);
  }

  waitMs(now: number, cost: number): number {
    return Math.max(this.inner.waitMs(now, cost), this.smoothing.waitMs(now, cost));
  }

  take(now: number, cost: number): void {
    this.inner.take(now, cost);
    this.smoothing.take(now, cost);
  }

  reserve(now: number, cost: number): number {
    const wait = this.smoothing.waitMs(now, cost);
    if (wait > 0) return Math.max(wait, this.inner.waitMs(now, cost));
    const inner = this.inner.reserve(now, cost);
    if (inner === 0) this.smoothing.take(now, cost);
    return inner;
  }

  refund(now: number, cost: number, at?: number): void {
    this.inner.refund(now, cost, at);
    this.smoothing.refund(now, cost, at);
  }

  charge(now: number, cost: number, at: number): void {
    this.inner.charge(now, cost, at);
    this.smoothing.charge(now, cost, at);
  }

  idleAt(): number {
    return Math.max(this.inner.idleAt(), this.smoothing.idleAt());
  }

  update(spec: LimitSpec, now: number): void {
    this.inner.update(spec, now);
    this.smoothing.update(spec, now);
  }
}
