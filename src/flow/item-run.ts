import { RejectedError } from '../core/errors.js';
import { rateLimit } from '../policies/limiter-policies.js';
import { pipeline } from '../policies/pipeline.js';
import type { Policy, PolicyContext } from '../policies/policy.js';
import { Context, handOn, parentOf } from '../policies/scope.js';
import type { ItemRunner } from './item-runner.js';

/**
 * ItemRun: one item's way through the flow's pipeline, built by `pipeline` (policies/
 * pipeline.ts): retry → each attempt → breaker → rate limit → timeout → worker. The rate
 * limit sits inside retry, so every attempt pays its quota, and outside the timeout, so
 * waiting for the quota is not mistaken for a slow service.
 *
 * The item's own parts are this object: the pipeline's `attempt` part (it counts the
 * attempts, and the refusals — a RejectedError before the worker ran) and its work (the
 * worker, called and measured by the runner). The outcome goes to the host exactly once;
 * `start` never throws and nothing it starts rejects.
 */
export class ItemRun<I, O> implements Policy {
  /** Attempts begun, retries included. */
  private attempts = 0;
  /** The count of `attempts` when the worker was last reached: equal to it once the attempt in progress is past admission. */
  private reached = 0;
  /** Holds the runner's rate gate (`admitting`) until the item's first admission is decided. */
  private gated: boolean;

  constructor(
    private readonly runner: ItemRunner<I, O>,
    private readonly input: I,
    private readonly index: number,
  ) {
    this.gated = runner.config.rate !== undefined;
    if (this.gated) runner.admitting++;
  }

  start(): void {
    const { config, origin, unitRate } = this.runner;
    let cost: number;
    try {
      cost = this.runner.itemCost(this.input);
    } catch (error) {
      this.settle(false, error);
      return;
    }
    const item = pipeline({
      retry: config.retry,
      attempt: this,
      breaker: config.breaker,
      rateLimit: config.rate && (cost === 1 ? unitRate : rateLimit(config.rate, { cost })),
      timeout: config.timeout,
    });
    item.execute(this.work, origin).then(
      (value) => this.settle(true, value),
      (error: unknown) => this.settle(false, error),
    );
  }

  /** The `attempt` part: counts the attempt, then runs the rest of the pipeline. */
  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    const attempt = ++this.attempts;
    const given = context?.attempt ?? 1;
    // A retry policy numbers its attempts; under one that does not, the count numbers them.
    const number = given > attempt ? given : attempt;
    if (attempt > 1) {
      const { counters, events } = this.runner;
      counters.retried++;
      if (events.has('retried')) events.emit('retried', { input: this.input, index: this.index, attempt: number });
    }
    // Handed on as given (policies may hand a lazy scope), unless the attempt number needs fixing.
    const inner = given === number ? handOn(context) : new Context(parentOf(context), number);
    let result: Promise<T>;
    try {
      result = Promise.resolve(fn(inner));
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.then(undefined, (error: unknown) => this.failed(error, attempt));
  }

  /** The work: the worker, reached by an attempt past admission. */
  private readonly work = (context: PolicyContext): Promise<O> => {
    this.reached = this.attempts;
    this.openGate();
    return this.runner.callWorker(this.input, this.index, context);
  };

  /** Attempt `attempt` failed. Before the worker, it no longer waits for admission, and a RejectedError there is a refusal. */
  private failed(error: unknown, attempt: number): never {
    if (this.reached !== attempt) {
      this.openGate();
      if (error instanceof RejectedError) {
        const { counters, events } = this.runner;
        counters.rejected++;
        if (events.has('rejected')) events.emit('rejected', { input: this.input, index: this.index, error });
      }
    }
    throw error;
  }

  /** Lets the next item start: this one's first admission is decided (or it never needs one). */
  private openGate(): void {
    if (!this.gated) return;
    this.gated = false;
    this.runner.admitting--;
    this.runner.host.wake();
  }

  private settle(ok: boolean, outcome: unknown): void {
    this.openGate();
    this.runner.host.settle(this.input, this.index, ok, outcome, Math.max(this.attempts, 1));
  }
}
