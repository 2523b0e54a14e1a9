// Twin: src/store/lua/rate.ts — RedisStore's reserve, reserveMany, refund and charge decide as this
// store does, over the same algorithms in Lua; parity proven by
// test/store/redis/memory-vs-redis.test.ts and the conformance tables (test/store/).
import { FixedWindowState } from '../algorithms/fixed-window.js';
import { ConfigError } from '../core/errors.js';
import { GcraState } from '../algorithms/gcra.js';
import type { LimitSpec } from '../algorithms/limit-spec.js';
import type { LimitState } from '../algorithms/limit-state.js';
import { SlidingWindowState } from '../algorithms/sliding-window.js';
import { SmoothedState } from '../algorithms/smoothing.js';
import type { KeyHandle, RateStore, StartStamp } from './store.js';

/**
 * KeyState: the limits of one key. A MemoryStore keeps one per key, and hands it out as the
 * key's KeyHandle (stateFor) to a caller that holds on to it.
 */
class KeyState implements KeyHandle {
  private specs: readonly LimitSpec[];
  private states: LimitState[];
  /** The state when there is one limit (the common case), read first in reserve; else undefined. */
  private single: LimitState | undefined;
  /** Handed out by stateFor: never swept, so whoever else uses the key shares it. */
  pinned = false;

  constructor(
    limits: readonly LimitSpec[],
    private readonly startLagMs: number,
  ) {
    this.specs = limits;
    this.states = limits.map((spec) => createLimitState(spec, startLagMs));
    this.single = this.states.length === 1 ? this.states[0] : undefined;
  }

  /** Admits `cost` at `now` if every limit has room, taking it from each; else the wait. A start is stamped `now`. */
  reserve(limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp): number {
    if (limits !== this.specs) this.reconcile(limits, now);
    if (stamp !== undefined) stamp.at = now;
    const single = this.single;
    return single !== undefined ? single.reserve(now, cost) : this.reserveAll(cost, now);
  }

  /** reserve for several limits: every one must admit `cost` before it is taken from any. */
  private reserveAll(cost: number, now: number): number {
    const states = this.states;
    let wait = 0;
    for (let i = 0; i < states.length; i++) wait = Math.max(wait, states[i]!.waitMs(now, cost));
    if (wait > 0) return wait;
    for (let i = 0; i < states.length; i++) states[i]!.take(now, cost);
    return 0;
  }

  refund(limits: readonly LimitSpec[], cost: number, now: number, at?: number): void {
    if (Number.isNaN(at)) return; // recorded elsewhere (StartStamp)
    this.reconcile(limits, now);
    for (const state of this.states) state.refund(now, cost, at);
  }

  charge(limits: readonly LimitSpec[], cost: number, now: number, at?: number): void {
    this.reconcile(limits, now);
    const when = at === undefined || Number.isNaN(at) ? now : at;
    for (const state of this.states) state.charge(now, cost, when);
  }

  /**
   * Limits differ from the last caller's (setLimits, or two limiters on one key): keep each
   * state whose algorithm is unchanged, with the new rate.
   */
  private reconcile(limits: readonly LimitSpec[], now: number): void {
    if (limits === this.specs) return;
    this.states = limits.map((spec, i) => {
      const old = this.specs[i];
      const state = this.states[i];
      if (old && state && old.algorithm === spec.algorithm) {
        state.update(spec, now);
        return state;
      }
      return createLimitState(spec, this.startLagMs);
    });
    this.single = this.states.length === 1 ? this.states[0] : undefined;
    this.specs = limits;
  }

  /** Every limit is back to a fresh state at `now`: the key can be forgotten. */
  idleBy(now: number): boolean {
    return this.states.every((s) => s.idleAt() <= now);
  }
}

/** How many operations pass between sweeps for idle keys. */
const SWEEP_EVERY = 4096;

/** Creates the state object for one limit; `startLagMs` as in MemoryStoreOptions. */
export function createLimitState(spec: LimitSpec, startLagMs = 0): LimitState {
  if (spec.smoothMs !== undefined) return new SmoothedState(createLimitState({ ...spec, smoothMs: undefined }, startLagMs), spec, startLagMs);
  switch (spec.algorithm) {
    case 'gcra':
      return new GcraState(spec);
    case 'sliding-window':
      return new SlidingWindowState(spec, startLagMs);
    case 'fixed-window':
      return new FixedWindowState(spec);
  }
}

export interface MemoryStoreOptions {
  /**
   * Sliding windows count each start this much longer than their interval (at most a
   * thousandth of it), so a start that begins in the caller up to that long after it was
   * decided still falls in the window it was counted in. Default 0: exact on the clock
   * the limiter reads (what tests on ManualClock check). A RateLimiter makes its own store
   * with its clock's `startLagMs` (1 ms on the system clock).
   */
  startLagMs?: number | undefined;
}

/**
 * MemoryStore: limit state in this process, synchronous. Keys whose every limit is back
 * to its fresh state are dropped on a periodic sweep, so per-user partitions that go
 * quiet cost nothing.
 */
export class MemoryStore implements RateStore {
  private readonly entries = new Map<string, KeyState>();
  private lastKey: string | undefined;
  private last: KeyState | undefined;
  private operations = 0;
  private readonly startLagMs: number;

  constructor(options: MemoryStoreOptions = {}) {
    this.startLagMs = options.startLagMs ?? 0;
    if (!(this.startLagMs >= 0 && Number.isFinite(this.startLagMs))) {
      throw new ConfigError('startLagMs', options.startLagMs, 'must be a finite number >= 0');
    }
  }

  reserve(key: string, limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp): number {
    return this.entry(key, limits, now).reserve(limits, cost, now, stamp);
  }

  refund(key: string, limits: readonly LimitSpec[], cost: number, now: number, at?: number): void {
    this.entry(key, limits, now).refund(limits, cost, now, at);
  }

  charge(key: string, limits: readonly LimitSpec[], cost: number, now: number, at?: number): void {
    this.entry(key, limits, now).charge(limits, cost, now, at);
  }

  /** RateStore.stateFor: `key`'s state, kept from now on (never swept) and shared with every other user of the key. */
  stateFor(key: string, limits: readonly LimitSpec[], now: number): KeyHandle {
    const entry = this.entry(key, limits, now);
    entry.pinned = true;
    return entry;
  }

  /** Number of keys with live state (for tests and stats). */
  get size(): number {
    return this.entries.size;
  }

  private entry(key: string, limits: readonly LimitSpec[], now: number): KeyState {
    let entry = key === this.lastKey ? this.last : this.entries.get(key);
    if (entry === undefined) {
      entry = new KeyState(limits, this.startLagMs);
      this.entries.set(key, entry);
    }
    this.lastKey = key;
    this.last = entry;
    if (++this.operations % SWEEP_EVERY === 0 && this.entries.size > 1) this.sweep(key, now);
    return entry;
  }

  /** Drops keys whose every limit is back to a fresh state; the key in use is kept. */
  private sweep(currentKey: string, now: number): void {
    for (const [key, entry] of this.entries) {
      if (key !== currentKey && !entry.pinned && entry.idleBy(now)) this.entries.delete(key);
    }
  }
}
