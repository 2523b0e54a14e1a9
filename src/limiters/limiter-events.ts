import { QueueFullError, RateLimitedError } from '../core/errors.js';
import type { Emitter } from '../core/events.js';
import type { Telemetry } from '../core/telemetry.js';
import type { Task } from '../core/wait-queue.js';

/** Why a limiter refused a caller: over its rate (or its maxWaitMs), its queue full, or anything else (new limits, a store failure). */
export type RejectReason = 'rate-limited' | 'queue-full' | 'failed';

/**
 * LimiterEvent: what a limiter did with one caller, with how long it waited (`waitMs`, 0
 * for a caller decided at once) — the events of .NET's rate limiting metrics
 * (acquired / rejected / canceled). Published on `sluice:limiter` too.
 */
export type LimiterEvent =
  | { readonly type: 'admitted'; readonly limiter: string; readonly cost: number; readonly waitMs: number }
  | { readonly type: 'rejected'; readonly limiter: string; readonly cost: number; readonly waitMs: number; readonly reason: RejectReason; readonly retryAfterMs: number }
  | { readonly type: 'aborted'; readonly limiter: string; readonly cost: number; readonly waitMs: number };

/** The reason a refusal `error` stands for. */
export function reasonOf(error: unknown): RejectReason {
  if (error instanceof QueueFullError) return 'queue-full';
  return error instanceof RateLimitedError ? 'rate-limited' : 'failed';
}

/** A refusal decided at once, as an event. */
export function refusedEvent(limiter: string, cost: number, error: unknown, retryAfterMs: number): LimiterEvent {
  return { type: 'rejected', limiter, cost, waitMs: 0, reason: reasonOf(error), retryAfterMs };
}

/** Where a limiter's events go: everyone (`all`, and its channel) and those who asked only for callers that waited (`queued`). */
export interface LimiterEventSinks {
  readonly all: Telemetry<LimiterEvent>;
  readonly queued: Emitter<LimiterEvent>;
}

/** True while anyone would see an event about a caller that waits. */
export function watchesQueue(sinks: LimiterEventSinks): boolean {
  return sinks.queued.active || sinks.all.active;
}

/**
 * A waiting caller watched to report how its wait ended: the start (with its wait) when it
 * is admitted, a refusal or abort when it is refused before it started. Only used while
 * someone listens, so a limiter nobody watches queues its caller as is.
 *
 * A caller with a task (`run(fn)`) has the task wrapped, so the start is reported as it
 * happens. A caller without one (`acquire()`) is queued as it is — the queue resolves it
 * with what the caller is owed, a ConcurrencyLimiter's permit — and reported when that
 * promise resolves: a wrapper task would be run in the permit's place, and its end would
 * free the slot the caller was given.
 */
export function watchWait(
  sinks: LimiterEventSinks,
  limiter: string,
  cost: number,
  now: () => number,
  signal: AbortSignal | undefined,
  task: Task,
  enqueue: (task: Task) => Promise<unknown>,
): Promise<unknown> {
  const since = now();
  let started = false;
  const emit = (event: LimiterEvent): void => {
    if (sinks.all.active) sinks.all.emit(event);
    if (sinks.queued.active) sinks.queued.emit(event);
  };
  const admitted = (): void => {
    started = true;
    emit({ type: 'admitted', limiter, cost, waitMs: now() - since });
  };
  const refused = (error: unknown): never => {
    if (!started) {
      const waitMs = now() - since;
      if (signal?.aborted) emit({ type: 'aborted', limiter, cost, waitMs });
      else emit({ type: 'rejected', limiter, cost, waitMs, reason: reasonOf(error), retryAfterMs: retryAfterOf(error) });
    }
    throw error;
  };
  if (task === undefined) {
    return enqueue(undefined).then((owed) => {
      admitted();
      return owed;
    }, refused);
  }
  const watched = (): unknown => {
    admitted();
    return task();
  };
  return enqueue(watched).catch(refused);
}

function retryAfterOf(error: unknown): number {
  const value = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof value === 'number' ? value : 0;
}
