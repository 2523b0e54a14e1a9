// Imported rather than read from globalThis, where Node 20 defines it as a getter: a
// limiter reads the clock on every request, and the getter showed in that path's profile
// (BENCHMARKS.md, overhead).
import { performance } from 'node:perf_hooks';
import { abortReason } from './errors.js';
import { unwatchAbort, watchAbort } from './abort-watch.js';

/** A pending callback from `Clock.timer`; `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

/**
 * Clock: the only source of time in sluice. Every limiter, policy and flow takes one,
 * so tests drive time with `ManualClock` and never sleep for real.
 */
export interface Clock {
  /** Monotonic milliseconds (fractional); only differences are meaningful. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason on abort and removes its listener. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `callback` once after `ms`. Cheaper than `sleep` for the one timer a limiter keeps. */
  timer(callback: () => void, ms: number): Timer;
  /**
   * How late a start may begin after a limiter decided it on this clock: the caller's code
   * runs a little after the decision (later still when the process is descheduled). A
   * RateLimiter's own store counts each sliding-window start this much longer
   * (MemoryStoreOptions), so the window holds in the callers' start times too. Absent: 0,
   * right for virtual time (ManualClock), where nothing happens between the two.
   * `systemClock` and `preciseClock` say 1 ms; a clock made from one of them by copying it
   * (`{ ...systemClock, now }`) keeps that, and any other says its own.
   *
   * It also tells real time from virtual (runsInRealTime): on real time a limiter assumes
   * requests reach the server with some jitter (RateLimiterOptions.arrivalJitter).
   */
  readonly startLagMs?: number | undefined;
  /**
   * Like `timer`, for housekeeping that must never be the reason a finished process does not
   * exit (a lease's renewal, a reply's deadline, a progress line): on Node's timers it is
   * unref'd. Absent: `timer` is used (virtual time has no process to keep alive).
   */
  backgroundTimer?(callback: () => void, ms: number): Timer;
}

/**
 * runsInRealTime: whether `clock` is real time — one that says it has a start lag
 * (systemClock, preciseClock and clocks made from them) — rather than virtual time
 * (ManualClock), where nothing happens between a decision and what follows it.
 */
export function runsInRealTime(clock: Clock): boolean {
  return (clock.startLagMs ?? 0) > 0;
}

/** A timer from `clock.backgroundTimer` where the clock has one, else from `clock.timer`. */
export function backgroundTimer(clock: Clock, callback: () => void, ms: number): Timer {
  return clock.backgroundTimer ? clock.backgroundTimer(callback, ms) : clock.timer(callback, ms);
}

/** An unref'd Node timeout: it never keeps the process alive. */
function unrefTimer(callback: () => void, ms: number): Timer {
  const handle = setTimeout(callback, Math.max(0, ms));
  handle.unref();
  return { cancel: () => clearTimeout(handle) };
}

/**
 * The start lag of the real-time clocks: a window counted 1 ms longer (at most T/1000) holds
 * its limit in the callers' start times, short of a process descheduled for longer than that
 * between a decision and its start (BENCHMARKS.md, accuracy).
 */
const REAL_TIME_START_LAG_MS = 1;

/** systemClock: `performance.now()` and Node timers. */
export const systemClock: Clock = {
  startLagMs: REAL_TIME_START_LAG_MS,
  now: () => performance.now(),
  sleep: (ms, signal) => sleepWith(systemClock, ms, signal),
  timer(callback, ms) {
    const handle = setTimeout(callback, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
  backgroundTimer: unrefTimer,
};

/**
 * preciseClock: `performance.now()`, and timers that never wake late by Node's millisecond
 * rounding. Node's timers run on a coarse millisecond clock: a timeout can fire up to a
 * millisecond early, and re-arming for the sub-millisecond rest then waits a whole
 * millisecond more — about half a millisecond lost per wake-up. This clock waits out any
 * rest under a millisecond on the following turns of the event loop (setImmediate), so a
 * limiter starts within microseconds of its instant on a quiet process.
 *
 * The price is CPU: those turns poll. A RateLimiter saturated at 1000/s keeps a core busy
 * (one start is due every millisecond), about 18 % of one at 200/s (BENCHMARKS.md, timers).
 * Use it where an exact schedule at high rates matters more than that (`smooth` at rates
 * near 1000/s); `systemClock`, the default, never polls.
 */
export const preciseClock: Clock = {
  startLagMs: REAL_TIME_START_LAG_MS,
  now: () => performance.now(),
  sleep: (ms, signal) => sleepWith(preciseClock, ms, signal),
  // Housekeeping needs no sub-millisecond precision: no polling for it.
  backgroundTimer: unrefTimer,
  timer(callback, ms) {
    const due = performance.now() + ms;
    let timeout: NodeJS.Timeout | undefined;
    let immediate: NodeJS.Immediate | undefined;
    const wait = (left: number): void => {
      if (left >= 1) timeout = setTimeout(check, left);
      else immediate = setImmediate(check);
    };
    const check = (): void => {
      timeout = immediate = undefined;
      const left = due - performance.now();
      if (left <= 0) callback();
      else wait(left); // woken early: a timeout can fire up to a millisecond before its time
    };
    wait(ms); // never synchronously, as setTimeout
    return {
      cancel: () => {
        if (timeout !== undefined) clearTimeout(timeout);
        if (immediate !== undefined) clearImmediate(immediate);
        timeout = immediate = undefined;
      },
    };
  },
};

/** Shared by the clocks: a sleep built on `clock.timer` that honours an AbortSignal. */
function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    if (!signal) {
      clock.timer(resolve, ms);
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(abortReason(signal));
    };
    const timer = clock.timer(() => {
      unwatchAbort(signal, onAbort);
      resolve();
    }, ms);
    watchAbort(signal, onAbort);
  });
}

interface ManualTimer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * ManualClock: time that moves only when a test says so. `advance(ms)` fires due timers
 * in time order (ties in the order they were set), setting `now()` to each timer's instant
 * and letting promise callbacks run between them, so code that reacts to one timer by
 * setting another sees the time it would have seen for real.
 */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  timer(callback: () => void, ms: number): Timer {
    const entry: ManualTimer = { at: this.time + Math.max(0, ms), seq: this.seq++, callback, cancelled: false };
    this.insert(entry);
    return {
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        const i = this.timers.indexOf(entry);
        if (i >= 0) this.timers.splice(i, 1);
      },
    };
  }

  /** Number of timers set and neither fired nor cancelled: tests assert it returns to 0. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`advance: ms must be >= 0, got ${ms}`);
    const target = this.time + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.cancelled = true;
      next.callback();
      await flushMicrotasks();
    }
    this.time = target;
    await flushMicrotasks();
  }

  /** Advances to the instant of the next timer and fires it (and any due with it). */
  async next(): Promise<boolean> {
    const first = this.timers[0];
    if (!first) return false;
    await this.advance(Math.max(0, first.at - this.time));
    return true;
  }

  /** Runs timers until none are left or `limitMs` of virtual time has passed. */
  async runAll(limitMs = Number.MAX_SAFE_INTEGER): Promise<void> {
    const end = this.time + limitMs;
    while (this.timers.length > 0 && this.timers[0]!.at <= end) await this.next();
  }

  private insert(entry: ManualTimer): void {
    // Binary search keeps timers ordered by (at, seq); tests hold few timers.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.timers[mid]!;
      if (t.at < entry.at || (t.at === entry.at && t.seq < entry.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, entry);
  }
}

/** Lets every queued promise callback run (a macrotask turn drains the microtask queue). */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
