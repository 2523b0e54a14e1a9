import { systemClock, type Clock } from '../core/clock.js';
import { abortReason, ConfigError, QueueFullError } from '../core/errors.js';
import { invoke } from '../core/invoke.js';
import { Emitter, type Disposer, type Subscribe } from '../core/events.js';
import { QueueWaits, type WaitSink } from '../core/queue-waits.js';
import { checkName, limiterChannel, Telemetry } from '../core/telemetry.js';
import { isWaiter, WaitQueue, type Entry, type Task, type Waiter } from '../core/wait-queue.js';
import { watchesQueue, watchWait, type LimiterEvent, type LimiterEventSinks } from './limiter-events.js';
import { unwatchAbort, watchAbort } from '../core/abort-watch.js';

export interface ConcurrencyLimiterOptions {
  /** Most calls in flight at once: a positive integer, or `Infinity` for no bound (as p-limit and p-queue take it). Changeable with `setLimit`. */
  limit: number;
  /** Most callers waiting for a permit. Default unbounded. */
  queueSize?: number | undefined;
  /**
   * When `queueSize` callers already wait: `'reject'` (default) fails the new caller with
   * QueueFullError; `'wait'` holds it outside the queue until a place frees up, so the
   * queue never exceeds its size and the caller's own promise is its backpressure.
   */
  onFull?: 'wait' | 'reject' | undefined;
  /** What this limiter is called in events and metrics (a label: few and stable). Default 'concurrency-limiter'. */
  name?: string | undefined;
  /** Times each caller's wait for its events. Default systemClock. */
  clock?: Clock | undefined;
}

export interface PermitOptions {
  /** Aborting while waiting frees the caller's place and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Higher is served first; FIFO among equals. Default 0. */
  priority?: number | undefined;
}

/** A slot of concurrency. `release()` gives it back; calling it again does nothing. */
export interface Permit {
  release(): void;
}

export interface ConcurrencyStats {
  limit: number;
  inFlight: number;
  waiting: number;
  /** Callers held outside a full queue (`onFull: 'wait'`). */
  overflow: number;
  submitted: number;
  started: number;
  rejected: number;
  aborted: number;
}

/**
 * ConcurrencyLimiter: at most `limit` calls in flight. Waiters are served FIFO within a
 * priority. `run` releases its slot however the call ends (value, throw, rejection), so
 * no permit leaks.
 */
export class ConcurrencyLimiter {
  private max: number;
  private inFlight = 0;
  private readonly queueSize: number;
  private readonly onFull: 'wait' | 'reject';
  /** Callers' time waiting for a slot (in the queue and held outside it), for onQueueWait. */
  private readonly waits = new QueueWaits(() => this.clock.now());
  private readonly queue = new WaitQueue(this.waits);
  private readonly overflow = new WaitQueue(this.waits);
  private readonly counters = { submitted: 0, started: 0, rejected: 0, aborted: 0 };
  private readonly events: LimiterEventSinks = { all: new Telemetry<LimiterEvent>(limiterChannel), queued: new Emitter<LimiterEvent>() };
  /** What this limiter is called in events and metrics. */
  readonly name: string;
  private readonly clock: Clock;
  /**
   * Subscribes to every caller's outcome — admitted (with its wait), rejected, aborted —
   * as RateLimiter's onEvent; also published on `sluice:limiter`. Returns the disposer.
   */
  readonly onEvent: Subscribe<LimiterEvent> = this.events.all.subscribe;
  /** Subscribes to the outcomes of callers that waited for a slot only: callers started at once cost nothing. */
  readonly onQueueLeft: Subscribe<LimiterEvent> = this.events.queued.subscribe;
  /**
   * Adds a sink told of each caller that waited for a slot as it stops waiting — started
   * (`admitted`) or `aborted` — with its wait in ms: a string and a number, no event, so an
   * aggregate (sluice/otel's time in queue) costs two clock reads per waiting caller. A
   * caller refused because the queue is full never waited and is not reported (onQueueLeft
   * reports it, with a wait of 0). Returns the disposer.
   */
  onQueueWait(sink: WaitSink): Disposer {
    return this.waits.subscribe(sink);
  }
  /** Bound once so `run` allocates no closures per call. */
  private readonly releaseValue = <T>(value: T): T => {
    this.releaseSlot();
    return value;
  };
  private readonly releaseError = (error: unknown): never => {
    this.releaseSlot();
    throw error;
  };
  /**
   * The executor for a plain waiter, bound once: it reads its queue and task from the two
   * fields below (set just before, the executor runs synchronously), so a queued call
   * allocates its promise and nothing else — no closure per call.
   */
  private pushTarget: WaitQueue = this.queue;
  private pushTask: Task = undefined;
  private readonly pushPlain = (resolve: (value: unknown) => void): void => {
    this.pushTarget.push(resolve, this.pushTask);
    this.pushTask = undefined;
  };

  constructor(options: ConcurrencyLimiterOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    this.max = checkLimit(options.limit);
    this.queueSize = options.queueSize ?? Number.POSITIVE_INFINITY;
    if (!(this.queueSize >= 0)) throw new ConfigError('queueSize', options.queueSize, 'must be a number >= 0');
    this.onFull = options.onFull ?? 'reject';
    if (this.onFull !== 'wait' && this.onFull !== 'reject') throw new ConfigError('onFull', options.onFull, "must be 'wait' or 'reject'");
    this.name = checkName(options.name, 'concurrency-limiter');
    this.clock = options.clock ?? systemClock;
  }

