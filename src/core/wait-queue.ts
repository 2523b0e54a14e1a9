/**
 * The queue of callers waiting for a limiter, FIFO within a priority (higher first).
 *
 * Memory is the point of this file: a million pending calls must cost little more than
 * the promises their callers already hold. A plain waiter (default cost, no signal, no
 * deadline) is stored as two array slots — its promise's `resolve` and the task to run —
 * with no object of its own. Only waiters that need more (a cost, an AbortSignal, a
 * deadline) get a `Waiter` object.
 *
 * Rejection needs no stored `reject`: resolving a promise with a rejected promise
 * rejects it, so `resolve(Promise.reject(error))` does the job.
 *
 * Time in queue: while the queue's QueueWaits has a sink, each caller is stamped as it comes
 * in (a third parallel array, made only then) and reported as it leaves — by `take` with how
 * it left, by `cancel` as aborted, by `removeWhere` as rejected.
 */
import type { QueueWaits, WaitResult } from './queue-waits.js';

/** The `resolve` of a waiting caller's promise. */
export type Resolve = (value: unknown) => void;

/** A task queued by `run(fn)`; `undefined` for a bare `acquire()`. */
export type Task = (() => unknown) | undefined;

/** A waiter that needs more than a resolve function. */
export interface Waiter {
  resolve: Resolve;
  cost: number;
  /** Absolute clock time after which waiting longer is refused; Infinity for none. */
  deadline: number;
  priority: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The queue holding it, so an abort cancels it where it is. */
  queue?: WaitQueue | undefined;
  /** Set once the waiter has left the queue (admitted, rejected or aborted). */
  done: boolean;
  /** Where the store writes the instant it recorded this waiter's start (a RateLimiter reservation's stamp), if asked for. */
  stamp?: { at: number } | undefined;
  /** When it entered the queue, if its waits were timed then (QueueWaits); absent or NaN otherwise. */
  since?: number | undefined;
}

export type Entry = Resolve | Waiter;

/**
 * Growable FIFO ring of (entry, task) pairs in two parallel arrays, and a third of the
 * instants they came in once any came in timed (NaN for those that did not).
 */
class Ring {
  entries: (Entry | undefined)[] = new Array(16);
  tasks: Task[] = new Array(16);
  times: number[] | undefined;
  head = 0;
  length = 0;

  push(entry: Entry, task: Task, since: number): void {
    if (this.length === this.entries.length) this.grow();
    const slot = (this.head + this.length) & (this.entries.length - 1);
    this.entries[slot] = entry;
    this.tasks[slot] = task;
    if (this.times !== undefined) this.times[slot] = since;
    else if (!Number.isNaN(since)) {
      this.times = new Array<number>(this.entries.length).fill(Number.NaN);
      this.times[slot] = since;
    }
    this.length++;
  }

  /** When the head came in; NaN if untimed. */
  sinceOfHead(): number {
    return this.times === undefined ? Number.NaN : this.times[this.head]!;
  }

  shift(): void {
    this.entries[this.head] = undefined;
    this.tasks[this.head] = undefined;
    this.head = (this.head + 1) & (this.entries.length - 1);
    this.length--;
  }

  private grow(): void {
    const size = this.entries.length;
    const entries: (Entry | undefined)[] = new Array(size * 2);
    const tasks: Task[] = new Array(size * 2);
    const times = this.times === undefined ? undefined : new Array<number>(size * 2).fill(Number.NaN);
    for (let i = 0; i < size; i++) {
      const slot = (this.head + i) & (size - 1);
      entries[i] = this.entries[slot];
      tasks[i] = this.tasks[slot];
      if (times !== undefined) times[i] = this.times![slot]!;
    }
    this.entries = entries;
    this.tasks = tasks;
    this.times = times;
    this.head = 0;
  }
}

interface Level {
  priority: number;
  ring: Ring;
}

/** What WaitQueue.takeFirst answers for an entry that is no longer first in line. */
export const NOT_FIRST: unique symbol = Symbol('not first');

export function isWaiter(entry: Entry): entry is Waiter {
  return typeof entry !== 'function';
}

export function costOf(entry: Entry): number {
  return typeof entry === 'function' ? 1 : entry.cost;
}

export class WaitQueue {
  /** Levels sorted by priority, highest first. Level 0 always exists. */
  private levels: Level[] = [{ priority: 0, ring: new Ring() }];
  /** Waiters queued and not done. */
  size = 0;
  /** Sum of the live waiters' costs. */
  cost = 0;
  private tombstones = 0;

  /** `waits`: where callers' time in this queue is reported while anyone listens (QueueWaits). */
  constructor(private readonly waits?: QueueWaits) {}

