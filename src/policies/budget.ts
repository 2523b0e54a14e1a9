import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { RollingCounts } from './rolling-counts.js';

export interface RetryBudgetOptions {
  /** Retries allowed per first attempt in the window. Default 0.1: retries add at most 10% load. */
  ratio?: number | undefined;
  /** Retries allowed per second regardless of traffic, so a quiet client can still retry. Default 1. */
  minPerSecond?: number | undefined;
  /** How far back calls and retries are counted. Default 10 000 ms. */
  windowMs?: number | undefined;
  clock?: Clock | undefined;
}

const CALLS = 0;
const RETRIES = 1;

/**
 * RetryBudget: caps retries at a fraction of recent traffic, as Finagle's RetryBudget and
 * gRPC retry throttling do, so a dead dependency is not hit by a retry storm. Share one
 * budget between the retry policies that call the same dependency.
 *
 * Guarantee: whenever a retry is allowed, the retries in the trailing window (the current
 * tenth of `windowMs` and the nine before it), counting this one, are at most
 * ratio × first attempts in that window + minPerSecond × windowMs / 1000. Memory is ten
 * pairs of counters whatever the traffic.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
  private readonly counts: RollingCounts;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.1;
    if (!(this.ratio >= 0 && Number.isFinite(this.ratio))) throw new ConfigError('budget.ratio', options.ratio, 'must be a finite number >= 0');
    this.minPerSecond = options.minPerSecond ?? 1;
    if (!(this.minPerSecond >= 0 && Number.isFinite(this.minPerSecond))) {
      throw new ConfigError('budget.minPerSecond', options.minPerSecond, 'must be a finite number >= 0');
    }
    this.windowMs = options.windowMs ?? 10_000;
    if (!(this.windowMs > 0 && Number.isFinite(this.windowMs))) throw new ConfigError('budget.windowMs', options.windowMs, 'must be a finite number > 0');
    this.counts = new RollingCounts(2, this.windowMs, options.clock ?? systemClock);
  }

  /** Counts a first attempt: each one earns `ratio` of a retry. */
  recordCall(): void {
    this.counts.add(CALLS);
  }

  /** Spends one retry if the budget has it; false means "do not retry now". */
  tryRetry(): boolean {
    if (this.counts.sum(RETRIES) + 1 > this.allowance()) return false;
    this.counts.add(RETRIES);
    return true;
  }

  /** Whole retries the budget would allow now. */
  get available(): number {
    return Math.max(0, Math.floor(this.allowance() - this.counts.sum(RETRIES)));
  }

  private allowance(): number {
    return this.ratio * this.counts.sum(CALLS) + (this.minPerSecond * this.windowMs) / 1000;
  }
}
