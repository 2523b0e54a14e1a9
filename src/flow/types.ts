import type { AdaptiveLimit } from '../adaptive/adaptive-limit.js';
import type { LimitInput } from '../algorithms/limit-spec.js';
import type { RateLimiter } from '../limiters/rate-limiter.js';
import type { ResourceGuard } from '../adaptive/resource-guard.js';
import type { Clock } from '../core/clock.js';
import type { Policy, PolicyContext } from '../policies/policy.js';

/** What a worker gets with each item: the signal to stop on, the 1-based attempt, the item's index. */
export interface FlowContext extends PolicyContext {
  index: number;
}

/** Called once per attempt. A throw or a rejection is that attempt's failure. */
export type FlowWorker<I, O> = (item: I, context: FlowContext) => O | PromiseLike<O>;

/** Anything a flow can read items from, lazily: arrays, generators, Node Readable, Web ReadableStream. */
export type FlowSource<I> = Iterable<I> | AsyncIterable<I>;

export interface FlowSuccess<I, O> {
  ok: true;
  value: O;
  input: I;
  /** Position of the item in the source, from 0. */
  index: number;
  /** Attempts made, including the successful one. */
  attempts: number;
}

export interface FlowFailure<I> {
  ok: false;
  error: unknown;
  input: I;
  index: number;
  attempts: number;
}

/** One item's outcome. A failure is a value, not a throw: one bad item never ends the flow. */
export type FlowResult<I, O> = FlowSuccess<I, O> | FlowFailure<I>;

export interface FlowOptions<I> {
  /**
   * Most items in flight: a whole number, `'auto'`, or an AdaptiveLimit. `'auto'` with a
   * `rate` sizes it by Little's law (RateSizedLimit); without one it follows latency
   * (Gradient2Limit). Default: `'auto'` when `rate` is set, else 16.
   */
  concurrency?: number | 'auto' | AdaptiveLimit | undefined;
  /** A RateLimiter (shared with other code) or limits to build one from, e.g. `'100/1m'` or `['10/s', '500/1h']`. Every attempt, retries included, is admitted by it. */
  rate?: RateLimiter | LimitInput | readonly LimitInput[] | undefined;
  /** Units of rate an item uses (tokens, rows). Default 1. */
  cost?: ((item: I) => number) | undefined;
  /** Outermost policy: retries the whole attempt, admission included. Any Policy or composition. */
  retry?: Policy | undefined;
  /** Inside retry, before rate admission: an open circuit costs no quota. */
  breaker?: Policy | undefined;
  /** Innermost, around the worker alone: waiting for the rate limiter is not counted against it. */
  timeout?: Policy | undefined;
  /** Yield in source order (true) or as items finish (false, default). */
  ordered?: boolean | undefined;
  /** Items read from the source and not yet started, at most. A whole number >= 1. Default 16. */
  buffer?: number | undefined;
  /**
   * Items started and not yet taken by the consumer (in flight, or finished and waiting
   * to be yielded), at most. Bounds the reorder buffer with `ordered`, and how far work
   * runs ahead of a slow consumer. Default: twice the concurrency limit in force, at least 16.
   */
  window?: number | undefined;
  /** Stop after the first failure: abort what is in flight, read no more, yield that failure last. Default false. */
  stopOnError?: boolean | undefined;
  /** Aborting ends the flow: in-flight work is aborted and the iteration throws the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Pause starting items while this guard reports the process is short of resources. */
  guard?: ResourceGuard | undefined;
  /**
   * Which errors mean the service is overloaded, feeding adaptive concurrency a drop.
   * Default: TimeoutError, RejectedError, errors with `status`/`statusCode` 429 or 503, and
   * attempts aborted by a policy (a timeout) rather than by the flow.
   */
  isDrop?: ((error: unknown) => boolean) | undefined;
  clock?: Clock | undefined;
  /** What this flow (and the rate limiter it builds) is called in metrics: a label, few and stable. Default 'flow'. */
  name?: string | undefined;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface FlowStats {
  /** Items read from the source. */
  pulled: number;
  /** Read and waiting for a worker. */
  buffered: number;
  /** Attempts begun (after admission), retries included. */
  started: number;
  /** Items holding a concurrency slot (running, waiting for admission, or between retries). */
  inFlight: number;
  succeeded: number;
  failed: number;
  /** Attempts after the first. */
  retried: number;
  /** Attempts refused by admission (RejectedError before the worker ran: open circuit, queue full…). */
  rejected: number;
  /** Results handed to the consumer. */
  yielded: number;
  /** Finished results waiting for the consumer (or, with `ordered`, for an earlier item). */
  waiting: number;
  /** The concurrency limit in force. */
  concurrency: number;
  /** Attempts begun per second over the last 10 s. */
  ratePerSec: number;
  /** Attempt latency (worker time, without admission waits), in ms. */
  latencyMs: LatencySummary;
  /** The resource guard is holding admission. */
  paused: boolean;
  state: 'idle' | 'running' | 'done';
}

/** Events a flow emits; subscribe with `flow.on(name, listener)`, which returns a disposer. */
export interface FlowEvents<I, O> {
  /** An attempt passed admission and its worker is being called. */
  started: { input: I; index: number; attempt: number };
  succeeded: FlowSuccess<I, O>;
  failed: FlowFailure<I>;
  /** An attempt failed and the retry policy is trying again. */
  retried: { input: I; index: number; attempt: number };
  /** An attempt was refused before the worker ran. */
  rejected: { input: I; index: number; error: unknown };
  /** The adaptive concurrency limit changed. */
  limit: { limit: number };
}
