import { ConfigError } from '../core/errors.js';
import type { LimitSpec } from '../algorithms/limit-spec.js';
import type { KeyHandle, RateStore } from '../store/store.js';

/**
 * LimitKey: a limiter's limits under its key in its store — the store's operations with the
 * key and the limits bound, and the one way a limiter reaches its store. `limits` is
 * replaced by setLimits.
 */
export interface LimitKey {
  limits: readonly LimitSpec[];
  /** RateStore.reserve: 0 if `cost` was taken, else the wait. */
  reserve(cost: number, now: number): number | Promise<number>;
  /** RateStore.reserveInOrder, when the store decides several costs in order at once; else undefined. */
  readonly reserveInOrder: ((costs: readonly number[], now: number) => Promise<number[]>) | undefined;
  refund(cost: number, now: number): void | Promise<void>;
  /** RateStore.charge; a ConfigError naming `store` if the store cannot charge. */
  charge(cost: number, now: number): void | Promise<void>;
}

/**
 * The LimitKey of `key` in `store`. A limiter that made its store itself holds the key's
 * state (RateStore.stateFor), when the store offers it: one key lookup for the limiter's life
 * rather than one per request. A store given to a limiter is asked per call instead, so a
 * store shared by many keys that come and go (partitions) can still forget the idle ones.
 */
export function limitKeyIn(store: RateStore, key: string, limits: readonly LimitSpec[], now: number, ownStore: boolean): LimitKey {
  const state = ownStore ? store.stateFor?.(key, limits, now) : undefined;
  return state === undefined ? new AskedKey(store, key, limits) : new HeldKey(state, limits);
}

/** The key's state held, answering at once. */
class HeldKey implements LimitKey {
  readonly reserveInOrder = undefined;

  constructor(
    private readonly state: KeyHandle,
    public limits: readonly LimitSpec[],
  ) {}

  reserve(cost: number, now: number): number {
    return this.state.reserve(this.limits, cost, now);
  }

  refund(cost: number, now: number): void {
    this.state.refund(this.limits, cost, now);
  }

  charge(cost: number, now: number): void {
    this.state.charge(this.limits, cost, now);
  }
}

/** The store asked on every call. */
class AskedKey implements LimitKey {
  readonly reserveInOrder: LimitKey['reserveInOrder'];

  constructor(
    private readonly store: RateStore,
    private readonly key: string,
    public limits: readonly LimitSpec[],
  ) {
    // Whether the store decides in order is fixed for the limiter's life; the method is read per call.
    this.reserveInOrder = store.reserveInOrder && ((costs, now) => this.store.reserveInOrder!(this.key, this.limits, costs, now));
  }

  reserve(cost: number, now: number): number | Promise<number> {
    return this.store.reserve(this.key, this.limits, cost, now);
  }

  refund(cost: number, now: number): void | Promise<void> {
    return this.store.refund(this.key, this.limits, cost, now);
  }

  charge(cost: number, now: number): void | Promise<void> {
    if (!this.store.charge) throw new ConfigError('store', this.store, 'does not support charge()');
    return this.store.charge(this.key, this.limits, cost, now);
  }
}
