import { ConfigError } from '../core/errors.js';
import type { LimitSpec } from '../algorithms/limit-spec.js';
import type { RateStore, StartStamp } from '../store/store.js';

/**
 * LimitKey: a limiter's key in its store — the store's operations with the key bound, the
 * one way a limiter reaches its store. The limits are passed on each call, as to the store.
 */
export interface LimitKey {
  /** RateStore.reserve: 0 if `cost` was taken, else the wait; `stamp` set to the start's instant. */
  reserve(limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp): number | Promise<number>;
  /** RateStore.reserveInOrder; absent when the store does not decide in order. */
  readonly reserveInOrder?: ((limits: readonly LimitSpec[], costs: readonly number[], now: number, stamps?: readonly (StartStamp | undefined)[]) => Promise<number[]>) | undefined;
  /** RateStore.spendHeld; absent when the store holds no permits of its own. */
  readonly spendHeld?: ((limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp) => boolean) | undefined;
  /** RateStore.refund: from the start stamped `at`, or the newest. */
  refund(limits: readonly LimitSpec[], cost: number, now: number, at?: number): void | Promise<void>;
  /** RateStore.charge: used by the start stamped `at`, or now; a ConfigError naming `store` if the store cannot charge. */
  charge(limits: readonly LimitSpec[], cost: number, now: number, at?: number): void | Promise<void>;
}

/**
 * The LimitKey of `key` in `store`. A limiter that made its store itself holds the key's
 * state, when the store offers it (RateStore.stateFor): one key lookup for the limiter's life
 * rather than one per request, and no layer between the limiter and the state. A store given
 * to a limiter is asked per call instead, so a store shared by many keys that come and go
 * (partitions) can still forget the idle ones.
 */
export function limitKeyIn(store: RateStore, key: string, limits: readonly LimitSpec[], now: number, ownStore: boolean): LimitKey {
  return (ownStore ? store.stateFor?.(key, limits, now) : undefined) ?? new AskedKey(store, key);
}

/** The store asked on every call. */
class AskedKey implements LimitKey {
  readonly reserveInOrder: LimitKey['reserveInOrder'];
  readonly spendHeld: LimitKey['spendHeld'];

  constructor(
    private readonly store: RateStore,
    private readonly key: string,
  ) {
    // Whether the store decides in order is fixed for the limiter's life; the method is read per call.
    if (store.reserveInOrder) this.reserveInOrder = (limits, costs, now, stamps) => this.store.reserveInOrder!(this.key, limits, costs, now, stamps);
    if (store.spendHeld) this.spendHeld = (limits, cost, now, stamp) => this.store.spendHeld!(this.key, limits, cost, now, stamp);
  }

  reserve(limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp): number | Promise<number> {
    return this.store.reserve(this.key, limits, cost, now, stamp);
  }

  refund(limits: readonly LimitSpec[], cost: number, now: number, at?: number): void | Promise<void> {
    return this.store.refund(this.key, limits, cost, now, at);
  }

  charge(limits: readonly LimitSpec[], cost: number, now: number, at?: number): void | Promise<void> {
    if (!this.store.charge) throw new ConfigError('store', this.store, 'does not support charge()');
    return this.store.charge(this.key, limits, cost, now, at);
  }
}
