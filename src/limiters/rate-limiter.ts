import { runsInRealTime, systemClock, type Clock } from '../core/clock.js';
import type { Duration } from '../core/duration.js';
import { abortReason, ConfigError, QueueFullError, type RateLimitedError } from '../core/errors.js';
import { invoke, RESOLVED } from '../core/invoke.js';
import { Emitter, type Disposer, type Subscribe } from '../core/events.js';
import { QueueWaits, type WaitSink } from '../core/queue-waits.js';
import { checkName, limiterChannel, Telemetry } from '../core/telemetry.js';
import { costOf, type Task } from '../core/wait-queue.js';
import { MemoryStore } from '../store/memory.js';
import type { RateStore, StartStamp } from '../store/store.js';
import { capacityOf, defaultArrivalJitterMs, describeSpec, toLimitSpecs, type LimitDefaults, type LimitInput, type LimitSpec } from '../algorithms/limit-spec.js';
import { limitKeyIn, type LimitKey } from './limit-key.js';
import { checkAmount, invalidOption, type AcquireOptions, type Decision, type RateLimiterOptions, type RateLimiterStats } from './rate-limiter-options.js';
import { refusedEvent, watchesQueue, watchWait, type LimiterEvent, type LimiterEventSinks } from './limiter-events.js';
import { RateQueue } from './rate-queue.js';
import { Reservation, type Corrections } from './reservation.js';
import { refusalError, STARTED, verdictOn, waitOrRefuse, type Verdict } from './verdict.js';

export type { LimiterEvent, RejectReason } from './limiter-events.js';
export type { AcquireOptions, Decision, RateLimiterOptions, RateLimiterStats } from './rate-limiter-options.js';
export { Reservation } from './reservation.js';

/**
 * RateLimiter: admits calls no faster than its limits allow, and as fast as they allow.
 *
 * Every caller — tryAcquire, acquire, run, reserve — goes through one decision, `decide`
 * (Go's `reserveN`): it starts now, waits in the queue, or is refused; tryAcquire is the
 * caller that may not wait, reserve the one that keeps a handle on its start. Callers that
 * wait are served FIFO within a priority by a single timer that fires when the head of the
 * queue may start (RateQueue).
 */
export class RateLimiter {
  /** Where the limit state lives (a MemoryStore unless one was given). */
  readonly store: RateStore;
  /** The key the limits are kept under in the store: processes with the same store and key share them. */
  readonly key: string;
  /** What this limiter is called in events and metrics: `options.name`, default 'rate-limiter'. */
  readonly name: string;
  private specs: readonly LimitSpec[];
  /** The limits as last given (constructor, setLimits): specs are normalised from them again when the jitter floor moves. */
  private inputs: LimitInput | readonly LimitInput[];
  /** The least arrival jitter every limit counts with (setArrivalJitter); 0: each limit's own. */
  private jitterFloorMs = 0;
  /** The key in the store: every store operation goes through it. */
  private readonly limitKey: LimitKey;
  private capacity: number;
  private readonly clock: Clock;
  private readonly queueSize: number;
  private readonly waiting: RateQueue;
  /** The store decides in order (RateStore.reserveInOrder): callers join the queue (see reserve). */
  private readonly inOrder: boolean;
  private readonly defaults: LimitDefaults;
  private readonly counters = { admitted: 0, rejected: 0, aborted: 0 };
  private readonly events: LimiterEventSinks = { all: new Telemetry<LimiterEvent>(limiterChannel), queued: new Emitter<LimiterEvent>() };
  /**
   * Subscribes to every caller's outcome — admitted (with its wait), rejected (with why),
   * aborted; returns the disposer. While anyone listens (here or on the `sluice:limiter`
   * channel) each call builds an event; nobody listening costs a field check.
   */
  readonly onEvent: Subscribe<LimiterEvent> = this.events.all.subscribe;
  /**
   * Subscribes to the outcomes of callers that waited in the queue only (the time in queue
   * of .NET's metrics): callers admitted at once cost nothing.
   */
  readonly onQueueLeft: Subscribe<LimiterEvent> = this.events.queued.subscribe;
  /** Callers' time in the queue, for onQueueWait. */
  private readonly waits = new QueueWaits(() => this.clock.now());
  /**
   * Adds a sink told of each caller that waited in the queue as it leaves — `admitted`,
   * `rejected` (its maxWaitMs, new limits it cannot meet, a store failure) or `aborted` —
   * with its wait in ms: a string and a number, no event, so an aggregate (sluice/otel's
   * time in queue) costs two clock reads per waiting caller. The callers onQueueLeft
   * reports, without building their events. Returns the disposer.
   */
  onQueueWait(sink: WaitSink): Disposer {
    return this.waits.subscribe(sink);
  }
  /** What a Reservation corrects its start through. */
  private readonly corrections: Corrections = {
    refund: (units, at) => this.correct(units, at, false),
    charge: (units, at) => this.correct(units, at, true),
  };

