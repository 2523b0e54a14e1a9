import type { EventHub } from '../core/events.js';
import { rateLimit } from '../policies/limiter-policies.js';
import type { Policy, PolicyContext } from '../policies/policy.js';
import { Context } from '../policies/scope.js';
import { ItemRun } from './item-run.js';
import { LatencyHistogram, RateMeter } from './metrics.js';
import type { FlowConfig } from './options.js';
import type { FlowContext, FlowEvents, FlowWorker } from './types.js';

/** What an ItemRunner reports back to the flow that owns it. */
export interface ItemHost {
  /** An item is finished: its outcome after every attempt. Called exactly once per item. */
  settle(input: unknown, index: number, ok: boolean, outcome: unknown, attempts: number): void;
  /** Something changed that may let another item start (the rate gate opened). */
  wake(): void;
}

/**
 * ItemRunner: runs each item through admission and the policies (an ItemRun each, in the
 * order of policies/pipeline.ts), feeding each attempt's latency to the adaptive limit and
 * the stats. It owns the per-attempt counts the flow reports; the flow owns the items.
 */
export class ItemRunner<I, O> {
  /** Attempts past admission and not yet settled: the `inflight` adaptive limits see. */
  executing = 0;
  /**
   * Items waiting for the rate limiter's first admission: at most one, because the flow
   * starts no item while one waits. Items pass the rate limiter one by one, in order, and
   * only then can the next take a slot — so slots are held by work, not by a queue of
   * items waiting for quota, and a limit that shrinks (overload) takes effect at once
   * instead of after a backlog of admitted slots.
   */
  admitting = 0;
  /** The concurrency limit in force. */
  limit: number;
  readonly counters = { started: 0, retried: 0, rejected: 0 };
  readonly latency = new LatencyHistogram();
  readonly meter = new RateMeter();
  /** Where every item's pipeline starts: the flow's signal, attempt 1. */
  readonly origin: PolicyContext;
  /** The rate limit of an item that costs 1 unit: one policy for all of them. */
  readonly unitRate: Policy | undefined;
  /** No rate, no policies, fixed limit: call the worker directly, one object per item. */
  private readonly direct: boolean;

  constructor(
    private readonly worker: FlowWorker<I, O>,
    readonly config: FlowConfig<I>,
    /** The flow's own signal: aborted when the flow stops. */
    private readonly signal: AbortSignal,
    readonly events: EventHub<FlowEvents<I, O>>,
    readonly host: ItemHost,
  ) {
    this.limit = config.adaptive ? config.adaptive.limit : config.fixedLimit;
    this.direct = !config.rate && !config.retry && !config.breaker && !config.timeout && !config.adaptive;
    this.origin = new Context(signal, 1);
    this.unitRate = config.rate && rateLimit(config.rate);
  }

  /** Starts one item; its outcome arrives through `host.settle`. Never throws or rejects. */
  run(input: I, index: number): void {
    if (this.direct) this.runDirect(input, index);
    else new ItemRun(this, input, index).start();
  }

  /** The fast path: no admission, no policies; one context object and one settle per item. */
  private runDirect(input: I, index: number): void {
    const context: FlowContext = { signal: this.signal, attempt: 1, index };
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
      this.host.settle(input, index, false, error, 1);
      return;
    }
    if (!isThenable(output)) {
      this.latency.record(clock.now() - startedAt);
      this.host.settle(input, index, true, output, 1);
      return;
    }
    output.then(
      (value) => {
        this.latency.record(clock.now() - startedAt);
        this.host.settle(input, index, true, value, 1);
      },
      (error: unknown) => {
        this.latency.record(clock.now() - startedAt);
        this.host.settle(input, index, false, error, 1);
      },
    );
  }

  /** One admitted attempt of an item: the worker called and measured, its latency fed to the adaptive limit. */
  async callWorker(input: I, index: number, context: PolicyContext): Promise<O> {
    const clock = this.config.clock;
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
      const dropped = this.config.isDrop(error) || (context.signal.aborted && !this.signal.aborted);
      this.sample(clock.now() - startedAt, inflight, dropped);
      throw error;
    } finally {
      this.executing--;
    }
  }

  /** Units of rate `input` uses, kept in the recent average that sizes 'auto' in items. Throws what `cost` throws. */
  itemCost(input: I): number {
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
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<T>).then === 'function';
}
