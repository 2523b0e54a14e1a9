import { setMaxListeners } from 'node:events';
import { abortReason, RejectedError } from '../core/errors.js';
import type { PolicyContext } from '../execution/policy.js';
import { Deque } from './deque.js';
import { Emitter } from './events.js';
import { LatencyHistogram, RateMeter } from './metrics.js';
import { ReorderBuffer } from './reorder.js';
import { SourceReader } from './source-reader.js';
import type { FlowConfig } from './options.js';
import type { FlowContext, FlowEvents, FlowFailure, FlowResult, FlowSource, FlowStats, FlowWorker } from './types.js';

type Consumer<T> = { resolve: (result: IteratorResult<T, undefined>) => void; reject: (error: unknown) => void };

const DONE: IteratorResult<never, undefined> = { value: undefined, done: true };

/**
 * FlowEngine: one run of a flow, driven by a single `pump()` that is called after every
 * event (an item read, an attempt finished, the consumer asking, the guard resuming) and
 * does whatever has become possible: start items, read the source, hand results over,
 * finish. No loop polls and nothing waits on a timer of its own.
 *
 * What it holds is bounded by construction: at most `buffer` items read and not started,
 * and at most `window` items started and not yet taken by the consumer (in flight plus
 * finished-but-waiting, which is also the reorder buffer when `ordered`). No array or
 * promise exists per pending source item.
 */
export class FlowEngine<I, O> implements AsyncIterator<FlowResult<I, O>, undefined> {
  readonly events = new Emitter<FlowEvents<I, O>>();
  private readonly controller = new AbortController();
  private reader: SourceReader<I> | undefined;
  private readonly inputs = new Deque<I>();
  private readonly ready = new Deque<FlowResult<I, O>>();
  private readonly reorder = new ReorderBuffer<FlowResult<I, O>>();
  private readonly consumers = new Deque<Consumer<FlowResult<I, O>>>();
  private pulled = 0;
  private startedItems = 0;
  private inFlight = 0;
  /** Attempts past admission and not yet settled: the `inflight` adaptive limits see. */
  private executing = 0;
  /**
   * Items waiting for the rate limiter's first admission: at most one. Items pass the rate
   * limiter one by one, in order, and only then can the next take a slot — so slots are
   * held by work, not by a queue of items waiting for quota, and a limit that shrinks
   * (overload) takes effect at once instead of after a backlog of admitted slots.
   */
  private admitting = 0;
  private yielded = 0;
  private limit: number;
  private state: 'idle' | 'running' | 'done' = 'idle';
  /** Set when the run stops early: stopOnError, the consumer left, or the signal aborted. */
  private stopped = false;
  /** Thrown once by `next()` after the results are drained: a source failure or the caller's abort. */
  private pendingThrow: { error: unknown } | undefined;
  private pumping = false;
  private again = false;
  private detachGuard: (() => void) | undefined;
  private cancelResumeWait: (() => void) | undefined;
  private readonly counters = { started: 0, succeeded: 0, failed: 0, retried: 0, rejected: 0 };
  private readonly latency = new LatencyHistogram();
  private readonly meter = new RateMeter();
  /** No rate, no policies, fixed limit: call the worker directly, one object per item. */
  private readonly direct: boolean;
  private readonly onExternalAbort = (): void => this.abortRun(abortReason(this.config.signal!));
  private readonly wantsInput = (): boolean => !this.stopped && this.inputs.length < this.config.buffer;
  private readonly accept = (input: I): void => {
    this.pulled++;
    this.inputs.push(input);
    this.again = true; // a new item may start at once
  };
  private readonly onLanded = (): void => this.pump();
  private readonly onResume = (): void => {
    this.cancelResumeWait = undefined;
    this.pump();
  };

