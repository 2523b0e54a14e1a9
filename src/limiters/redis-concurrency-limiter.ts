import { randomBytes } from 'node:crypto';
import type { Permit } from './concurrency-limiter.js';
import { backgroundTimer, systemClock, type Clock, type Timer } from '../core/clock.js';
import { abortReason, ConfigError, QueueFullError, StoreUnavailableError } from '../core/errors.js';
import { invoke } from '../core/invoke.js';
import { acquireArgv, LEASE_ACQUIRE, LEASE_RELEASE, LEASE_RENEW, readAcquire, readRenew, releaseArgv, renewArgv } from '../store/lua/lease.js';
import { checkPrefix, DEFAULT_PREFIX, taggedKey } from '../store/redis-keys.js';
import { ScriptRunner, UNAVAILABLE, type RedisClient } from '../store/redis-runner.js';
import { unwatchAbort, watchAbort } from '../core/abort-watch.js';

export interface RedisConcurrencyLimiterOptions {
  /** Most leases held at once across every process using this Redis, prefix and key; a whole number >= 1. */
  limit: number;
  /** Names the shared limit. Default `'default'`. */
  key?: string | undefined;
  /** Prepended to the key. Default `'sluice:'`. No `{` or `}`. */
  prefix?: string | undefined;
  /**
   * How long a lease outlives its last renewal: the time a slot stays taken after its
   * holder dies (kill -9, lost network). Default 10 000 ms.
   */
  leaseMs?: number | undefined;
  /** How often this process renews the leases it holds (one round trip for all). Default leaseMs / 3. */
  renewEveryMs?: number | undefined;
  /** Most callers of this process waiting for a lease; beyond it, QueueFullError. Default unbounded. */
  queueSize?: number | undefined;
  /**
   * While Redis cannot decide: `'wait'` (default) keeps the callers waiting and asks again
   * with a capped backoff — nothing runs without a lease; `'reject'` fails waiting callers
   * with StoreUnavailableError.
   */
  onUnavailable?: 'wait' | 'reject' | undefined;
  /** How long one request may take before Redis counts as unavailable for it. Default 1000 ms. */
  timeoutMs?: number | undefined;
  /**
   * The longest a waiter goes without asking again when no release notice arrives (a
   * notice lost in an outage, a lease that expires quietly). Default 1000 ms.
   */
  maxRetryDelayMs?: number | undefined;
  /**
   * This process's time: when to renew, when to wake a waiter, when to stop waiting for
   * Redis. Default systemClock. The leases themselves expire on Redis's clock, so another
   * clock must keep pace with real time (a ManualClock suits only a test with a fake client).
   */
  clock?: Clock | undefined;
}

/** A lease on one slot. `signal` aborts if the lease is lost (not renewed in time): stop the work. */
export interface LeasePermit extends Permit {
  readonly signal: AbortSignal;
}

export interface RedisConcurrencyStats {
  limit: number;
  /** Leases this process holds. */
  held: number;
  /** Callers of this process waiting for a lease. */
  waiting: number;
  acquired: number;
  /** Leases that expired while held (their holder's signal was aborted). */
  lost: number;
}

interface Waiter {
  resolve: (permit: LeasePermit) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  done: boolean;
}

interface Lease {
  holder: string;
  controller: AbortController;
}

/**
 * RedisConcurrencyLimiter: at most `limit` calls in flight across a fleet. Each call holds
 * a lease — a ZSET member whose score is its expiry on Redis's clock — renewed every
 * `renewEveryMs` while the work runs, one round trip for all leases of the process. A
 * holder that dies stops renewing, so its slot comes back after at most `leaseMs`.
 *
 * Waiting does not poll: this process's waiters queue locally (FIFO) and only the head
 * asks Redis. When the set is full it sleeps until the earliest lease could expire, or
 * until a release notice arrives on pub/sub (one subscriber connection, opened on first
 * wait), whichever is first, and never longer than `maxRetryDelayMs`. Across processes
 * there is no global FIFO: whoever asks first after a release gets the slot.
 *
 * Call `close()` when done: it closes the subscriber connection and stops the timers.
 */
export class RedisConcurrencyLimiter {
  private readonly runner: ScriptRunner;
  private readonly client: RedisClient;
  private readonly clock: Clock;
  /** The lease scripts' one key, the ZSET. */
  private readonly keys: readonly string[];
  private readonly channel: string;
  private readonly max: number;
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  private readonly queueSize: number;
  private readonly policy: 'wait' | 'reject';
  private readonly maxRetryDelayMs: number;
  private readonly id = randomBytes(6).toString('hex');
  private sequence = 0;
  private readonly leases = new Map<string, Lease>();
  private queue: Waiter[] = [];
  private head = 0;
  private asking = false;
  private wakeTimer: Timer | undefined;
  private renewTimer: Timer | undefined;
  private subscriber: RedisClient | undefined;
  private closed = false;
  private readonly counters = { acquired: 0, lost: 0 };