  constructor(options: RateLimiterOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    this.clock = options.clock ?? systemClock;
    this.defaults = { algorithm: options.algorithm, burst: options.burst, slack: options.slack, smooth: options.smooth, arrivalJitter: arrivalJitterOn(this.clock, options.arrivalJitter) };
    this.inputs = options.limits;
    this.specs = this.normalise(options.limits);
    this.capacity = Math.min(...this.specs.map(capacityOf));
    this.name = checkName(options.name, 'rate-limiter');
    this.key = options.key ?? 'default';
    if (typeof this.key !== 'string' || this.key === '') throw new ConfigError('key', options.key, 'must be a non-empty string');
    this.store = options.store ?? new MemoryStore({ startLagMs: this.clock.startLagMs ?? 0 });
    this.store.checkLimits?.(this.specs);
    this.limitKey = limitKeyIn(this.store, this.key, this.specs, this.clock.now(), options.store === undefined);
    this.waiting = new RateQueue(this.limitKey, this, this.clock, this.counters, this.waits);
    this.inOrder = this.limitKey.reserveInOrder !== undefined;
    this.queueSize = options.queueSize ?? Number.POSITIVE_INFINITY;
    if (!(this.queueSize >= 0)) throw new ConfigError('queueSize', options.queueSize, 'must be a number >= 0');
  }

  /** Admits `cost` now if the limits allow it and nobody is queued ahead; never waits. */
  async tryAcquire(cost = 1): Promise<Decision> {
    this.checkCost(cost);
    const verdict = await this.decide(cost, 0, false, this.clock.now(), undefined);
    if (verdict.kind === 'start') {
      this.counters.admitted++;
      if (this.events.all.listening || limiterChannel.hasSubscribers) this.events.all.emit({ type: 'admitted', limiter: this.name, cost, waitMs: 0 });
      return { granted: true, retryAfterMs: 0 };
    }
    this.counters.rejected++;
    if (this.events.all.active) this.events.all.emit({ type: 'rejected', limiter: this.name, cost, waitMs: 0, reason: 'rate-limited', retryAfterMs: verdict.waitMs });
    return { granted: false, retryAfterMs: verdict.waitMs };
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
    if (typeof costOrOptions !== 'number') return this.enter(undefined, costOrOptions, undefined) as Promise<void>;
    if (options?.cost !== undefined) {
      return Promise.reject(new ConfigError('cost', options.cost, `given twice (${costOrOptions} as the first argument)`));
    }
    return this.enter(undefined, { ...options, cost: costOrOptions }, undefined) as Promise<void>;
  }

