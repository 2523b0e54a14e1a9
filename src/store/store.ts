import type { LimitSpec } from '../algorithms/limit-spec.js';

/**
 * RateStore: where limit state lives — in this process (MemoryStore) or shared by a
 * fleet (RedisStore). It speaks in limiter operations, never in data-structure commands,
 * and decides all limits of one request atomically.
 *
 * A store may answer synchronously (memory) or with a promise (Redis); the limiter
 * handles both, and keeps the synchronous path free of promise allocations.
 */
export interface RateStore {
  /**
   * If every limit admits `cost` for `key` now, records the start in all of them and
   * returns 0. Otherwise records nothing and returns the milliseconds until all of them
   * could admit it (`Infinity` if none ever will). `now` is the caller's clock; a store
   * with its own time source (Redis `TIME`) may ignore it. `stamp`, given by a caller that
   * will correct the start later: set to the instant the start was recorded, on the
   * store's clock — the start's identity for `refund` and `charge`.
   */
  reserve(key: string, limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp): number | Promise<number>;
  /**
   * Optional, for a store that answers asynchronously: decides `costs` for `key` one after
   * another at one instant and stops at the first that must wait — 0 for each admitted,
   * then that one's wait (the list is shorter than `costs` when one is refused). Nothing is
   * recorded for the costs after a refusal. A limiter serves its queue with it, several
   * waiters per round trip and never one behind another. `stamps[i]`, if given, is set as
   * reserve's `stamp` for the `i`th cost when it is admitted.
   */
  reserveInOrder?(
    key: string,
    limits: readonly LimitSpec[],
    costs: readonly number[],
    now: number,
    stamps?: readonly (StartStamp | undefined)[],
  ): Promise<number[]>;
  /**
   * Optional, for a store that decides in order and holds permits in this process (a
   * RedisStore's leases): takes `cost` from them now, synchronously, and sets `stamp` as
   * reserve does — true — or takes nothing and answers false, when they do not hold it (the
   * caller then asks reserveInOrder as usual). Never asks anyone: a limiter calls it for a
   * caller nobody waits ahead of, so the leased path costs no promise and no queue turn.
   */
  spendHeld?(key: string, limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp): boolean;
  /**
   * Gives back `cost` taken from every limit of `key` (a cancelled start or a corrected
   * estimate). `at`: the stamp of the start to give it back from — exact whatever started
   * since, while that start is still counted, and never as credit a later start has used
   * (each algorithm, src/algorithms/, says how); `NaN` gives nothing back (the start was not
   * recorded here). Undefined: from the newest start, exact only while it is the newest.
   */
  refund(key: string, limits: readonly LimitSpec[], cost: number, now: number, at?: number): void | Promise<void>;
  /**
   * Records `cost` in every limit of `key` without asking: usage that already happened
   * (an LLM answer that used more tokens than estimated). It may push a limit past full;
   * later callers then wait until it has drained. `at`: the stamp of the start that used it
   * — windows count it there, where the server counted it (a pacer from now); undefined or
   * `NaN`: usage of the moment, counted from now. A store that cannot record it rejects
   * (never drops it: the limit would be looser than the truth). Optional while a store
   * lacks it.
   */
  charge?(key: string, limits: readonly LimitSpec[], cost: number, now: number, at?: number): void | Promise<void>;
  /**
   * Optional, for a store that decides synchronously (MemoryStore): the state of `key`, to
   * be called directly — one key lookup for the caller's whole life instead of one per
   * request, which is most of what a limit that never binds costs. Its answers are this
   * store's for `key`, with the limits passed on each call as here.
   *
   * From then on the store keeps `key` for good (an idle key is otherwise forgotten), so
   * whoever else uses the key keeps sharing its state. Ask only for a key that lives as
   * long as the store — a RateLimiter's own store — not for keys that come and go
   * (partitions), which would then never be forgotten.
   */
  stateFor?(key: string, limits: readonly LimitSpec[], now: number): KeyHandle;
  /**
   * Optional: throws a ConfigError naming `limits` when this store cannot keep them (a
   * RedisStore takes at most 12 per request). A limiter asks when it is made and on
   * setLimits, so such limits fail there, before any request, rather than inside a wait.
   */
  checkLimits?(limits: readonly LimitSpec[]): void;
}

/**
 * StartStamp: where a store writes the instant it recorded an admitted start, on its own
 * clock (RateStore.reserve's `stamp`). `NaN` until then, and for a start recorded where
 * refunds cannot reach it (a RedisStore's local fallback).
 */
export interface StartStamp {
  at: number;
}

/**
 * KeyHandle: one key of a store, held (RateStore.stateFor): the store's reserve, refund
 * and charge for that key, answered synchronously.
 */
export interface KeyHandle {
  reserve(limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp): number;
  refund(limits: readonly LimitSpec[], cost: number, now: number, at?: number): void;
  charge(limits: readonly LimitSpec[], cost: number, now: number, at?: number): void;
}
