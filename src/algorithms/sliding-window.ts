// Twin: src/store/lua/sliding-window.ts — the same math in Lua, which RedisStore runs;
// parity proven by test/store/redis/memory-vs-redis.test.ts,
// test/store/redis/sliding-window-log.test.ts and test/store/redis/conformance.test.ts.
// Change both, or neither.
import { gcraWait } from './gcra.js';
import type { LimitSpec } from './limit-spec.js';
import { EPSILON_MS, refundedTat, rescaleTat, type LimitState } from './limit-state.js';

/**
 * Sliding window log, paced: the exact record of recent starts, plus GCRA pacing so the
 * starts are spread over the window instead of bunched at its start.
 *
 * A start of `cost` fits at `now` when (1) the cost started in `(now - interval, now]`
 * plus `cost` is at most `limit`, and (2) the pacer has room: at most `burst` units back
 * to back, then one every `interval / limit` ms (with `slackMs` for late timers, as in
 * gcra.ts). A cost above `burst` waits for a full pacer and then borrows from the
 * following slots, so a large token count is admitted without raising `burst`.
 *
 * Guarantees: in any window `[t, t + interval + J)` the cost started is at most `limit` —
 * exactly, whatever the timers do (J, the arrival jitter, is 0 unless set: spanOf); and for
 * unit costs at most `burst + floor((t + slackMs) * limit / (interval + J))` starts in any
 * interval of length t.
 * `burst = limit` turns pacing off: the classic sliding window, `limit` at once.
 *
 * A start is known by the instant it was recorded (`at`, its stamp): a refund of it takes
 * its units from the entry that holds it, so the window frees them when the start leaves,
 * as the server's does, whatever started since; a charge adds units to that entry, counted
 * where they were used. Cost is counted net of refunds, and a charge — usage that already
 * happened — may push a window past `limit` (later starts then wait until it drains): the
 * guarantees hold at every admission for the units known then.
 *
 * Memory: the log merges starts into buckets of `intervalMs / 10000` (see QUANTUM_SHARE), so
 * it holds at most ~10,000 entries whatever the rate, and at most `limit` for unit costs.
 * A bucket's entry is kept at its latest start: a start is counted up to a quantum longer
 * than it truly ran, never shorter, so the guarantees above hold exactly and the limit can
 * only be a little stricter (by at most 0.01 % of the interval, and only while it binds).
 */
/**
 * QUANTUM_SHARE: the bucket length as a share of the interval. A start joins the newest
 * entry when it comes less than `intervalMs / QUANTUM_SHARE` after that entry's first start.
 * Without buckets a never-binding limit (1e9/s) logged every start of the last interval —
 * millions of 16-byte entries in a ring doubled and copied; with them at most ~10,000
 * entries (160 KB) live. Buckets of T/10,000 made a start on the state about twice as
 * cheap; T/1,000 gained little more, not worth counting starts ten times longer
 * (BENCHMARKS.md, overhead: bench/history/overhead.md, the bucketed log). The price here,
 * counting a start up to 0.01 % of the interval longer, is only felt when the window is
 * full, and then as a wait at most that much longer. Redis (lua/sliding-window.ts) uses
 * the same rule.
 */
export const QUANTUM_SHARE = 10_000;

/** entryOf's answers besides a ring slot: the open (newest) entry, or none. */
const OPEN = -1;
const NOT_IN_LOG = -2;
/**
 * How long a start is counted: the interval, plus the larger of the start lag (at most a
 * thousandth of the interval) and the limit's arrival jitter. Why: the server's arrivals in
 * any `[t, t + T)` were started within `T + J` of each other (each arrives `d` after its
 * decision, `d` within `[d0, d0 + J]`), so at most `limit` starts in every window of
 * `T + J` is at most `limit` arrivals in every window of `T` at the server. The Lua twin
 * (lua/sliding-window.ts, `span`) counts `T + max(startLagMs, J)` the same way.
 */
export function spanOf(spec: LimitSpec, startLagMs: number): number {
  return spec.intervalMs + Math.max(Math.min(startLagMs, spec.intervalMs / 1000), spec.jitterMs ?? 0);
}

/**
 * The pacer's interval per unit: `(T + J) / N`, the window's rate once each start is counted
 * for `T + J` (spanOf). Paced at `T / N`, N starts would fill a window of the server's
 * within T and wait J at its end; a server that states `remaining` would show 0 at each
 * window's end, and a client honouring it (sluiceFetch) pause until the reset — its requests
 * already admitted then reaching the server a second late. Spread over `T + J`, no window of
 * T at the server fills, and the rate is the same. The start lag is left out, so that J = 0
 * paces exactly as without arrival jitter. Lua twin: lua/sliding-window.ts, `e`.
 */
