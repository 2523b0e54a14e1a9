import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { MemoryStore } from '../store/memory.js';
import type { RateStore } from '../store/store.js';
import type { LimitInput } from '../algorithms/limit-spec.js';
import { RateLimiter, type AcquireOptions, type Decision, type RateLimiterOptions } from './rate-limiter.js';

export interface PartitionedRateLimiterOptions extends Omit<RateLimiterOptions, 'limits' | 'key' | 'store'> {
  /**
   * The limits of each partition: the same for all (`'10/1s'`), or chosen per partition,
   * e.g. `(tenant) => (premium.has(tenant) ? '100/1s' : '10/1s')` — called once each time a
   * partition's limiter is created.
   */
  limits: LimitInput | readonly LimitInput[] | ((partition: string) => LimitInput | readonly LimitInput[]);
  /**
   * Where every partition's state lives: one MemoryStore of this limiter's own by default,
   * or a RedisStore to share each partition's limit with a fleet.
   */
  store?: RateStore | undefined;
  /** Names this set of partitions in the store; partitions are stored as `name:partition`. Default `'partition'`. */
  name?: string | undefined;
  /**
   * A partition whose limiter has had no call for this long, and has nobody waiting, is
   * dropped (its limit state is in the store, so dropping it forgets nothing the store
   * keeps). Default 60 000 ms.
   */
  idleMs?: number | undefined;
}

interface Partition {
  limiter: RateLimiter;
  lastUsed: number;
}

/**
 * PartitionedRateLimiter: one limit per key — per user, tenant, API key — through one
 * object. Each partition gets its own RateLimiter (its own FIFO queue and timer) on first
 * use, over one shared store; partitions idle for `idleMs` with nobody waiting are dropped,
 * so a million users who came once cost nothing once they have gone quiet (MemoryStore
 * forgets idle keys; Redis keys expire).
 *
 * Partition keys are escaped, so `a:b` in partition `c` and `a` in partition `b:c` never
 * share a limit.
 */
export class PartitionedRateLimiter {
  private readonly partitions = new Map<string, Partition>();
  private readonly store: RateStore;
  private readonly prefix: string;
  private readonly idleMs: number;
  private readonly clock: Clock;
  private readonly options: PartitionedRateLimiterOptions;
  private nextSweep: number;

  constructor(options: PartitionedRateLimiterOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    this.options = options;
    this.store = options.store ?? new MemoryStore();
    const name = options.name ?? 'partition';
    if (typeof name !== 'string' || name === '') throw new ConfigError('name', options.name, 'must be a non-empty string');
    this.prefix = `${escapePart(name)}:`;
    this.idleMs = options.idleMs ?? 60_000;
    if (!(this.idleMs >= 0)) throw new ConfigError('idleMs', options.idleMs, 'must be a number of milliseconds >= 0');
    this.clock = options.clock ?? systemClock;
    this.nextSweep = this.clock.now() + this.idleMs;
    // Build one limiter now so a bad option fails here, not on the first call.
    if (typeof options.limits !== 'function') this.create('');
  }

  /** Resolves when `cost` may start in `partition` (RateLimiter.acquire). */
  acquire(partition: string, options?: AcquireOptions): Promise<void>;
  acquire(partition: string, cost: number, options?: Omit<AcquireOptions, 'cost'>): Promise<void>;
  acquire(partition: string, costOrOptions?: number | AcquireOptions, options?: AcquireOptions): Promise<void> {
    const limiter = this.limiter(partition);
    return typeof costOrOptions === 'number' ? limiter.acquire(costOrOptions, options) : limiter.acquire(costOrOptions);
  }

  /** Waits for admission in `partition`, then calls `fn` (RateLimiter.run). */
  run<T>(partition: string, fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<T> {
    return this.limiter(partition).run(fn, options);
  }

  /** Admits `cost` in `partition` now if its limits allow; never waits (RateLimiter.tryAcquire). */
  tryAcquire(partition: string, cost?: number): Promise<Decision> {
    return this.limiter(partition).tryAcquire(cost);
  }

  /** The RateLimiter of `partition`, created on first use. */
  limiter(partition: string): RateLimiter {
    if (typeof partition !== 'string') throw new ConfigError('partition', partition, 'must be a string');
    const now = this.clock.now();
    if (now >= this.nextSweep) this.sweep(now);
    let entry = this.partitions.get(partition);
    if (entry === undefined) {
      entry = { limiter: this.create(partition), lastUsed: now };
      this.partitions.set(partition, entry);
    }
    entry.lastUsed = now;
    return entry.limiter;
  }

  /** Partitions with a live limiter (idle ones are dropped as calls come in). */
  get size(): number {
    return this.partitions.size;
  }

  private create(partition: string): RateLimiter {
    const { limits, store: _store, name: _name, idleMs: _idleMs, ...rest } = this.options;
    return new RateLimiter({
      ...rest,
      limits: typeof limits === 'function' ? limits(partition) : limits,
      store: this.store,
      key: this.prefix + escapePart(partition),
    });
  }

  /** Drops partitions idle for idleMs with nobody waiting; runs at most once per idleMs. */
  private sweep(now: number): void {
    this.nextSweep = now + this.idleMs;
    for (const [key, entry] of this.partitions) {
      if (now - entry.lastUsed >= this.idleMs && entry.limiter.stats().waiting === 0) this.partitions.delete(key);
    }
  }
}

/** `%` and `:` escaped, so joining parts with `:` is injective. */
function escapePart(part: string): string {
  return part.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}
