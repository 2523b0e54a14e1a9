import { systemClock, type Clock, type Timer } from '../core/clock.js';
import { type Duration } from '../core/duration.js';
import { abortReason, ConfigError, QueueFullError, RateLimitedError } from '../core/errors.js';
import { invoke, RESOLVED } from '../core/invoke.js';
import { costOf, isWaiter, NOT_FIRST, WaitQueue, type Entry, type Ring, type Task, type Waiter } from '../core/wait-queue.js';
import { MemoryStore } from '../store/memory.js';
import type { KeyHandle, RateStore } from '../store/store.js';
import { capacityOf, describeSpec, toLimitSpecs, type Algorithm, type LimitInput, type LimitSpec } from '../algorithms/limit-spec.js';

export interface RateLimiterOptions {
  /** One limit or several that must all admit, e.g. `'100/1m'` or `['100/1m', '5000/1h']`. */
  limits: LimitInput | readonly LimitInput[];
  /** Algorithm for limits that do not name one. Default `'sliding-window'` (exact and paced). */
  algorithm?: Algorithm;
  /** Units that may start back to back, for limits that do not set their own. Default 1 (evenly paced). */
  burst?: number;
  /** How late a start may be and keep its turn (see gcra.ts). Default: half of `interval / limit`, at most 1 ms. */
  slack?: Duration;
  /**
   * No window of this length or longer holds more than the limit's share of it (plus
   * burst − 1), for limits that do not set their own; windows shorter than it may still catch
   * up after a late timer. E.g. `'100ms'` at 1000/s: never more than 100 starts in any
   * 100 ms, 250 in any 250 ms. Default: off (smoothing.ts, README "smooth").
   */
  smooth?: Duration;
  /** Where limit state lives. Default: a MemoryStore of this limiter's own. */
  store?: RateStore;
  /** The name of this limit in the store: limiters sharing a store and key share the limit. */
  key?: string;
  /** Most callers that may wait at once; beyond it `acquire` rejects with QueueFullError. Default unbounded. */
  queueSize?: number;
  clock?: Clock;
}

export interface AcquireOptions {
  /** Units this call uses (tokens, rows…). Default 1. */
  cost?: number;
  /** Aborting stops the wait, frees the caller's place in the queue and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Higher is served first; FIFO among equals. Default 0. */
  priority?: number;
  /** Refuse at once with RateLimitedError if the wait would be longer than this. Default: wait as long as it takes. */
  maxWaitMs?: number;
}

/** The answer of `tryAcquire`: granted now, or not with the milliseconds until it might be. */
export interface Decision {
  granted: boolean;
  retryAfterMs: number;
}

export interface RateLimiterStats {
  /** Calls admitted so far. */
  admitted: number;
  /** Calls refused: maxWaitMs exceeded, queue full, tryAcquire refusals. */
  rejected: number;
  /** Calls aborted while waiting. */
  aborted: number;
  /** Callers waiting now, and the sum of their costs. */
  waiting: number;
  waitingCost: number;
  limits: string[];
}

/**
 * RateLimiter: admits calls no faster than its limits allow, and as fast as they allow.
 *
 * Waiting callers are served FIFO within a priority by a single timer that fires when the
 * head of the queue may start — no polling, no timer per waiter. On waking it checks the
 * clock again (timers can fire early), and the algorithms schedule from ideal instants so
 * a late timer does not lose throughput (see gcra.ts, slack).
 */