export function emissionOf(spec: LimitSpec): number {
  return (spec.intervalMs + (spec.jitterMs ?? 0)) / spec.limit;
}

export class SlidingWindowState implements LimitState {
  private tat = Number.NEGATIVE_INFINITY;
  private emission: number;
  private burst: number;
  /** burst < limit: starts are paced (see the class comment); read on every reserve. */
  private paced: boolean;
  private tolerance: number;
  /**
   * The log, oldest first: closed entries in a ring, then the open (newest) entry in fields.
   * A start that joins the open entry — nearly every start when the limit does not bind —
   * then writes two fields instead of two typed-array slots: the log writes were a large
   * share of a never-binding limiter's time in batches (bench/history/overhead.md).
   */
  private times = new Float64Array(8);
  private costs = new Float64Array(8);
  private head = 0;
  private count = 0;
  private hasOpen = false;
  /** The open entry's time: the latest start in it. */
  private openTime = Number.NEGATIVE_INFINITY;
  private openCost = 0;
  /** All cost in the log, closed and open. */
  private sum = 0;
  /** The first start in the open entry. */
  private bucketStart = Number.NEGATIVE_INFINITY;
  /** entryOf's second answer: the cost in the entry found and every newer one. */
  private fromFound = 0;
  /** The bucket length: a start this close after `bucketStart` joins the open entry. */
  private quantum: number;
  /**
   * When the oldest entry leaves the window (infinity while the log is empty), so a start
   * that expires nothing reads no entry. Never later than the truth: entry times only grow.
   */
  private expireAt = Number.POSITIVE_INFINITY;
  private limit: number;
  /** How long a start is counted: the interval, plus the start lag (see the constructor). */
  private interval: number;

  /**
   * `startLagMs` (default 0) counts every start that much longer than the interval, at most
   * a thousandth of it: a start decided here begins in the caller a little later, and the
   * lag keeps the limit in every window of the callers' own start times too (RedisStore's
   * `startLagMs` does the same). The limit's arrival jitter (`spec.jitterMs`) is the same
   * allowance carried on to the server — the whole spread of decision to arrival, the start
   * lag part of it — so a start is counted for the interval plus the larger of the two
   * (spanOf). Either can only delay starts, never admit more.
   */
  constructor(
    spec: LimitSpec,
    private readonly startLagMs = 0,
  ) {
    this.limit = spec.limit;
    this.interval = spanOf(spec, startLagMs);
    this.quantum = spec.intervalMs / QUANTUM_SHARE;
    this.emission = emissionOf(spec);
    this.burst = spec.burst;
    this.paced = spec.burst < spec.limit;
    this.tolerance = spec.burst * this.emission + spec.slackMs;
  }

  update(spec: LimitSpec, now: number): void {
    const emission = emissionOf(spec);
    this.tat = rescaleTat(this.tat, now, this.emission, emission);
    this.limit = spec.limit;
    this.interval = spanOf(spec, this.startLagMs);
    this.quantum = spec.intervalMs / QUANTUM_SHARE;
    this.emission = emission;
    this.burst = spec.burst;
    this.paced = spec.burst < spec.limit;
    this.tolerance = spec.burst * this.emission + spec.slackMs;
    this.expireAt = this.oldestLeavesAt(); // the interval changed
  }

  waitMs(now: number, cost: number): number {
    if (cost > this.limit) return Number.POSITIVE_INFINITY;
    const pace = !this.paced ? 0 : gcraWait(this.tat, now, Math.min(cost, this.burst), this.emission, this.tolerance);
    return Math.max(pace, this.windowWait(now, cost));
  }