  constructor(
    private readonly source: FlowSource<I>,
    private readonly worker: FlowWorker<I, O>,
    private readonly config: FlowConfig<I>,
  ) {
    // Every in-flight attempt may listen on this one signal; that is by design, not a leak.
    setMaxListeners(0, this.controller.signal);
    this.limit = config.adaptive ? config.adaptive.limit : config.fixedLimit;
    this.direct = !config.rate && !config.retry && !config.breaker && !config.timeout && !config.adaptive;
  }

  next(): Promise<IteratorResult<FlowResult<I, O>, undefined>> {
    if (this.state === 'idle') this.begin();
    const result = this.ready.shift();
    if (result !== undefined) {
      this.yielded++;
      this.pump();
      return Promise.resolve({ value: result, done: false });
    }
    if (this.state === 'done') return this.endOfResults();
    return new Promise((resolve, reject) => {
      this.consumers.push({ resolve, reject });
      this.pump();
    });
  }

  /** The consumer left (`break`): abort in-flight work, stop reading, close the source. */
  async return(): Promise<IteratorResult<FlowResult<I, O>, undefined>> {
    if (this.state !== 'done') {
      this.stop(new DOMException('The flow was closed by its consumer', 'AbortError'));
      this.ready.drain();
      this.pendingThrow = undefined;
      this.finish();
    }
    await this.reader?.close();
    return DONE;
  }

  stats(): FlowStats {
    return {
      pulled: this.pulled,
      buffered: this.inputs.length,
      ...this.counters,
      inFlight: this.inFlight,
      yielded: this.yielded,
      waiting: this.ready.length + this.reorder.size,
      concurrency: this.limit,
      ratePerSec: this.meter.perSecond(this.config.clock.now()),
      latencyMs: this.latency.summary(),
      paused: this.config.guard?.paused ?? false,
      state: this.state,
    };
  }

  private begin(): void {
    this.state = 'running';
    const { signal, guard } = this.config;
    if (signal?.aborted) {
      this.abortRun(abortReason(signal));
      return;
    }
    signal?.addEventListener('abort', this.onExternalAbort, { once: true });
    this.detachGuard = guard?.attach();
    this.reader = new SourceReader(this.source);
  }

  /** Does everything that has become possible; re-entrant calls just ask for another round. */
  private pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        this.startItems();
        this.read();
        this.deliver();
        this.checkFinished();
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  private startItems(): void {
    while (this.inputs.length > 0 && this.mayStart()) {
      const input = this.inputs.shift() as I;
      const index = this.startedItems++;
      this.inFlight++;
      if (this.direct) this.runDirect(input, index);
      else void this.runWithPolicies(input, index);
    }
  }

  private mayStart(): boolean {
    if (this.stopped || this.inFlight >= this.limit || this.admitting > 0) return false;
    const window = this.config.window ?? Math.max(16, 2 * this.limit);
    if (this.startedItems - this.yielded >= window) return false;
    const guard = this.config.guard;
    if (guard?.paused) {
      this.cancelResumeWait ??= guard.onResume(this.onResume);
      return false;
    }
    return true;
  }

  /** Reads from the source while the buffer has room. */
  private read(): void {
    if (!this.stopped) this.reader?.read(this.wantsInput, this.accept, this.onLanded);
  }

  /** The fast path: no admission, no policies; one context object and one settle per item. */
  private runDirect(input: I, index: number): void {
    const context: FlowContext = { signal: this.controller.signal, attempt: 1, index };
    const clock = this.config.clock;
    const startedAt = clock.now();
    this.counters.started++;
    this.meter.record(startedAt);
    if (this.events.has('started')) this.events.emit('started', { input, index, attempt: 1 });
    let output: O | PromiseLike<O>;
    try {
      output = this.worker(input, context);
    } catch (error) {
      this.latency.record(clock.now() - startedAt);
      this.settle(input, index, false, error, 1);
      return;
    }
    if (!isThenable(output)) {
      this.latency.record(clock.now() - startedAt);
      this.settle(input, index, true, output, 1);
      return;
    }
    output.then(
      (value) => {
        this.latency.record(clock.now() - startedAt);
        this.settle(input, index, true, value, 1);
      },
      (error: unknown) => {
        this.latency.record(clock.now() - startedAt);
        this.settle(input, index, false, error, 1);
      },
    );
  }

