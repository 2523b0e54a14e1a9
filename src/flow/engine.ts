import { setMaxListeners } from 'node:events';
import { abortReason } from '../core/errors.js';
import { Deque } from './deque.js';
import { EventHub } from '../core/events.js';
import { ItemRunner } from './item-runner.js';
import { ReorderBuffer } from './reorder.js';
import { SourceReader } from './source-reader.js';
import type { FlowConfig } from './options.js';
import type { FlowEvents, FlowFailure, FlowResult, FlowSource, FlowStats, FlowWorker } from './types.js';

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
  readonly events = new EventHub<FlowEvents<I, O>>();
  private readonly controller = new AbortController();
  private reader: SourceReader<I> | undefined;
  private readonly inputs = new Deque<I>();
  private readonly ready = new Deque<FlowResult<I, O>>();
  private readonly reorder = new ReorderBuffer<FlowResult<I, O>>();
  private readonly consumers = new Deque<Consumer<FlowResult<I, O>>>();
  private pulled = 0;
  private startedItems = 0;
  private inFlight = 0;
  private yielded = 0;
  private state: 'idle' | 'running' | 'done' = 'idle';
  /** Set when the run stops early: stopOnError, the consumer left, or the signal aborted. */
  private stopped = false;
  /** Thrown once by `next()` after the results are drained: a source failure or the caller's abort. */
  private pendingThrow: { error: unknown } | undefined;
  private pumping = false;
  private again = false;
  private detachGuard: (() => void) | undefined;
  private cancelResumeWait: (() => void) | undefined;
  private readonly counters = { succeeded: 0, failed: 0 };
  private readonly runner: ItemRunner<I, O>;
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
    worker: FlowWorker<I, O>,
    private readonly config: FlowConfig<I>,
  ) {
    // Every in-flight attempt may listen on this one signal; that is by design, not a leak.
    setMaxListeners(0, this.controller.signal);
    this.runner = new ItemRunner(worker, config, this.controller.signal, this.events, {
      settle: (input, index, ok, outcome, attempts) => this.settle(input as I, index, ok, outcome, attempts),
      wake: () => this.pump(),
    });
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
      ...this.runner.counters,
      inFlight: this.inFlight,
      yielded: this.yielded,
      waiting: this.ready.length + this.reorder.size,
      concurrency: this.runner.limit,
      ratePerSec: this.runner.meter.perSecond(this.config.clock.now()),
      latencyMs: this.runner.latency.summary(),
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
      this.runner.run(input, index);
    }
  }

  private mayStart(): boolean {
    const { limit, admitting } = this.runner;
    if (this.stopped || this.inFlight >= limit || admitting > 0) return false;
    const window = this.config.window ?? Math.max(16, 2 * limit);
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