  /** Calls `fn` once a slot is free and releases the slot when it settles. */
  run<T>(fn: () => T | PromiseLike<T>, options?: PermitOptions): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new ConfigError('fn', fn, 'must be a function'));
    if (options !== undefined && (typeof options !== 'object' || options === null)) return Promise.reject(optionsError(options));
    this.counters.submitted++;
    if (this.inFlight < this.max && this.queue.size === 0 && options?.signal?.aborted !== true) {
      this.inFlight++;
      this.counters.started++;
      if (this.events.all.listening || limiterChannel.hasSubscribers) this.startedNow();
      return invoke(fn).then(this.releaseValue, this.releaseError);
    }
    return this.wait(fn, options) as Promise<T>;
  }

  /** Resolves with a permit once a slot is free. The caller must `release()` it. */
  acquire(options?: PermitOptions): Promise<Permit> {
    if (options !== undefined && (typeof options !== 'object' || options === null)) return Promise.reject(optionsError(options));
    this.counters.submitted++;
    // An already aborted signal is refused even with a slot free (wait() rejects it).
    if (this.inFlight < this.max && this.queue.size === 0 && options?.signal?.aborted !== true) {
      this.inFlight++;
      this.counters.started++;
      if (this.events.all.listening || limiterChannel.hasSubscribers) this.startedNow();
      return Promise.resolve(this.permit());
    }
    return this.wait(undefined, options) as Promise<Permit>;
  }

  /** Changes the limit; a higher one starts waiters at once, a lower one lets calls in flight finish. */
  setLimit(limit: number): void {
    this.max = checkLimit(limit);
    this.dispatch();
  }

  get limit(): number {
    return this.max;
  }

  stats(): ConcurrencyStats {
    return { limit: this.max, inFlight: this.inFlight, waiting: this.queue.size, overflow: this.overflow.size, ...this.counters };
  }

  private startedNow(): void {
    this.events.all.emit({ type: 'admitted', limiter: this.name, cost: 1, waitMs: 0 });
  }

  /** A caller that waits for a slot, its wait reported while anyone listens. */
  private wait(task: Task, options: PermitOptions | undefined): Promise<unknown> {
    const signal = options?.signal;
    if (signal?.aborted) {
      this.counters.aborted++;
      if (this.events.all.active) this.events.all.emit({ type: 'aborted', limiter: this.name, cost: 1, waitMs: 0 });
      return Promise.reject(abortReason(signal));
    }
    if (!watchesQueue(this.events)) return this.enqueue(task, options);
    return watchWait(this.events, this.name, 1, () => this.clock.now(), signal, task, (watched) => this.enqueue(watched, options));
  }

  private enqueue(task: Task, options: PermitOptions | undefined): Promise<unknown> {
    const signal = options?.signal;
    const priority = options?.priority ?? 0;
    if (!Number.isFinite(priority)) return Promise.reject(new ConfigError('priority', options?.priority, 'must be a finite number'));
    let target = this.queue;
    if (this.queue.size >= this.queueSize) {
      if (this.onFull === 'reject') {
        this.counters.rejected++;
        // Its event comes from watchWait (wait() watches every caller while anyone listens).
        return Promise.reject(new QueueFullError(`concurrency queue is full (${this.queueSize} waiting)`, 0));
      }
      target = this.overflow;
    }
    if (signal === undefined && priority === 0) {
      this.pushTarget = target;
      this.pushTask = task;
      return new Promise(this.pushPlain);
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve, cost: 1, deadline: Number.POSITIVE_INFINITY, priority, signal, onAbort: undefined, done: false };
      if (signal) {
        waiter.onAbort = () => {
          waiter.queue?.cancel(waiter);
          this.counters.aborted++;
          waiter.onAbort = undefined;
          resolve(Promise.reject(abortReason(signal)));
          this.refill();
        };
        watchAbort(signal, waiter.onAbort);
      }
      target.push(waiter, task);
    });
  }

  private permit(): Permit {
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.releaseSlot();
      },
    };
  }

  private releaseSlot(): void {
    this.inFlight--;
    this.dispatch();
  }

  /** Starts waiters while slots are free. */
  private dispatch(): void {
    while (this.inFlight < this.max) {
      const ring = this.queue.head();
      if (ring === undefined) break;
      const entry = ring.entries[ring.head]!;
      const task = ring.tasks[ring.head];
      this.queue.take(ring, 'admitted');
      this.start(entry, task);
    }
    this.refill();
  }

  /** Moves callers held by a full queue into it as places free up (`onFull: 'wait'`). */
  private refill(): void {
    while (this.overflow.size > 0 && this.queue.size < this.queueSize) {
      const ring = this.overflow.head();
      if (ring === undefined) break;
      const entry = ring.entries[ring.head]!;
      const task = ring.tasks[ring.head];
      const since = this.overflow.take(ring);
      if (isWaiter(entry)) entry.done = false; // it lives on, now in the main queue
      this.queue.push(entry, task, since);
    }
    if (this.overflow.size > 0 || this.queue.size > 0) {
      // A place may have opened in flight as well as in the queue.
      if (this.inFlight < this.max && this.queue.size > 0) this.dispatch();
    }
  }

  private start(entry: Entry, task: Task): void {
    this.inFlight++;
    this.counters.started++;
    let resolve: (value: unknown) => void;
    if (isWaiter(entry)) {
      if (entry.signal && entry.onAbort) unwatchAbort(entry.signal, entry.onAbort);
      entry.onAbort = undefined;
      resolve = entry.resolve;
    } else {
      resolve = entry;
    }
    resolve(task === undefined ? this.permit() : invoke(task).then(this.releaseValue, this.releaseError));
  }
}

function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 1))) {
    throw new ConfigError('limit', limit, 'must be a whole number >= 1, or Infinity for no bound');
  }
  return limit;
}

function optionsError(options: unknown): ConfigError {
  return new ConfigError('options', options, 'must be an object such as { signal, priority }');
}