  /**
   * The full path, outer → inner: retry → breaker → rate admission → timeout → worker.
   * Admission sits inside retry so every attempt pays its quota, and outside timeout so
   * waiting for the quota is not mistaken for a slow service. Never rejects.
   */
  private async runWithPolicies(input: I, index: number): Promise<void> {
    const { retry, breaker, timeout, rate, clock } = this.config;
    let cost = 1;
    let attempts = 0;
    let reachedWorker = false;
    let gate = rate !== undefined;
    if (gate) this.admitting++;
    const openGate = (): void => {
      if (!gate) return;
      gate = false;
      this.admitting--;
      this.pump();
    };

    const callWorker = async (context: PolicyContext): Promise<O> => {
      const startedAt = clock.now();
      const inflight = this.executing++;
      this.counters.started++;
      this.meter.record(startedAt);
      if (this.events.has('started')) this.events.emit('started', { input, index, attempt: context.attempt });
      try {
        // A getter, so a policy's lazy cancellation scope becomes an AbortSignal only if the worker reads it.
        const value = await this.worker(input, {
          get signal() {
            return context.signal;
          },
          attempt: context.attempt,
          index,
        });
        this.sample(clock.now() - startedAt, inflight, false);
        return value;
      } catch (error) {
        // Aborted by a policy (a timeout, a lost hedge) while the flow goes on: the service was too slow.
        const dropped = this.config.isDrop(error) || (context.signal.aborted && !this.controller.signal.aborted);
        this.sample(clock.now() - startedAt, inflight, dropped);
        throw error;
      } finally {
        this.executing--;
      }
    };
    const admitted = async (context: PolicyContext): Promise<O> => {
      if (rate) {
        try {
          await rate.acquire({ cost, signal: context.signal });
        } finally {
          openGate();
        }
      }
      reachedWorker = true;
      return timeout ? timeout.execute(callWorker, context) : callWorker(context);
    };
    const attempt = async (context: PolicyContext): Promise<O> => {
      attempts++;
      const number = context.attempt > attempts ? context.attempt : attempts;
      if (attempts > 1) {
        this.counters.retried++;
        if (this.events.has('retried')) this.events.emit('retried', { input, index, attempt: number });
      }
      reachedWorker = false;
      // Passed on as given (policies may hand a lazy scope), unless the attempt number needs fixing.
      const inner = context.attempt === number ? context : { get signal() { return context.signal; }, attempt: number };
      try {
        return await (breaker ? breaker.execute(admitted, inner) : admitted(inner));
      } catch (error) {
        if (!reachedWorker && error instanceof RejectedError) {
          this.counters.rejected++;
          if (this.events.has('rejected')) this.events.emit('rejected', { input, index, error });
        }
        throw error;
      }
    };

    const outer = { signal: this.controller.signal, attempt: 1 };
    try {
      cost = this.itemCost(input);
      const value = await (retry ? retry.execute(attempt, outer) : attempt(outer));
      openGate();
      this.settle(input, index, true, value, Math.max(attempts, 1));
    } catch (error) {
      openGate(); // refused before admission (an open breaker): let the next item try
      this.settle(input, index, false, error, Math.max(attempts, 1));
    }
  }

  private itemCost(input: I): number {
    const costOf = this.config.cost;
    if (costOf === undefined) return 1;
    const cost = costOf(input);
    const average = this.config.averageCost;
    average.value += (cost - average.value) / 16; // recent items weigh most; sizes 'auto' in items
    return cost;
  }