  /** Waits for admission as `acquire` does, then calls `fn` and returns its result. */
  run<T>(fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new ConfigError('fn', fn, 'must be a function'));
    return this.enter(fn, options, undefined) as Promise<T>;
  }

  /**
   * Waits for admission as `acquire(cost, options)` does, then resolves with the start's
   * Reservation: a handle that gives back units this start did not use, or records units it
   * used beyond `cost`, on this start — exact whatever was admitted since (an LLM call
   * reserved at its estimate, corrected from its answer's usage; see Reservation).
   */
  async reserve(cost = 1, options?: Omit<AcquireOptions, 'cost'>): Promise<Reservation> {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new ConfigError('options', options, 'must be an object such as { signal, priority, maxWaitMs }');
    }
    const stamp = { at: Number.NaN };
    await this.enter(undefined, { ...options, cost }, stamp);
    return new Reservation(cost, stamp.at, this.corrections);
  }

  /**
   * Replaces the limits at runtime (adaptive rate uses this). State carries over for limits
   * whose algorithm is unchanged. Waiters whose cost the new limits can never admit are
   * rejected with ConfigError.
   */
  setLimits(limits: LimitInput | readonly LimitInput[]): void {
    const specs = this.normalise(limits);
    this.store.checkLimits?.(specs);
    this.inputs = limits;
    this.specs = specs;
    this.capacity = Math.min(...this.specs.map(capacityOf));
    this.waiting.rejectWhere(
      (entry) => costOf(entry) > this.capacity,
      (entry) => this.costError(costOf(entry)),
    );
    this.waiting.reschedule();
  }

  /**
   * Sets the least arrival jitter every limit counts with from now on: each limit's own (or
   * the default) when larger, else `ms`; `0` returns each to its own. For code that learns
   * the jitter from the server's answers (sluiceFetch's ArrivalMargin) — a wider jitter
   * delays starts, never admits more.
   */
  setArrivalJitter(ms: number): void {
    if (!(typeof ms === 'number' && ms >= 0 && Number.isFinite(ms))) throw new ConfigError('arrivalJitter', ms, 'must be a finite number of milliseconds >= 0');
    if (ms === this.jitterFloorMs) return;
    this.jitterFloorMs = ms;
    this.specs = this.normalise(this.inputs);
    this.waiting.reschedule();
  }

  /** The limits as specs, with this limiter's defaults and its jitter floor. */
  private normalise(limits: LimitInput | readonly LimitInput[]): LimitSpec[] {
    const specs = toLimitSpecs(limits, this.defaults);
    const floor = this.jitterFloorMs;
    return floor === 0 ? specs : specs.map((spec) => ((spec.jitterMs ?? 0) >= floor ? spec : { ...spec, jitterMs: floor }));
  }

  /**
   * Gives `cost` units back to every limit from the newest start — a start that did not
   * happen after all, when it is the latest one admitted. Waiters may start sooner.
   *
   * Refunding an older start this way would leave its units in the window and remove newer
   * ones, so the window would free capacity before the service sees it free: to correct a
   * particular start, take it with `reserve` and use its Reservation.
   */
  async refund(cost: number): Promise<void> {
    checkAmount(cost, 'cost');
    await this.correct(cost, undefined, false);
  }

  /**
   * Records `cost` units used now without asking (usage of the moment). Limits may go past
   * full; later callers wait until they have drained. Usage of a particular start is counted
   * where it started by its Reservation's `charge`. A store without `charge` (RateStore)
   * makes it a ConfigError naming `store`.
   */
  async charge(cost: number): Promise<void> {
    checkAmount(cost, 'cost');
    await this.correct(cost, undefined, true);
  }

  /** refund and charge, of the start stamped `at` (undefined: the newest, or now), then the queue served again. */
  private async correct(units: number, at: number | undefined, charge: boolean): Promise<void> {
    const now = this.clock.now();
    const done = charge ? this.limitKey.charge(this.specs, units, now, at) : this.limitKey.refund(this.specs, units, now, at);
    if (done !== undefined) await done;
    this.waiting.reschedule();
  }

  /** The limits in force, normalised. */
  get limits(): readonly LimitSpec[] {
    return this.specs;
  }

  stats(): RateLimiterStats {
    return {
      ...this.counters,
      waiting: this.waiting.size,
      waitingCost: this.waiting.cost,
      limits: this.specs.map(describeSpec),
    };
  }

  /**
   * decide: the one decision of this limiter, for a caller not yet in the queue. `cost`
   * starts now if nobody waits ahead and the store admits it (taking it from the limits);
   * otherwise the caller waits its turn in the queue, or is refused when the wait would be
   * longer than `maxWaitMs`. `mayQueue` false is tryAcquire: it never joins the queue, and
   * never goes ahead of a caller who waits. `now` comes from the caller, which is where V8
   * inlines the clock read; inside reserve, with two algorithms in one process, the
   * inlining budget left the clock read out (a call per request).
   *
   * The store is asked now unless callers wait; a caller behind them is judged on an
   * estimate of their wait. Over a store that decides in order (Redis) a caller goes
   * through the queue instead, so the callers of one tick are asked about in one round trip
   * and none overtakes another — unless the queue is full: then it is asked about alone, to
   * be refused only if it must wait — or unless nobody waits and the store holds permits
   * here (spendHeld): then it starts on them at once. `stamp` (a reservation's) is set by
   * the store when it records the start.
   */
  private decide(cost: number, maxWaitMs: number, mayQueue: boolean, now: number, stamp: StartStamp | undefined): Verdict | Promise<Verdict> {
    const queued = this.waiting.size;
    if (mayQueue && this.inOrder ? queued < this.queueSize : queued > 0) {
      // Nobody waits ahead: permits this process already holds (a Redis lease) start it now, with no queue turn.
      if (queued === 0 && this.limitKey.spendHeld?.(this.specs, cost, now, stamp) === true) return STARTED;
      return this.behindQueue(cost, maxWaitMs, queued);
    }
    const wait = this.limitKey.reserve(this.specs, cost, now, stamp);
    return typeof wait === 'number' ? verdictOn(wait, maxWaitMs) : answeredLater(wait, maxWaitMs);
  }

  /** decide for a caller that goes into the queue without asking the store: judged on an estimate of the wait. */
  private behindQueue(cost: number, maxWaitMs: number, queued: number): Verdict {
    const estimate = this.estimateWait(cost);
    // Into an empty queue of an in-order store: its maxWaitMs is judged when it is the head.
    return queued === 0 ? { kind: 'wait', waitMs: estimate } : waitOrRefuse(estimate, maxWaitMs);
  }

  /**
   * enter: a caller of acquire, run or reserve admitted end to end — its options checked,
   * the decision (decide), and the decision carried out: started, refused, or queued. An
   * asynchronous store's answer comes back here as `answered`, so both answers go one way.
   *
   * One function on purpose: V8 optimises it as a unit (it is over the 460 bytes of bytecode
   * up to which V8 inlines a function into its caller), and the decision it calls — clock,
   * store, algorithm — then fits the budget V8 spends inlining into one function. Split into
   * small functions, it was inlined into run instead, the store's state became a call per
   * request, and a never-binding limiter cost 5–10 % more (bench/history/overhead.md).
   */
  private enter(task: Task, options: AcquireOptions | undefined, stamp: StartStamp | undefined, answered?: Verdict): Promise<unknown> {
    let cost = 1;
    let maxWaitMs = Number.POSITIVE_INFINITY;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        return Promise.reject(new ConfigError('options', options, 'must be an object such as { cost, signal, priority, maxWaitMs }'));
      }
      const invalid = this.invalidCost(options.cost) ?? invalidOption(options);
      if (invalid) return Promise.reject(invalid);
      // Checked again when a store answers later: the caller may have given up meanwhile.
      if (options.signal?.aborted) return Promise.reject(abortReason(options.signal));
      cost = options.cost ?? 1;
      maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
    }
    const verdict = answered ?? this.decide(cost, maxWaitMs, true, this.clock.now(), stamp);
    if (verdict instanceof Promise) return verdict.then((v) => this.enter(task, options, stamp, v));
    if (verdict.kind === 'start') {
      this.counters.admitted++;
      // One field and one channel check when nobody listens (see onEvent).
      if (this.events.all.listening || limiterChannel.hasSubscribers) this.events.all.emit({ type: 'admitted', limiter: this.name, cost, waitMs: 0 });
      return task === undefined ? RESOLVED : invoke(task);
    }
    if (verdict.kind === 'refuse') return this.refuse(cost, refusalError(verdict));
    if (this.waiting.size >= this.queueSize) {
      return this.refuse(cost, new QueueFullError(`rate limiter queue is full (${this.queueSize} waiting)`, this.estimateWait(cost)));
    }
    if (watchesQueue(this.events)) return this.waitWatched(task, cost, options, stamp);
    return this.waiting.add(task, cost, options, stamp);
  }

  /** A caller refused at once: counted, reported, rejected. Out of enter, which refusals need not slow. */
  private refuse(cost: number, error: RateLimitedError | QueueFullError): Promise<never> {
    this.counters.rejected++;
    if (this.events.all.active) this.events.all.emit(refusedEvent(this.name, cost, error, error.retryAfterMs));
    return Promise.reject(error);
  }

  /** A caller queued while someone listens: its wait reported when it ends (limiter-events.ts). */
  private waitWatched(task: Task, cost: number, options: AcquireOptions | undefined, stamp: StartStamp | undefined): Promise<unknown> {
    return watchWait(this.events, this.name, cost, () => this.clock.now(), options?.signal, task, (watched) => this.waiting.add(watched, cost, options, stamp));
  }

  /**
   * An estimate of the wait for a new caller behind the current queue: the queued cost
   * drained at the slowest limit's steady rate. Exact for one GCRA limit with nobody
   * queued; otherwise a fair bound for maxWaitMs and retryAfterMs.
   */
  private estimateWait(cost: number): number {
    let msPerUnit = 0;
    for (const spec of this.specs) msPerUnit = Math.max(msPerUnit, spec.intervalMs / spec.limit);
    return (this.waiting.cost + cost) * msPerUnit;
  }

  private checkCost(cost: number): void {
    const invalid = this.invalidCost(cost);
    if (invalid) throw invalid;
  }

  /** A ConfigError if `cost` is given and is not a number the limits can ever admit at once. */
  private invalidCost(cost: number | undefined): ConfigError | undefined {
    if (cost === undefined) return undefined;
    try {
      checkAmount(cost, 'cost');
    } catch (error) {
      return error as ConfigError;
    }
    return cost > this.capacity ? this.costError(cost) : undefined;
  }

  private costError(cost: number): ConfigError {
    return new ConfigError('cost', cost, `exceeds what the limits can ever admit at once (${this.capacity}); raise burst or the limit`);
  }
}

/**
 * The arrival jitter a limiter on `clock` gives limits without their own (LimitDefaults):
 * `option` when set, else the default rule on real time, else none (virtual time).
 */
export function arrivalJitterOn(clock: Clock, option: Duration | undefined): LimitDefaults['arrivalJitter'] {
  return option ?? (runsInRealTime(clock) ? defaultArrivalJitterMs : undefined);
}

/** The verdict on a store's answer that comes later (Redis): a native promise whatever thenable the store gave, which is how enter tells the two answers apart. */
function answeredLater(wait: PromiseLike<number>, maxWaitMs: number): Promise<Verdict> {
  return Promise.resolve(wait).then((w) => verdictOn(w, maxWaitMs));
}
