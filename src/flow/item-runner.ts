import { RejectedError } from '../core/errors.js';
import type { PolicyContext } from '../policies/policy.js';
import type { EventHub } from '../core/events.js';
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
 * ItemRunner: runs one item through admission and the policies — retry → breaker → rate
 * admission → timeout → worker — feeding each attempt's latency to the adaptive limit and
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
  /** No rate, no policies, fixed limit: call the worker directly, one object per item. */
  private readonly direct: boolean;

  constructor(
    private readonly worker: FlowWorker<I, O>,
    private readonly config: FlowConfig<I>,
    /** The flow's own signal: aborted when the flow stops. */
    private readonly signal: AbortSignal,
    private readonly events: EventHub<FlowEvents<I, O>>,
    private readonly host: ItemHost,
  ) {
    this.limit = config.adaptive ? config.adaptive.limit : config.fixedLimit;
    this.direct = !config.rate && !config.retry && !config.breaker && !config.timeout && !config.adaptive;
  }

  /** Starts one item; its outcome arrives through `host.settle`. Never throws or rejects. */
  run(input: I, index: number): void {
    if (this.direct) this.runDirect(input, index);
    else void this.runWithPolicies(input, index);
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
      this.host.wake();
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
        const dropped = this.config.isDrop(error) || (context.signal.aborted && !this.signal.aborted);
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

    const outer = { signal: this.signal, attempt: 1 };
    try {
      cost = this.itemCost(input);
      const value = await (retry ? retry.execute(attempt, outer) : attempt(outer));
      openGate();
      this.host.settle(input, index, true, value, Math.max(attempts, 1));
    } catch (error) {
      openGate(); // refused before admission (an open breaker): let the next item try
      this.host.settle(input, index, false, error, Math.max(attempts, 1));
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
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<T>).then === 'function';
}