  private sample(rttMs: number, inflight: number, dropped: boolean): void {
    this.latency.record(rttMs);
    const adaptive = this.config.adaptive;
    if (adaptive === undefined) return;
    const limit = Math.max(1, Math.floor(adaptive.onSample({ rttMs, inflight, dropped })));
    if (limit === this.limit) return;
    this.limit = limit;
    if (this.events.has('limit')) this.events.emit('limit', { limit });
  }

  /** An item finished: count it, route its result (unless the run stopped), and pump. */
  private settle(input: I, index: number, ok: boolean, outcome: unknown, attempts: number): void {
    this.inFlight--;
    let result: FlowResult<I, O>;
    if (ok) {
      this.counters.succeeded++;
      result = { ok: true, value: outcome as O, input, index, attempts };
      if (this.events.has('succeeded')) this.events.emit('succeeded', result);
    } else {
      this.counters.failed++;
      result = { ok: false, error: outcome, input, index, attempts };
      if (this.events.has('failed')) this.events.emit('failed', result as FlowFailure<I>);
    }
    if (!this.stopped) {
      if (!ok && this.config.stopOnError) this.stopOnFailure(result);
      else this.route(result);
    }
    this.pump();
  }

  private route(result: FlowResult<I, O>): void {
    if (!this.config.ordered) {
      this.ready.push(result);
      return;
    }
    if (!this.reorder.isNext(result.index)) {
      this.reorder.set(result.index, result);
      return;
    }
    this.ready.push(result);
    this.reorder.advance();
    for (let next = this.reorder.shift(); next !== undefined; next = this.reorder.shift()) this.ready.push(next);
  }

  /** stopOnError: what finished before stays, the failure is yielded last, the rest is aborted. */
  private stopOnFailure(failure: FlowResult<I, O>): void {
    this.reorder.clear();
    this.ready.push(failure);
    this.stop(new DOMException('The flow stopped after a failed item (stopOnError)', 'AbortError'));
  }

  private deliver(): void {
    while (this.consumers.length > 0 && this.ready.length > 0) {
      this.yielded++;
      this.consumers.shift()!.resolve({ value: this.ready.shift()!, done: false });
    }
  }

  private checkFinished(): void {
    if (this.state !== 'running') return;
    const reader = this.reader;
    const exhausted = reader !== undefined && reader.done && !reader.pulling && this.inputs.length === 0 && this.inFlight === 0;
    if (!exhausted && !this.stopped) return;
    if (reader?.failure && !this.stopped) this.pendingThrow = reader.failure;
    this.finish();
  }

  /** Nothing more will be produced: release listeners, then answer waiting consumers once drained. */
  private finish(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.config.signal?.removeEventListener('abort', this.onExternalAbort);
    this.cancelResumeWait?.();
    this.cancelResumeWait = undefined;
    this.detachGuard?.();
    this.detachGuard = undefined;
    if (this.stopped) void this.reader?.close();
    this.deliver();
    while (this.consumers.length > 0 && this.ready.length === 0) {
      const consumer = this.consumers.shift()!;
      const pending = this.pendingThrow;
      this.pendingThrow = undefined;
      if (pending) consumer.reject(pending.error);
      else consumer.resolve(DONE);
    }
  }

  private endOfResults(): Promise<IteratorResult<FlowResult<I, O>, undefined>> {
    const pending = this.pendingThrow;
    if (pending === undefined) return Promise.resolve(DONE);
    this.pendingThrow = undefined;
    return Promise.reject(pending.error);
  }

  /** Stops starting and reading, and aborts every attempt in flight with `reason`. */
  private stop(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.inputs.drain();
    this.controller.abort(reason);
  }

  /** The caller's signal fired: the iteration throws its reason; unconsumed results are dropped. */
  private abortRun(reason: unknown): void {
    if (this.state === 'done') return;
    this.stop(reason);
    this.ready.drain();
    this.reorder.clear();
    this.pendingThrow = { error: reason };
    this.finish();
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<T>).then === 'function';
}