  /**
   * Queues `entry`. `since`: when it came in, for a caller moved here from another queue
   * (its wait goes on); by default now if its waits are timed, else NaN.
   */
  push(entry: Entry, task: Task, since?: number): void {
    const priority = typeof entry === 'function' ? 0 : entry.priority;
    const at = since ?? (this.waits?.active === true ? this.waits.now() : Number.NaN);
    if (typeof entry !== 'function') {
      entry.queue = this;
      // Only while timed: an untimed waiter carries no such field (memory per pending caller).
      if (!Number.isNaN(at) || entry.since !== undefined) entry.since = at;
    }
    this.levelFor(priority).ring.push(entry, task, at);
    this.size++;
    this.cost += costOf(entry);
  }

  /** The ring whose head is the next live waiter, or undefined when none waits. */
  head(): Ring | undefined {
    if (this.size === 0) return undefined;
    for (const { ring } of this.levels) {
      while (ring.length > 0) {
        const entry = ring.entries[ring.head]!;
        if (typeof entry === 'function' || !entry.done) return ring;
        ring.shift();
        this.tombstones--;
      }
    }
    return undefined;
  }

  /**
   * Removes the head returned by `head()` (the caller admits or rejects it) and returns when
   * it came in. `result`: how it leaves, for its time in queue; none when it moves to
   * another queue and waits on.
   */
  take(ring: Ring, result?: WaitResult): number {
    const entry = ring.entries[ring.head]!;
    const since = ring.sinceOfHead();
    if (isWaiter(entry)) entry.done = true;
    ring.shift();
    this.size--;
    this.cost -= costOf(entry);
    if (result !== undefined && this.waits?.active === true) this.waits.left(result, since);
    return since;
  }

  /**
   * Removes `entry` if it is the first live waiter of its priority, and returns its task;
   * NOT_FIRST otherwise (it was aborted or removed meanwhile). For a limiter that asked a
   * store for several waiters at once and admits them as the answers arrive.
   */
  takeFirst(entry: Entry, result: WaitResult): Task | typeof NOT_FIRST {
    if (isWaiter(entry) && entry.done) return NOT_FIRST;
    const priority = isWaiter(entry) ? entry.priority : 0;
    const level = this.levels.find((l) => l.priority === priority);
    if (level === undefined) return NOT_FIRST;
    const ring = level.ring;
    while (ring.length > 0) {
      const first = ring.entries[ring.head]!;
      if (typeof first === 'function' || !first.done) break;
      ring.shift();
      this.tombstones--;
    }
    if (ring.length === 0 || ring.entries[ring.head] !== entry) return NOT_FIRST;
    const task = ring.tasks[ring.head];
    this.take(ring, result);
    return task;
  }

  /** Marks a waiter as gone (aborted); it is skipped, and compacted away if many pile up. */
  cancel(waiter: Waiter): void {
    if (waiter.done) return;
    waiter.done = true;
    this.size--;
    this.cost -= waiter.cost;
    this.tombstones++;
    this.waits?.left('aborted', waiter.since ?? Number.NaN);
    if (this.tombstones > 1024 && this.tombstones > this.size) this.compact();
  }

  /** Removes every live waiter for which `drop` returns true, keeping the order of the rest; each leaves as `result`. */
  removeWhere(drop: (entry: Entry) => boolean, result: WaitResult): void {
    this.rebuild((entry, since) => {
      if (!drop(entry)) return true;
      if (isWaiter(entry)) entry.done = true;
      this.size--;
      this.cost -= costOf(entry);
      this.waits?.left(result, since);
      return false;
    });
  }

  private levelFor(priority: number): Level {
    const levels = this.levels;
    if (levels.length === 1 && levels[0]!.priority === priority) return levels[0]!;
    let i = 0;
    while (i < levels.length && levels[i]!.priority > priority) i++;
    if (i < levels.length && levels[i]!.priority === priority) return levels[i]!;
    const level = { priority, ring: new Ring() };
    levels.splice(i, 0, level);
    return level;
  }

  private compact(): void {
    this.rebuild(() => true);
  }

  /** Copies each ring without tombstones and without the live entries `keep` refuses (told when each came in). */
  private rebuild(keep: (entry: Entry, since: number) => boolean): void {
    for (const level of this.levels) {
      const old = level.ring;
      const ring = new Ring();
      while (old.length > 0) {
        const entry = old.entries[old.head]!;
        const task = old.tasks[old.head];
        const since = old.sinceOfHead();
        old.shift();
        if ((typeof entry === 'function' || !entry.done) && keep(entry, since)) ring.push(entry, task, since);
      }
      level.ring = ring;
    }
    this.tombstones = 0;
  }
}

export type { Ring };
