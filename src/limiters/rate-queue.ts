import type { Clock, Timer } from '../core/clock.js';
import { abortReason } from '../core/errors.js';
import type { QueueWaits } from '../core/queue-waits.js';
import { invoke } from '../core/invoke.js';
import { costOf, isWaiter, NOT_FIRST, WaitQueue, type Entry, type Ring, type Task, type Waiter } from '../core/wait-queue.js';
import { InOrderBatch } from './in-order-batch.js';
import type { LimitSpec } from '../algorithms/limit-spec.js';
import type { LimitKey } from './limit-key.js';
import type { AcquireOptions } from './rate-limiter-options.js';
import { refusalError, verdictOn } from './verdict.js';
import { unwatchAbort, watchAbort } from '../core/abort-watch.js';

/** What a RateLimiter counts of its callers (RateLimiterStats). */
export interface AdmissionCounts {
  admitted: number;
  rejected: number;
  aborted: number;
}

/**
 * What the queue waits for before it asks its store again, besides its timer:
 * - `idle`: nothing — a newcomer that goes first, the timer, an abort or new limits serve it;
 * - `tick-end`: the callers of this tick are still arriving; once they all have
 *   (process.nextTick), a store that decides in order is asked about them in one round trip;
 * - `answer`: the store's answer about the first waiters is in flight; nothing is asked
 *   until it has come.
 */
type Service = 'idle' | 'tick-end' | 'answer';

/**
 * RateQueue: the callers of a RateLimiter that wait their turn — FIFO within a priority,
 * higher first — and the service that starts them.
 *
 * The head is decided as a newcomer is (verdict.ts): started if the store admits it now,
 * refused if its wait would pass its maxWaitMs, else one timer is set for the instant it may
 * start — no polling, no timer per waiter. On waking the store is asked again (timers can
 * fire early), and the algorithms schedule from ideal instants so a late timer does not lose
 * throughput (see gcra.ts, slack).
 *
 * A store that answers at once (memory) is asked about one head after another. A store that
 * answers later (Redis) is asked about the first waiters together — as many as InOrderBatch
 * says if it decides in order, else the head alone — and the queue waits for that answer.
 */
