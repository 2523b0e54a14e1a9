import { FixedWindowState } from '../admission/fixed-window.js';
import { ConfigError } from '../core/errors.js';
import { GcraState } from '../admission/gcra.js';
import type { LimitSpec } from '../admission/limit-spec.js';
import type { LimitState } from '../admission/limit-state.js';
import { SlidingWindowState } from '../admission/sliding-window.js';
import { SmoothedState } from '../admission/smoothing.js';
import type { RateStore } from './store.js';

interface Entry {
  specs: readonly LimitSpec[];
  states: LimitState[];
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
   * the limiter reads (what tests on ManualClock check). A RateLimiter on the system clock
   * makes its own store with 1 ms.
   */
  startLagMs?: number;
}

/**
 * MemoryStore: limit state in this process, synchronous. Keys whose every limit is back
 * to its fresh state are dropped on a periodic sweep, so per-user partitions that go
 * quiet cost nothing.
 */
export class MemoryStore implements RateStore {
  private readonly entries = new Map<string, Entry>();
  private lastKey: string | undefined;
  private last: Entry | undefined;
  private operations = 0;
  private readonly startLagMs: number;

  constructor(options: MemoryStoreOptions = {}) {
    this.startLagMs = options.startLagMs ?? 0;
    if (!(this.startLagMs >= 0 && Number.isFinite(this.startLagMs))) {
      throw new ConfigError('startLagMs', options.startLagMs, 'must be a finite number >= 0');
    }
  }

  reserve(key: string, limits: readonly LimitSpec[], cost: number, now: number): number {
    const { states } = this.entry(key, limits, now);
    if (states.length === 1) return states[0]!.reserve(now, cost);
    let wait = 0;
    for (let i = 0; i < states.length; i++) wait = Math.max(wait, states[i]!.waitMs(now, cost));
    if (wait > 0) return wait;
    for (let i = 0; i < states.length; i++) states[i]!.take(now, cost);
    return 0;
  }

  refund(key: string, limits: readonly LimitSpec[], cost: number, now: number): void {
    const { states } = this.entry(key, limits, now);
    for (const state of states) state.refund(now, cost);
  }

  charge(key: string, limits: readonly LimitSpec[], cost: number, now: number): void {
    const { states } = this.entry(key, limits, now);
    for (const state of states) state.take(now, cost);
  }

  /** Number of keys with live state (for tests and stats). */
  get size(): number {
    return this.entries.size;
  }

  private entry(key: string, limits: readonly LimitSpec[], now: number): Entry {
    let entry = key === this.lastKey ? this.last : this.entries.get(key);
    if (entry === undefined) {
      entry = { specs: limits, states: limits.map((spec) => createLimitState(spec, this.startLagMs)) };
      this.entries.set(key, entry);
    } else if (entry.specs !== limits) {
      this.reconcile(entry, limits, now);
    }
    this.lastKey = key;
    this.last = entry;
    if (++this.operations % SWEEP_EVERY === 0 && this.entries.size > 1) this.sweep(key, now);
    return entry;
  }

  /** Limits changed (setLimits): keep each state whose algorithm is unchanged, with the new rate. */
  private reconcile(entry: Entry, limits: readonly LimitSpec[], now: number): void {
    entry.states = limits.map((spec, i) => {
      const old = entry.specs[i];
      const state = entry.states[i];
      if (old && state && old.algorithm === spec.algorithm) {
        state.update(spec, now);
        return state;
      }
      return createLimitState(spec, this.startLagMs);
    });
    entry.specs = limits;
  }

  /** Drops keys whose every limit is back to a fresh state; the key in use is kept. */
  private sweep(currentKey: string, now: number): void {
    for (const [key, entry] of this.entries) {
      if (key !== currentKey && entry.states.every((s) => s.idleAt() <= now)) this.entries.delete(key);
    }
  }
}