  private windowWait(now: number, cost: number): number {
    this.expire(now);
    if (this.sum + cost <= this.limit + EPSILON_MS) return 0;
    // Walk from the oldest entry until enough has expired for `cost` to fit.
    let remaining = this.sum;
    const mask = this.times.length - 1;
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) & mask;
      remaining -= this.costs[slot]!;
      if (remaining + cost <= this.limit + EPSILON_MS) return Math.max(0, this.leavesAt(this.times[slot]!) - now);
    }
    if (this.hasOpen && remaining - this.openCost + cost <= this.limit + EPSILON_MS) {
      return Math.max(0, this.leavesAt(this.openTime) - now);
    }
    return this.interval; // unreachable for cost <= limit; a safe bound all the same
  }

  take(now: number, cost: number): void {
    this.expire(now);
    this.record(now, cost);
  }

  reserve(now: number, cost: number): number {
    // The common case first: the window has room and the pacer is not ahead of now. Kept
    // this small so that V8 inlines it into the limiter's decision (bench/history/overhead.md,
    // the one reservation path): the rest is in reserveLater, expire is called only when
    // something may have left (about once per interval while the limit does not bind), and a
    // cost above the limit needs no test of its own here — it cannot fit (within the
    // drift tolerance), and reserveLater answers it with an infinite wait.
    if (now >= this.expireAt) this.expire(now);
    if (this.sum + cost <= this.limit + EPSILON_MS && (!this.paced || this.paceFits(now, cost))) {
      this.record(now, cost);
      return 0;
    }
    return this.reserveLater(now, cost);
  }

  /** reserve when the common case does not hold: the wait, or 0 with the start recorded. */
  private reserveLater(now: number, cost: number): number {
    const wait = this.waitMs(now, cost);
    if (wait === 0) this.record(now, cost); // 0 admits: the start must be in the log
    return wait;
  }

  private paceFits(now: number, cost: number): boolean {
    return (this.tat > now ? this.tat : now) + Math.min(cost, this.burst) * this.emission - now - this.tolerance <= EPSILON_MS;
  }

  /** Adds a start to the pacer and the log; the log has been expired at `now`. */
  private record(now: number, cost: number): void {
    this.tat = Math.max(this.tat, now) + cost * this.emission;
    this.sum += cost;
    // Less than a quantum after the open entry's first start: that entry takes the start,
    // and its time becomes the latest start. Anchored at the first start, so a steady
    // stream cannot stretch one bucket forever. A start not after the entry's time (a
    // clock stepped back, a quantum shrunk by update) joins it too: counted longer, never
    // shorter, and the log's times keep increasing, which Redis's refund relies on.
    if (this.hasOpen && (now < this.bucketStart + this.quantum || now <= this.openTime)) {
      this.openCost += cost;
      if (now > this.openTime) this.openTime = now;
      return;
    }
    // Apart from the rest so that V8 inlines the common case above into the limiter.
    this.openEntry(now, cost);
  }

  /** Starts a new open entry with this start, closing the open one if any. */
  private openEntry(now: number, cost: number): void {
    if (this.hasOpen) this.close();
    else if (this.count === 0) this.expireAt = this.leavesAt(now); // the log was empty
    this.hasOpen = true;
    this.openTime = now;
    this.openCost = cost;
    this.bucketStart = now;
  }

  /** Moves the open entry into the ring of closed ones. */
  private close(): void {
    if (this.count === this.times.length) this.grow();
    const slot = (this.head + this.count) & (this.times.length - 1);
    this.times[slot] = this.openTime;
    this.costs[slot] = this.openCost;
    this.count++;
    this.hasOpen = false;
  }

  refund(now: number, cost: number, at?: number): void {
    if (at !== undefined) return this.refundAt(now, cost, at);
    this.tat = refundedTat(this.tat, now, cost, this.emission, Number.NEGATIVE_INFINITY);
    this.expire(now);
    // Take it back from the newest entries: the refunded start is the most recent one.
    if (this.hasOpen) {
      const back = Math.min(cost, this.openCost);
      this.openCost -= back;
      this.sum -= back;
      cost -= back;
    }
    const mask = this.times.length - 1;
    for (let i = this.count - 1; i >= 0 && cost > 0; i--) {
      const slot = (this.head + i) & mask;
      const back = Math.min(cost, this.costs[slot]!);
      this.costs[slot]! -= back;
      this.sum -= back;
      cost -= back;
    }
  }

  /**
   * Gives back `cost` of the start recorded at `at`, from the entry that holds it, while that
   * start is still counted: the window then frees exactly what the server's does, whatever
   * started since. The pacer gets back what the starts after it leave (refundedTat), bounded
   * by the log: they began no later than the newest entry and hold at most the cost from the
   * refunded entry on.
   */
  private refundAt(now: number, cost: number, at: number): void {
    this.expire(now);
    // Once that start has left the window nothing of it is counted (its entry may have gone,
    // and a newer one must keep its cost).
    const found = this.leavesAt(at) > now ? this.entryOf(at) : NOT_IN_LOG;
    if (found === NOT_IN_LOG) return;
    let back: number;
    if (found === OPEN) {
      back = Math.min(cost, this.openCost);
      this.openCost -= back;
    } else {
      back = Math.min(cost, this.costs[found]!);
      this.costs[found]! -= back;
    }
    this.sum -= back;
    const newest = this.hasOpen ? this.openTime : this.times[(this.head + this.count - 1) & (this.times.length - 1)]!;
    const later = at >= newest ? Number.NEGATIVE_INFINITY : newest + (this.fromFound - back) * this.emission;
    this.tat = refundedTat(this.tat, now, back, this.emission, later);
  }

  charge(now: number, cost: number, at: number): void {
    this.expire(now);
    const counted = this.leavesAt(at) > now;
    const found = counted ? this.entryOf(at) : NOT_IN_LOG;
    if (counted && found === NOT_IN_LOG) {
      // Still counted, but not in this log (it was made afresh since): counted from now.
      this.record(now, cost);
      return;
    }
    this.tat = Math.max(this.tat, now) + cost * this.emission;
    if (found === NOT_IN_LOG) return; // it has left the window: only the pacer counts it
    if (found === OPEN) this.openCost += cost;
    else this.costs[found]! += cost;
    this.sum += cost;
  }

  /**
   * The entry holding the start recorded at `at`, a start still in the window: the oldest
   * entry whose time is at or after `at` (an entry's time is its latest start, and times
   * increase along the log), found from the newest end; NOT_IN_LOG if no entry is that
   * recent. Sets `fromFound`, the cost in that entry and every newer one.
   */
  private entryOf(at: number): number {
    this.fromFound = 0;
    if (!this.hasOpen || this.openTime < at) return NOT_IN_LOG;
    let found = OPEN;
    this.fromFound = this.openCost;
    const mask = this.times.length - 1;
    for (let i = this.count - 1; i >= 0; i--) {
      const slot = (this.head + i) & mask;
      if (this.times[slot]! < at) break;
      found = slot;
      this.fromFound += this.costs[slot]!;
    }
    return found;
  }

  idleAt(): number {
    if (this.hasOpen) return Math.max(this.tat, this.leavesAt(this.openTime));
    if (this.count === 0) return this.tat;
    return Math.max(this.tat, this.leavesAt(this.times[(this.head + this.count - 1) & (this.times.length - 1)]!));
  }

  /** Entries currently held: what this limit costs in memory. */
  get entries(): number {
    return this.count + (this.hasOpen ? 1 : 0);
  }

  /**
   * When a start at `time` leaves the window: `time + interval`, or the next double up when
   * rounding makes `(time + interval) − time` fall short of the interval. Read either way —
   * `time + interval <= now` or `now − time >= interval` — a start has then left: in floating
   * point the two can disagree by one step (31.33…33 + 100 = 131.33…31, whose difference
   * from 31.33…33 is 99.99…99), and a start admitted at that instant would be beside one
   * still inside the window by the other reading. Expiry and waits both use this instant.
   */
  private leavesAt(time: number): number {
    const at = time + this.interval;
    return at - time >= this.interval ? at : at + Math.abs(at) * Number.EPSILON;
  }

  /** When the oldest entry leaves, or infinity if the log is empty. */
  private oldestLeavesAt(): number {
    if (this.count > 0) return this.leavesAt(this.times[this.head]!);
    return this.hasOpen ? this.leavesAt(this.openTime) : Number.POSITIVE_INFINITY;
  }

  private expire(now: number): void {
    if (now < this.expireAt) return;
    const mask = this.times.length - 1;
    while (this.count > 0 && this.leavesAt(this.times[this.head]!) <= now) {
      this.sum -= this.costs[this.head]!;
      this.head = (this.head + 1) & mask;
      this.count--;
    }
    if (this.count === 0 && this.hasOpen && this.leavesAt(this.openTime) <= now) {
      this.hasOpen = false;
      this.sum = 0; // drop accumulated float error with the last entry
    }
    this.expireAt = this.oldestLeavesAt();
  }

  /** Doubles the ring, oldest entry first; two block copies, not a loop (the log can be long). */
  private grow(): void {
    const size = this.times.length;
    const times = new Float64Array(size * 2);
    const costs = new Float64Array(size * 2);
    const tail = size - this.head; // entries from head to the end of the old ring
    times.set(this.times.subarray(this.head), 0);
    times.set(this.times.subarray(0, this.head), tail);
    costs.set(this.costs.subarray(this.head), 0);
    costs.set(this.costs.subarray(0, this.head), tail);
    this.times = times;
    this.costs = costs;
    this.head = 0;
  }
}