export class RateQueue {
  private readonly waiters: WaitQueue;
  private service: Service = 'idle';
  private timer: Timer | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Present when the store decides in order. */
  private readonly batch: InOrderBatch | undefined;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.serve();
  };
  private readonly onTickEnd = (): void => {
    if (this.service !== 'tick-end') return; // the store was asked meanwhile
    this.service = 'idle';
    this.serve();
  };

  constructor(
    private readonly key: LimitKey,
    /** Whose limits are in force (they change with setLimits). */
    private readonly limiter: { readonly limits: readonly LimitSpec[] },
    private readonly clock: Clock,
    private readonly counts: AdmissionCounts,
    /** Where each caller's time in the queue is reported (RateLimiter.onQueueWait). */
    waits: QueueWaits,
  ) {
    this.waiters = new WaitQueue(waits);
    const inOrder = key.reserveInOrder;
    this.batch = inOrder === undefined ? undefined : new InOrderBatch((costs, now, stamps) => inOrder(this.limiter.limits, costs, now, stamps));
  }

  /** Callers waiting now. */
  get size(): number {
    return this.waiters.size;
  }

  /** The sum of the waiting callers' costs. */
  get cost(): number {
    return this.waiters.cost;
  }

  /**
   * Queues a caller of `cost`: resolves once it starts (with `task`'s result; undefined for
   * a bare acquire), rejects if it is refused or aborted. The limiter has checked queueSize.
   * `stamp`: set by the store to the instant it records the start (a reservation's).
   */
  add(task: Task, cost: number, options: AcquireOptions | undefined, stamp?: { at: number }): Promise<unknown> {
    return new Promise((resolve) => {
      // While a timer is set for the head, a newcomer that does not outrank it queues behind
      // it and changes neither the next start nor its instant: no need to ask the store.
      const head = this.timer === undefined ? undefined : this.waiters.head();
      const priority = options?.priority ?? 0;
      if (stamp === undefined && (options === undefined || (cost === 1 && options.signal === undefined && options.maxWaitMs === undefined && options.priority === undefined))) {
        this.waiters.push(resolve, task);
      } else {
        this.waiters.push(this.waiterFor(resolve, cost, options ?? {}, stamp), task);
      }
      if (head === undefined || priority > priorityOf(head.entries[head.head]!)) {
        if (this.batch !== undefined) this.serveAtTickEnd();
        else this.serve();
      }
    });
  }

  /** Rejects every waiter `drop` picks, with the error `errorOf` gives for it; the others keep their order. */
  rejectWhere(drop: (entry: Entry) => boolean, errorOf: (entry: Entry) => unknown): void {
    const dropped: Entry[] = [];
    this.waiters.removeWhere((entry) => drop(entry) && dropped.push(entry) > 0, 'rejected');
    for (const entry of dropped) this.reject(entry, errorOf(entry));
  }

  /** Something changed (an abort, new limits, units given back): the head or its wait may differ, so ask again. */
  reschedule(): void {
    this.cancelTimer();
    this.serve();
  }

  private waiterFor(resolve: (value: unknown) => void, cost: number, options: AcquireOptions, stamp: { at: number } | undefined): Waiter {
    const { signal, maxWaitMs } = options;
    const waiter: Waiter = {
      resolve,
      cost,
      deadline: maxWaitMs === undefined ? Number.POSITIVE_INFINITY : this.clock.now() + maxWaitMs,
      priority: options.priority ?? 0,
      signal,
      onAbort: undefined,
      done: false,
      stamp,
    };
    if (signal) {
      if (signal.aborted) {
        waiter.done = true;
        resolve(Promise.reject(abortReason(signal)));
        return waiter;
      }
      waiter.onAbort = () => {
        if (waiter.done) return;
        this.waiters.cancel(waiter);
        this.counts.aborted++;
        waiter.onAbort = undefined;
        resolve(Promise.reject(abortReason(signal)));
        this.reschedule();
      };
      watchAbort(signal, waiter.onAbort);
    }
    return waiter;
  }

  /** Starts every head that may start now, then sets one timer for the next — or asks the store and waits for its answer. */
  private serve(): void {
    while (this.service !== 'answer') {
      const ring = this.waiters.head();
      if (ring === undefined) {
        this.cancelTimer();
        return;
      }
      const entry = ring.entries[ring.head]!;
      if (this.batch !== undefined) {
        // Permits the store holds here (a Redis lease) start the head at once; past them, one round trip for the first waiters.
        if (this.key.spendHeld?.(this.limiter.limits, costOf(entry), this.clock.now(), stampOf(entry)) === true) {
          const task = ring.tasks[ring.head];
          this.waiters.take(ring, 'admitted');
          this.admit(entry, task);
          continue;
        }
        this.askInOrder(ring, this.batch);
        return;
      }
      const now = this.clock.now();
      const wait = this.key.reserve(this.limiter.limits, costOf(entry), now, stampOf(entry));
      if (typeof wait !== 'number') {
        this.service = 'answer';
        wait.then(
          (w) => this.afterAnswer([entry], [w]),
          (error: unknown) => this.afterFailure(entry, error),
        );
        return;
      }
      if (!this.decideHead(ring, entry, wait, now)) return;
    }
  }

  /**
   * Acts on the store's answer `wait` for the head `entry` of `ring`: starts it, refuses it,
   * or sets the timer for it. True when the next head is to be decided.
   */
  private decideHead(ring: Ring, entry: Entry, wait: number, now: number): boolean {
    const verdict = verdictOn(wait, isWaiter(entry) ? entry.deadline - now : Number.POSITIVE_INFINITY);
    switch (verdict.kind) {
      case 'start': {
        const task = ring.tasks[ring.head];
        this.waiters.take(ring, 'admitted');
        this.admit(entry, task);
        return true;
      }
      case 'refuse':
        this.waiters.take(ring, 'rejected');
        this.reject(entry, refusalError(verdict));
        return true;
      case 'wait':
        this.setTimer(now + wait);
        return false;
    }
  }

  /**
   * Asks a store that decides in order about the first waiters of the head's level in one
   * round trip, up to the first that must wait — rather than one waiter per round trip.
   */
  private askInOrder(ring: Ring, batch: InOrderBatch): void {
    const entries: Entry[] = [];
    const costs: number[] = [];
    const stamps: ({ at: number } | undefined)[] = [];
    const mask = ring.entries.length - 1;
    for (let i = 0; i < ring.length && entries.length < batch.size; i++) {
      const entry = ring.entries[(ring.head + i) & mask]!;
      if (isWaiter(entry) && entry.done) continue;
      entries.push(entry);
      costs.push(costOf(entry));
      stamps.push(stampOf(entry));
    }
    this.service = 'answer';
    batch.ask(costs, this.clock.now(), stamps).then(
      (waits) => this.afterAnswer(entries, waits),
      (error: unknown) => this.afterFailure(entries[0]!, error),
    );
  }

  /**
   * The store's answer about `entries`, in order: each admitted one starts (or, if it left
   * meanwhile, is given back), and the first it refused is decided as the head.
   */
  private afterAnswer(entries: readonly Entry[], waits: readonly number[]): void {
    this.service = 'idle';
    let admitted = 0;
    for (let i = 0; i < waits.length; i++) {
      const entry = entries[i]!;
      const wait = waits[i]!;
      if (wait === 0) {
        const task = this.waiters.takeFirst(entry, 'admitted');
        if (task === NOT_FIRST) {
          this.giveBack(entry); // aborted while the store answered
        } else {
          admitted++;
          this.admit(entry, task);
        }
        continue;
      }
      this.batch?.refusedAfter(admitted);
      const ring = this.waiters.head();
      // If the refused waiter left, or another now comes first, the store is asked about that one.
      if (ring === undefined || ring.entries[ring.head] !== entry || this.decideHead(ring, entry, wait, this.clock.now())) this.serve();
      return;
    }
    this.batch?.allAdmitted();
    this.serve();
  }

  /** The store failed: the first waiter asked about gets its error, if it is still first; the others are asked about again. */
  private afterFailure(entry: Entry, error: unknown): void {
    this.service = 'idle';
    const ring = this.waiters.head();
    if (ring !== undefined && ring.entries[ring.head] === entry) {
      this.waiters.take(ring, 'rejected');
      this.reject(entry, error);
    }
    this.serve();
  }

  /** Serves once this tick is over (after every promise reaction queued now), so the callers of one tick are asked about together. */
  private serveAtTickEnd(): void {
    if (this.service !== 'idle') return;
    this.service = 'tick-end';
    process.nextTick(this.onTickEnd);
  }

  /** Gives back what the store admitted for a waiter that left meanwhile (best effort): its own start if it was stamped, else the newest. */
  private giveBack(entry: Entry): void {
    void Promise.resolve(this.key.refund(this.limiter.limits, costOf(entry), this.clock.now(), stampOf(entry)?.at)).catch(() => {});
  }

  private admit(entry: Entry, task: Task): void {
    this.counts.admitted++;
    if (isWaiter(entry)) detach(entry);
    const resolve = isWaiter(entry) ? entry.resolve : entry;
    resolve(task === undefined ? undefined : invoke(task));
  }

  private reject(entry: Entry, error: unknown): void {
    this.counts.rejected++;
    if (isWaiter(entry)) detach(entry);
    const resolve = isWaiter(entry) ? entry.resolve : entry;
    resolve(Promise.reject(error));
  }

  private setTimer(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.cancelTimer();
    this.timerAt = at;
    this.timer = this.clock.timer(this.onTimer, at - this.clock.now());
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.timer.cancel();
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }
}

function detach(waiter: Waiter): void {
  if (waiter.signal && waiter.onAbort) unwatchAbort(waiter.signal, waiter.onAbort);
  waiter.onAbort = undefined;
}

function stampOf(entry: Entry): { at: number } | undefined {
  return isWaiter(entry) ? entry.stamp : undefined;
}

function priorityOf(entry: Entry): number {
  return isWaiter(entry) ? entry.priority : 0;
}