export class RateLimiter {
  private specs: readonly LimitSpec[];
  private capacity: number;
  /** Where the limit state lives (a MemoryStore unless one was given). */
  readonly store: RateStore;
  /** The key the limits are kept under in the store: processes with the same store and key share them. */
  readonly key: string;
  private readonly clock: Clock;
  private readonly queueSize: number;
  private readonly queue = new WaitQueue();
  private timer: Timer | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** An asynchronous store call for the queue's head is in flight; the queue waits for it. */
  private pending = false;
  /**
   * How many waiters to ask a store with reserveInOrder about at once: doubled while all
   * are admitted, cut to one more than were admitted at a refusal — so a limit that binds
   * is asked about one or two at a time, and a queue that drains fast in large batches.
   */
  private inOrderBatch = 16;
  /** The store has reserveInOrder (fixed for the limiter's life; read once, not per call). */
  private readonly inOrder: boolean;
  /**
   * The state of this limiter's key when it made its own MemoryStore (RateStore.stateFor):
   * called directly, it skips the store's per-request key lookup.
   */
  private readonly own: KeyHandle | undefined;
  private pumpScheduled = false;
  private readonly defaults: Pick<RateLimiterOptions, 'algorithm' | 'burst' | 'slack' | 'smooth'>;
  private readonly counters = { admitted: 0, rejected: 0, aborted: 0 };
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.pump();
  };

  constructor(options: RateLimiterOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    this.defaults = { algorithm: options.algorithm, burst: options.burst, slack: options.slack, smooth: options.smooth };
    this.specs = toLimitSpecs(options.limits, this.defaults);
    this.capacity = Math.min(...this.specs.map(capacityOf));
    this.key = options.key ?? 'default';
    if (typeof this.key !== 'string' || this.key === '') throw new ConfigError('key', options.key, 'must be a non-empty string');
    this.clock = options.clock ?? systemClock;
    if (options.store === undefined) {
      const store = new MemoryStore({ startLagMs: this.clock.startLagMs ?? 0 });
      this.own = store.stateFor(this.key, this.specs, this.clock.now());
      this.store = store;
    } else {
      this.store = options.store;
    }
    this.inOrder = typeof this.store.reserveInOrder === 'function';
    this.queueSize = options.queueSize ?? Number.POSITIVE_INFINITY;
    if (!(this.queueSize >= 0)) throw new ConfigError('queueSize', options.queueSize, 'must be a number >= 0');
  }

  /** Admits `cost` now if the limits allow it and nobody is queued ahead; never waits. */
  async tryAcquire(cost = 1): Promise<Decision> {
    this.checkCost(cost);
    if (this.queue.size > 0 || this.pending) {
      this.counters.rejected++;
      return { granted: false, retryAfterMs: this.estimateWait(cost) };
    }
    const wait = await this.reserve(cost, this.clock.now());
    if (wait === 0) {
      this.counters.admitted++;
      return { granted: true, retryAfterMs: 0 };
    }
    this.counters.rejected++;
    return { granted: false, retryAfterMs: wait };
  }

  /**
   * Resolves when `cost` may start. Rejects with RateLimitedError (carrying `retryAfterMs`)
   * at once if the wait would exceed `maxWaitMs`, with QueueFullError if `queueSize`
   * callers already wait, and with the signal's reason on abort.
   */
  acquire(options?: AcquireOptions): Promise<void>;
  /** `acquire({ ...options, cost })`: `acquire(250)`, `acquire(250, { priority: 1 })`. */
  acquire(cost: number, options?: Omit<AcquireOptions, 'cost'>): Promise<void>;
  acquire(costOrOptions?: number | AcquireOptions, options?: AcquireOptions): Promise<void> {
    if (typeof costOrOptions !== 'number') return this.enter(undefined, costOrOptions) as Promise<void>;
    if (options?.cost !== undefined) {
      return Promise.reject(new ConfigError('cost', options.cost, `given twice (${costOrOptions} as the first argument)`));
    }
    return this.enter(undefined, { ...options, cost: costOrOptions }) as Promise<void>;
  }

  /** Waits for admission as `acquire` does, then calls `fn` and returns its result. */
  run<T>(fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new ConfigError('fn', fn, 'must be a function'));
    return this.enter(fn, options) as Promise<T>;
  }

  /**
   * Replaces the limits at runtime (adaptive rate uses this). State carries over for limits
   * whose algorithm is unchanged. Waiters whose cost the new limits can never admit are
   * rejected with ConfigError.
   */
  setLimits(limits: LimitInput | readonly LimitInput[]): void {
    this.specs = toLimitSpecs(limits, this.defaults);
    this.capacity = Math.min(...this.specs.map(capacityOf));
    const tooBig: Entry[] = [];
    this.queue.removeWhere((entry) => costOf(entry) > this.capacity && tooBig.push(entry) > 0);
    for (const entry of tooBig) this.reject(entry, this.costError(costOf(entry)));
    this.reschedule();
  }

  /**
   * Gives `cost` units back to every limit — a start that did not happen after all, or an
   * estimate that turned out too high (LLM tokens). Waiters may start sooner.
   *
   * The units are taken from the newest start: exact when the refunded start is the latest
   * one admitted. Refunding an older start while later ones stand leaves the older units in
   * the window and removes newer ones, so the window frees capacity before the service sees
   * it free — TokenQuota skips such refunds for that reason (its `skippedRefunds`).
   */
  async refund(cost: number): Promise<void> {
    this.checkAmount(cost, 'cost');
    const now = this.clock.now();
    if (this.own) this.own.refund(this.specs, cost, now);
    else await this.store.refund(this.key, this.specs, cost, now);
    this.reschedule();
  }

  /**
   * Records `cost` units that were used without asking — an estimate that turned out too
   * low. Limits may go past full; later callers wait until they have drained.
   */
  async charge(cost: number): Promise<void> {
    this.checkAmount(cost, 'cost');
    if (!this.store.charge) throw new ConfigError('store', this.store, 'does not support charge()');
    const now = this.clock.now();
    if (this.own) this.own.charge(this.specs, cost, now);
    else await this.store.charge(this.key, this.specs, cost, now);
    this.reschedule();
  }

  /** The limits in force, normalised. */
  get limits(): readonly LimitSpec[] {
    return this.specs;
  }

  stats(): RateLimiterStats {
    return {
      ...this.counters,
      waiting: this.queue.size,
      waitingCost: this.queue.cost,
      limits: this.specs.map(describeSpec),
    };
  }

  private enter(task: Task, options: AcquireOptions | undefined): Promise<unknown> {
    let cost = 1;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        return Promise.reject(new ConfigError('options', options, 'must be an object such as { cost, signal, priority, maxWaitMs }'));
      }
      const invalid = this.checkOptions(options);
      if (invalid) return Promise.reject(invalid);
      if (options.signal?.aborted) return Promise.reject(abortReason(options.signal));
      cost = options.cost ?? 1;
    }
    // A store that decides queues in order (Redis) serves every caller through the queue:
    // the callers of one tick go to it in one round trip, and none overtakes another. Only
    // when the queue is full is a caller asked about alone, to be refused only if it must wait.
    if (this.inOrder ? this.queue.size >= this.queueSize : this.queue.size === 0) {
      const wait = this.reserve(cost, this.clock.now());
      if (wait === 0) {
        this.counters.admitted++;
        return task === undefined ? RESOLVED : invoke(task);
      }
      // An asynchronous store without reserveInOrder is asked in parallel while nobody
      // waits; only a caller told to wait joins the queue, which is then served in order.
      if (typeof wait !== 'number') return wait.then((w) => this.afterFirstAnswer(w, task, options));
      if (wait > (options?.maxWaitMs ?? Number.POSITIVE_INFINITY)) return this.refuse(wait);
    } else if (options?.maxWaitMs !== undefined && this.queue.size > 0) {
      const estimate = this.estimateWait(cost);
      if (estimate > options.maxWaitMs) return this.refuse(estimate);
    }
    return this.enqueue(task, options);
  }

  private afterFirstAnswer(wait: number, task: Task, options: AcquireOptions | undefined): unknown {
    if (wait === 0) {
      this.counters.admitted++;
      return task === undefined ? undefined : invoke(task);
    }
    if (wait > (options?.maxWaitMs ?? Number.POSITIVE_INFINITY)) return this.refuse(wait);
    if (options?.signal?.aborted) return Promise.reject(abortReason(options.signal));
    return this.enqueue(task, options);
  }

  private enqueue(task: Task, options: AcquireOptions | undefined): Promise<unknown> {
    const cost = options?.cost ?? 1;
    if (this.queue.size >= this.queueSize) {
      this.counters.rejected++;
      return Promise.reject(new QueueFullError(`rate limiter queue is full (${this.queueSize} waiting)`, this.estimateWait(cost)));
    }
    return new Promise((resolve) => {
      // While a timer is set for the head, a newcomer that does not outrank it queues behind
      // it and changes neither the next start nor its instant: no need to ask the store.
      const head = this.timer === undefined ? undefined : this.queue.head();
      const priority = options?.priority ?? 0;
      if (options === undefined || (cost === 1 && options.signal === undefined && options.maxWaitMs === undefined && options.priority === undefined)) {
        this.queue.push(resolve, task);
      } else {
        this.queue.push(this.makeWaiter(resolve, cost, options), task);
      }
      if (head === undefined || priority > priorityOf(head.entries[head.head]!)) {
        if (this.inOrder) this.pumpSoon();
        else this.pump();
      }
    });
  }

  private makeWaiter(resolve: (value: unknown) => void, cost: number, options: AcquireOptions): Waiter {
    const { signal, maxWaitMs } = options;
    const waiter: Waiter = {
      resolve,
      cost,
      deadline: maxWaitMs === undefined ? Number.POSITIVE_INFINITY : this.clock.now() + maxWaitMs,
      priority: options.priority ?? 0,
      signal,
      onAbort: undefined,
      done: false,
    };
    if (signal) {
      if (signal.aborted) {
        waiter.done = true;
        resolve(Promise.reject(abortReason(signal)));
        return waiter;
      }
      waiter.onAbort = () => {
        if (waiter.done) return;
        this.queue.cancel(waiter);
        this.counters.aborted++;
        waiter.onAbort = undefined;
        resolve(Promise.reject(abortReason(signal)));
        this.reschedule();
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    return waiter;
  }

  /** Serves the queue: admits every head that may start now, then sets one timer for the next. */
  private pump(): void {
    while (!this.pending) {
      const ring = this.queue.head();
      if (ring === undefined) {
        this.cancelTimer();
        return;
      }
      if (this.inOrder) {
        this.askInOrder(ring);
        return;
      }
      const entry = ring.entries[ring.head]!;
      const cost = isWaiter(entry) ? entry.cost : 1;
      const now = this.clock.now();
      const wait = this.reserve(cost, now);
      if (typeof wait !== 'number') {
        this.pending = true;
        wait.then(
          (w) => this.afterAsync(entry, w),
          (error: unknown) => this.afterAsyncError(entry, error),
        );
        return;
      }
      if (wait === 0) {
        const task = ring.tasks[ring.head];
        this.queue.take(ring);
        this.admit(entry, task);
        continue;
      }
      if (isWaiter(entry) && now + wait > entry.deadline) {
        this.queue.take(ring);
        this.reject(entry, new RateLimitedError(`rate limit: would wait ${Math.ceil(wait)} ms, more than maxWaitMs`, wait));
        continue;
      }
      this.setTimer(now + wait);
      return;
    }
  }

  /**
   * An asynchronous store (Redis) serving the queue: the first waiters of the head's level
   * are decided in one round trip, in order, up to the first that must wait — rather than
   * one waiter per round trip.
   */
  private askInOrder(ring: Ring): void {
    const entries: Entry[] = [];
    const costs: number[] = [];
    const mask = ring.entries.length - 1;
    for (let i = 0; i < ring.length && entries.length < this.inOrderBatch; i++) {
      const entry = ring.entries[(ring.head + i) & mask]!;
      if (isWaiter(entry) && entry.done) continue;
      entries.push(entry);
      costs.push(costOf(entry));
    }
    this.pending = true;
    this.store.reserveInOrder!(this.key, this.specs, costs, this.clock.now()).then(
      (waits) => this.afterInOrder(entries, waits),
      (error: unknown) => this.afterAsyncError(entries[0]!, error),
    );
  }

  private afterInOrder(entries: Entry[], waits: number[]): void {
    this.pending = false;
    let admitted = 0;
    for (let i = 0; i < waits.length; i++) {
      const entry = entries[i]!;
      const wait = waits[i]!;
      if (wait === 0) {
        const task = this.queue.takeFirst(entry);
        if (task === NOT_FIRST) {
          this.giveBack(entry); // aborted while the store answered
        } else {
          admitted++;
          this.admit(entry, task);
        }
        continue;
      }
      this.inOrderBatch = admitted + 1;
      const ring = this.queue.head();
      if (ring === undefined || ring.entries[ring.head] !== entry) {
        this.pump(); // the refused waiter left, or another now comes first: ask for that one
        return;
      }
      this.headMustWait(ring, entry, wait);
      return;
    }
    this.inOrderBatch = Math.min(MAX_IN_ORDER_BATCH, this.inOrderBatch * 2);
    this.pump();
  }

  /**
   * Pumps once the current tick is over (after every promise reaction queued now), so the
   * callers of one tick are asked about together.
   */
  private pumpSoon(): void {
    if (this.pumpScheduled || this.pending) return;
    this.pumpScheduled = true;
    process.nextTick(this.onPumpSoon);
  }

  private readonly onPumpSoon = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };

  private afterAsync(entry: Entry, wait: number): void {
    this.pending = false;
    const ring = this.queue.head();
    // The head may have been aborted while the store answered; if so, give back what it got.
    if (ring === undefined || ring.entries[ring.head] !== entry) {
      if (wait === 0) this.giveBack(entry);
      this.pump();
      return;
    }
    if (wait === 0) {
      const task = ring.tasks[ring.head];
      this.queue.take(ring);
      this.admit(entry, task);
      this.pump();
      return;
    }
    this.headMustWait(ring, entry, wait);
  }

  /** The head was told to wait `wait` ms: refused if that passes its maxWaitMs, else one timer for it. */
  private headMustWait(ring: Ring, entry: Entry, wait: number): void {
    const now = this.clock.now();
    if (isWaiter(entry) && now + wait > entry.deadline) {
      this.queue.take(ring);
      this.reject(entry, new RateLimitedError(`rate limit: would wait ${Math.ceil(wait)} ms, more than maxWaitMs`, wait));
      this.pump();
      return;
    }
    this.setTimer(now + wait);
  }

  /** Asks the store to admit `cost` at `now`: 0 if admitted (and taken), else the wait. */
  private reserve(cost: number, now: number): number | Promise<number> {
    return this.own === undefined ? this.store.reserve(this.key, this.specs, cost, now) : this.own.reserve(this.specs, cost, now);
  }

  /** Gives back what the store admitted for a waiter that left meanwhile (best effort). */
  private giveBack(entry: Entry): void {
    void Promise.resolve(this.store.refund(this.key, this.specs, costOf(entry), this.clock.now())).catch(() => {});
  }

  private afterAsyncError(entry: Entry, error: unknown): void {
    this.pending = false;
    const ring = this.queue.head();
    if (ring !== undefined && ring.entries[ring.head] === entry) {
      this.queue.take(ring);
      this.reject(entry, error);
    }
    this.pump();
  }

  private admit(entry: Entry, task: Task): void {
    this.counters.admitted++;
    if (isWaiter(entry)) this.detach(entry);
    const resolve = isWaiter(entry) ? entry.resolve : entry;
    resolve(task === undefined ? undefined : invoke(task));
  }

  private reject(entry: Entry, error: unknown): void {
    this.counters.rejected++;
    if (isWaiter(entry)) this.detach(entry);
    rejectEntry(entry, error);
  }

  private detach(waiter: Waiter): void {
    if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
    waiter.onAbort = undefined;
  }

  private refuse(wait: number): Promise<never> {
    this.counters.rejected++;
    return Promise.reject(new RateLimitedError(`rate limit: would wait ${Math.ceil(wait)} ms, more than maxWaitMs`, wait));
  }

  /** Something changed (abort, new limits): the head or its wait may differ, so ask again. */
  private reschedule(): void {
    this.cancelTimer();
    this.pump();
  }

  private setTimer(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.cancelTimer();
    this.timerAt = at;
    this.timer = this.clock.timer(this.onTimer, at - this.clock.now());
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.timer.cancel();
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /**
   * An estimate of the wait for a new caller behind the current queue: the queued cost
   * drained at the slowest limit's steady rate. Exact for one GCRA limit with nobody
   * queued; otherwise a fair bound for maxWaitMs and retryAfterMs.
   */
  private estimateWait(cost: number): number {
    let msPerUnit = 0;
    for (const spec of this.specs) msPerUnit = Math.max(msPerUnit, spec.intervalMs / spec.limit);
    return (this.queue.cost + cost) * msPerUnit;
  }

  private checkCost(cost: number): void {
    this.checkAmount(cost, 'cost');
    if (cost > this.capacity) throw this.costError(cost);
  }

  private checkAmount(cost: number, field: string): void {
    if (typeof cost !== 'number' || !Number.isFinite(cost) || cost <= 0) {
      throw new ConfigError(field, cost, 'must be a positive finite number');
    }
  }

  /** The first invalid option as a ConfigError, or undefined. */
  private checkOptions(options: AcquireOptions): ConfigError | undefined {
    try {
      if (options.cost !== undefined) this.checkCost(options.cost);
    } catch (error) {
      return error as ConfigError;
    }
    const { maxWaitMs, priority, signal } = options;
    if (maxWaitMs !== undefined && !(typeof maxWaitMs === 'number' && maxWaitMs >= 0)) {
      return new ConfigError('maxWaitMs', maxWaitMs, 'must be a number of milliseconds >= 0');
    }
    if (priority !== undefined && !(typeof priority === 'number' && Number.isFinite(priority))) {
      return new ConfigError('priority', priority, 'must be a finite number');
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) return new ConfigError('signal', signal, 'must be an AbortSignal');
    return undefined;
  }

  private costError(cost: number): ConfigError {
    return new ConfigError('cost', cost, `exceeds what the limits can ever admit at once (${this.capacity}); raise burst or the limit`);
  }
}

/** The most waiters one reserveInOrder call asks about. */
const MAX_IN_ORDER_BATCH = 64;

function priorityOf(entry: Entry): number {
  return isWaiter(entry) ? entry.priority : 0;
}

function rejectEntry(entry: Entry, error: unknown): void {
  const resolve = isWaiter(entry) ? entry.resolve : entry;
  resolve(Promise.reject(error));
}