  constructor(client: RedisClient, options: RedisConcurrencyLimiterOptions) {
    if (client === null || typeof client !== 'object' || typeof (client as { evalsha?: unknown }).evalsha !== 'function') {
      throw new ConfigError('client', client, 'must be an ioredis Redis or Cluster client');
    }
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new ConfigError('limit', options.limit, 'must be a whole number >= 1');
    this.client = client;
    this.max = options.limit;
    const key = options.key ?? 'default';
    if (typeof key !== 'string' || key === '') throw new ConfigError('key', options.key, 'must be a non-empty string');
    const base = taggedKey(checkPrefix(options.prefix ?? DEFAULT_PREFIX), key);
    this.keys = [`${base}:leases`];
    this.channel = `${base}:released`;
    this.leaseMs = options.leaseMs ?? 10_000;
    if (!(this.leaseMs >= 10 && Number.isFinite(this.leaseMs))) throw new ConfigError('leaseMs', options.leaseMs, 'must be a finite number >= 10');
    this.renewEveryMs = options.renewEveryMs ?? this.leaseMs / 3;
    if (!(this.renewEveryMs > 0 && this.renewEveryMs < this.leaseMs)) {
      throw new ConfigError('renewEveryMs', options.renewEveryMs, 'must be > 0 and shorter than leaseMs');
    }
    this.queueSize = options.queueSize ?? Number.POSITIVE_INFINITY;
    if (!(this.queueSize >= 0)) throw new ConfigError('queueSize', options.queueSize, 'must be a number >= 0');
    this.policy = options.onUnavailable ?? 'wait';
    if (this.policy !== 'wait' && this.policy !== 'reject') throw new ConfigError('onUnavailable', options.onUnavailable, "must be 'wait' or 'reject'");
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 1000;
    if (!(this.maxRetryDelayMs >= 25)) throw new ConfigError('maxRetryDelayMs', options.maxRetryDelayMs, 'must be a number >= 25');
    const timeoutMs = options.timeoutMs ?? 1000;
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) throw new ConfigError('timeoutMs', options.timeoutMs, 'must be a finite number > 0');
    this.clock = options.clock ?? systemClock;
    this.runner = new ScriptRunner(client, { timeoutMs, maxRetryDelayMs: this.maxRetryDelayMs, deadlines: true, clock: this.clock });
  }

  /**
   * Calls `fn` once a lease is held and releases it when `fn` settles. `fn` receives the
   * lease's signal, aborted if the lease is lost.
   */
  async run<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, options?: { signal?: AbortSignal }): Promise<T> {
    const permit = await this.acquire(options);
    try {
      return await invoke(() => fn(permit.signal));
    } finally {
      permit.release();
    }
  }

  /** Resolves with a lease once one is free; the caller must `release()` it. Aborting the signal stops the wait. */
  acquire(options?: { signal?: AbortSignal }): Promise<LeasePermit> {
    const signal = options?.signal;
    if (this.closed) return Promise.reject(new ConfigError('limiter', 'closed', 'is closed'));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.queue.length - this.head >= this.queueSize) {
      return Promise.reject(new QueueFullError(`distributed concurrency queue is full (${this.queueSize} waiting)`, 0));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined, done: false };
      if (signal) {
        waiter.onAbort = () => {
          if (waiter.done) return;
          waiter.done = true;
          reject(abortReason(signal));
        };
        watchAbort(signal, waiter.onAbort);
      }
      this.queue.push(waiter);
      this.pump();
    });
  }

  /** Takes a lease if one is free now; `undefined` if not (or if Redis cannot say). Never waits. */
  async tryAcquire(): Promise<LeasePermit | undefined> {
    const holder = this.nextHolder();
    const reply = await this.runner.run(LEASE_ACQUIRE, this.keys, this.acquireArgv(holder), (late) => this.releaseLate(late, holder));
    return reply !== UNAVAILABLE && readAcquire(reply).granted ? this.hold(holder) : undefined;
  }

  stats(): RedisConcurrencyStats {
    return { limit: this.max, held: this.leases.size, waiting: this.waiting(), ...this.counters };
  }

  /**
   * Stops the timers and closes the subscriber connection. Leases still held are released
   * when their holders call `release()`, or expire. Waiting callers are rejected.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.clearWake();
    for (let i = this.head; i < this.queue.length; i++) this.settle(this.queue[i]!, undefined, new ConfigError('limiter', 'closed', 'was closed while waiting'));
    this.queue = [];
    this.head = 0;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber !== undefined) subscriber.disconnect();
    if (this.leases.size === 0) this.renewTimer?.cancel();
  }

  private waiting(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (!this.queue[i]!.done) n++;
    return n;
  }

  private firstWaiter(): Waiter | undefined {
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      return undefined;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return this.queue[this.head];
  }

  /** Asks Redis for the head of the queue; one request in flight at a time. */
  private pump(): void {
    if (this.asking || this.closed || this.firstWaiter() === undefined) return;
    this.clearWake();
    this.asking = true;
    const holder = this.nextHolder();
    void this.runner.run(LEASE_ACQUIRE, this.keys, this.acquireArgv(holder), (late) => this.releaseLate(late, holder)).then(
      (reply) => {
        this.asking = false;
        if (reply === UNAVAILABLE) return this.onUnavailable();
        const waiter = this.firstWaiter();
        const answer = readAcquire(reply);
        if (answer.granted) {
          const permit = this.hold(holder);
          if (waiter === undefined) permit.release(); // the waiter was aborted meanwhile
          else this.settle(waiter, permit);
          this.pump();
          return;
        }
        // Full: sleep until the earliest lease could expire, or a release notice comes.
        this.subscribe();
        this.wakeIn(Math.min(answer.freeInMs + 1, this.maxRetryDelayMs));
      },
      (error: unknown) => {
        this.asking = false;
        const waiter = this.firstWaiter();
        if (waiter !== undefined) this.settle(waiter, undefined, error);
        this.pump();
      },
    );
  }

  private onUnavailable(): void {
    if (this.policy === 'reject') {
      const error = new StoreUnavailableError('Redis is unavailable; no lease can be granted', this.runner.retryDelay());
      for (let waiter = this.firstWaiter(); waiter !== undefined; waiter = this.firstWaiter()) this.settle(waiter, undefined, error);
      return;
    }
    this.wakeIn(this.runner.retryDelay());
  }

  private settle(waiter: Waiter, permit: LeasePermit | undefined, error?: unknown): void {
    if (waiter.done) return;
    waiter.done = true;
    if (waiter.signal && waiter.onAbort) unwatchAbort(waiter.signal, waiter.onAbort);
    if (permit !== undefined) waiter.resolve(permit);
    else waiter.reject(error);
  }

  private hold(holder: string): LeasePermit {
    const lease: Lease = { holder, controller: new AbortController() };
    this.leases.set(holder, lease);
    this.counters.acquired++;
    if (this.renewTimer === undefined) this.scheduleRenew();
    let released = false;
    return {
      signal: lease.controller.signal,
      release: () => {
        if (released) return;
        released = true;
        this.leases.delete(holder);
        this.releaseLease(holder);
        this.pump();
      },
    };
  }

  /** A grant that arrived after its request was given up: nobody will use it. */
  private releaseLate(reply: string[], holder: string): void {
    if (readAcquire(reply).granted) this.releaseLease(holder);
  }

  /** Gives a lease back, with no deadline: a late release is still right. If Redis cannot take it now, the lease simply expires after leaseMs. */
  private releaseLease(holder: string): void {
    void this.runner.run(LEASE_RELEASE, this.keys, releaseArgv({ holder, channel: this.channel }), undefined, false).catch(() => {});
  }

  private acquireArgv(holder: string): string[] {
    return acquireArgv({ holder, limit: this.max, leaseMs: this.leaseMs });
  }

  private nextHolder(): string {
    return `${this.id}:${(this.sequence++).toString(36)}`;
  }

  /** One timer renews every lease this process holds, in one round trip. */
  private scheduleRenew(): void {
    this.renewTimer = backgroundTimer(this.clock, this.renew, this.renewEveryMs);
  }

  private readonly renew = (): void => {
    this.renewTimer = undefined;
    if (this.leases.size === 0) return;
    const holders = [...this.leases.keys()];
    this.scheduleRenew();
    void this.runner.run(LEASE_RENEW, this.keys, renewArgv({ leaseMs: this.leaseMs }, holders)).then(
      (reply) => this.afterRenew(reply),
      () => {}, // a script error; the next renewal tries again
    );
  };

  /** Leases Redis no longer has (this process stalled past leaseMs) are lost: abort their work. */
  private afterRenew(reply: string[] | typeof UNAVAILABLE): void {
    const lost = reply === UNAVAILABLE ? undefined : readRenew(reply);
    if (lost === undefined) return; // the next renewal tries again
    for (const holder of lost) {
      const lease = this.leases.get(holder);
      if (lease === undefined) continue; // released meanwhile
      this.leases.delete(holder);
      this.counters.lost++;
      lease.controller.abort(new StoreUnavailableError('the concurrency lease expired before it was renewed', 0));
    }
  }

  /** Opens the release-notice subscription on first need; a notice wakes the queue at once. */
  private subscribe(): void {
    if (this.subscriber !== undefined || this.closed) return;
    // Redis and Cluster both duplicate with no arguments; their signatures differ otherwise.
    const subscriber = (this.client.duplicate as () => RedisClient).call(this.client);
    this.subscriber = subscriber;
    subscriber.on('error', () => {}); // reconnects on its own; waiters fall back to the timer meanwhile
    subscriber.on('message', () => {
      if (!this.asking) this.pump();
    });
    subscriber.subscribe(this.channel).catch(() => {});
  }

  private wakeIn(ms: number): void {
    this.clearWake();
    if (this.closed) return;
    this.wakeTimer = this.clock.timer(() => {
      this.wakeTimer = undefined;
      this.pump();
    }, Math.max(0, ms));
  }

  private clearWake(): void {
    if (this.wakeTimer === undefined) return;
    this.wakeTimer.cancel();
    this.wakeTimer = undefined;
  }
}
