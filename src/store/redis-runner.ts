import type { Cluster, Redis } from 'ioredis';
import { backgroundTimer, systemClock, type Clock, type Timer } from '../core/clock.js';
import { clusterSlot } from './cluster-slot.js';
import { setDeadline } from './lua/preamble.js';
import type { Script } from './lua/script.js';

/** An ioredis client: a single node or a Cluster (keys of one limiter share a slot). */
export type RedisClient = Redis | Cluster;

/** What a call answers when Redis could not decide: down, timed out, or too late to act. */
export const UNAVAILABLE: unique symbol = Symbol('sluice.redis.unavailable');
export type Unavailable = typeof UNAVAILABLE;

/** The weight of the newest round trip in rttMs. */
const RTT_WEIGHT = 0.2;

const UNAVAILABLE_NOW: Promise<Unavailable> = Promise.resolve(UNAVAILABLE);

/** How late the timeout timer may fire before its lateness is taken as this process's stall. */
const LATE_TIMER_MS = 5;

/** Redis replies that mean "not now" (failover, loading, a busy script), not a bug in the call. */
const TRANSIENT = /^(BUSY|LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS)\b/;

/**
 * The Redis time, in ms, of a reply's time element: 'seconds microseconds' as `TIME` gives
 * them (no number formatting in Lua), or the caller's `now` in ms (unsafeCallerClockForTests).
 * Computed as the preamble computes `now`, so it is the very value the script decided on.
 */
export function redisTime(text: string): number {
  const space = text.indexOf(' ');
  if (space < 0) return Number(text);
  return Number(text.slice(0, space)) * 1000 + Number(text.slice(space + 1)) / 1000;
}

/**
 * A Cluster master that failed to answer: calls for its slots are answered UNAVAILABLE at
 * once until `until`, then one call goes as a probe (see ScriptRunner.masterDown).
 */
interface DownMaster {
  until: number;
  failures: number;
}

interface Pending {
  /** Local time after which the caller stops waiting for the reply. */
  deadline: number;
  settled: boolean;
  giveUp: () => void;
}

export interface RunnerOptions {
  timeoutMs: number;
  maxRetryDelayMs: number;
  /** Send the staleness deadline (off when tests drive time, as Redis's clock is then unused). */
  deadlines: boolean;
  /** This process's time: when a request was sent, when to give up on it. Default systemClock. */
  clock?: Clock | undefined;
  /** Randomness for the retry delay's jitter, in [0, 1). Default Math.random. */
  random?: (() => number) | undefined;
}

/**
 * ScriptRunner: runs sluice's Lua scripts on one client, and turns every way Redis can
 * fail to answer into one value, UNAVAILABLE, that the stores map to their policy.
 *
 * - EVALSHA first; EVAL (which also caches the script) on NOSCRIPT, e.g. after a restart
 *   or SCRIPT FLUSH.
 * - Nothing is handed to ioredis while it is not connected, so its offline queue never
 *   holds a sluice request.
 * - Each request carries a deadline on Redis's clock (the client's clock plus an offset
 *   learnt from earlier replies, which can only under-estimate it). A request that runs
 *   later — resent by ioredis after a reconnect, say — changes nothing and answers
 *   'stale'. The caller stops waiting at the same instant (one timer for all requests),
 *   so a decision is never acted on by one side only; a late reply that did act is passed
 *   to `onLate` so it can be undone.
 */
export class ScriptRunner {
  /** Redis clock − local clock, at most: the largest recent `redisNow − receivedAt`. */
  private offset: number | undefined;
  /** Redis clock − local clock, at least: the smallest recent `redisNow − sentAt` (the decision came after the send). */
  private offsetCeiling = Number.POSITIVE_INFINITY;
  private offsetAt = Number.NEGATIVE_INFINITY;
  private readonly inFlight: Pending[] = [];
  private head = 0;
  private timer: Timer | undefined;
  private failures = 0;
  /** Round trip of recent requests, ms, smoothed; 0 until one is answered. */
  private rtt = 0;
  private readonly clock: Clock;
  private readonly random: () => number;
  /** Cluster masters (host:port) that failed to answer lately. Empty on a single Redis. */
  private readonly down = new Map<string, DownMaster>();

  constructor(
    readonly client: RedisClient,
    private readonly options: RunnerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * Runs `script` on `keys` with `argv`, which its builder made (preambleArgv first: the
   * deadline is set here, unless `deadline` is false). Every script answers one string,
   * 'status,time,…' (lua/preamble.ts); this resolves with it split at the commas, or with
   * UNAVAILABLE; it rejects only for errors that are bugs (a script error, a wrong type).
   * A reply that arrives after the caller was given UNAVAILABLE goes to `onLate`.
   */
  run(script: Script, keys: readonly string[], argv: string[], onLate?: (reply: string[]) => void, deadline = true): Promise<string[] | Unavailable> {
    const master = this.masterOf(keys);
    if (!this.ready || (master !== undefined && this.masterDown(master))) {
      this.failures++;
      return UNAVAILABLE_NOW;
    }
    const sentAt = this.clock.now();
    if (this.options.deadlines && deadline) setDeadline(argv, this.deadlineFrom(sentAt));
    return new Promise((resolve, reject) => {
      const giveUp = (): void => {
        this.masterFailed(master);
        resolve(UNAVAILABLE);
      };
      const pending: Pending = { deadline: sentAt + this.options.timeoutMs, settled: false, giveUp };
      this.track(pending);
      this.send(script, keys, argv).then(
        (value) => {
          const reply = (value as string).split(',');
          const receivedAt = this.clock.now();
          this.rtt = this.rtt === 0 ? receivedAt - sentAt : this.rtt + RTT_WEIGHT * (receivedAt - sentAt - this.rtt);
          if (this.options.deadlines) this.observe(redisTime(reply[1]!), sentAt, receivedAt);
          // Any reply, a late or a stale one too, shows the master is back: what onLate sends
          // to undo a late decision must not be held back as if it were still gone.
          if (master !== undefined) this.down.delete(master);
          if (pending.settled) {
            if (reply[0] !== 'stale') onLate?.(reply);
            return;
          }
          this.settle(pending);
          if (reply[0] === 'stale') {
            this.failures++;
            resolve(UNAVAILABLE);
          } else {
            this.failures = 0;
            resolve(reply);
          }
        },
        (error: unknown) => {
          if (pending.settled) return;
          this.settle(pending);
          if (isTransient(error)) {
            this.failures++;
            this.masterFailed(master);
            resolve(UNAVAILABLE);
          } else {
            reject(error);
          }
        },
      );
    });
  }

  /**
   * The Cluster master (host:port) serving `keys` (they share a slot: one hash tag), as the
   * client last learnt it; undefined on a single Redis or while the client has no slot map.
   * A master is tracked apart from the client's status because a Cluster client stays
   * 'ready' while one master is gone: without this every call for that master's slots would
   * wait `timeoutMs` before its policy answers, while a single Redis's callers get it at once.
   */
  private masterOf(keys: readonly string[]): string | undefined {
    const client = this.client;
    if (!('slots' in client) || keys.length === 0) return undefined;
    return client.slots[clusterSlot(keys[0]!)]?.[0];
  }

  /**
   * Whether calls for `master` are answered UNAVAILABLE without asking it: it failed lately
   * and its retry delay has not passed. Once it has, this call goes as the one probe, and
   * the others wait its outcome (or `timeoutMs`) before another is sent.
   */
  private masterDown(master: string): boolean {
    const down = this.down.get(master);
    if (down === undefined) return false;
    const now = this.clock.now();
    if (now < down.until) return true;
    down.until = now + this.options.timeoutMs;
    return false;
  }

  /** Counts a failure of `master`: 25 ms doubling to maxRetryDelayMs, jittered, as retryDelay. */
  private masterFailed(master: string | undefined): void {
    if (master === undefined) return;
    const down = this.down.get(master) ?? { until: 0, failures: 0 };
    down.failures++;
    down.until = this.clock.now() + Math.min(this.options.maxRetryDelayMs, 25 * 2 ** Math.min(down.failures, 16)) * (0.5 + this.random() / 2);
    this.down.set(master, down);
  }

  /** The round trip of recent requests, ms (smoothed); 0 until one is answered. */
  get rttMs(): number {
    return this.rtt;
  }

  /** This process's time, on the clock requests are timed with. */
  now(): number {
    return this.clock.now();
  }

  /**
   * How long to wait before asking again after failures: 25 ms doubling up to
   * `maxRetryDelayMs`, with jitter so a fleet does not retry in step.
   */
  retryDelay(): number {
    const base = Math.min(this.options.maxRetryDelayMs, 25 * 2 ** Math.min(this.failures, 16));
    return base * (0.5 + this.random() / 2);
  }

  private send(script: Script, keys: readonly string[], argv: readonly string[]): Promise<unknown> {
    return this.client.evalsha(script.sha, keys.length, ...keys, ...argv).catch((error: unknown) => {
      if (isNoScript(error)) return this.client.eval(script.source, keys.length, ...keys, ...argv);
      throw error;
    });
  }

  /**
   * Turns a wait measured from Redis's decision into one measured from now: the reply's
   * travel and a busy event loop have already used part of it. Under-estimating the offset
   * only shortens the wait, which costs one extra early ask, never an early start.
   */
  sinceDecision(wait: number, decidedAt: number): number {
    if (this.offset === undefined || !this.options.deadlines) return wait;
    return wait - (this.clock.now() - (decidedAt - this.offset));
  }

  /**
   * How long ago Redis decided, at most: `now − (decidedAt − ceiling)`, the offset's ceiling
   * being the smallest recent `redisNow − sentAt` — Redis decided after the request was sent.
   * Never less than the truth, whatever queueing the request met on its way in or its reply
   * on the way back; more by the round trip of the fastest recent request. The floor of the
   * offset would under-state it by a reply's travel and the event loop's delay in reading
   * it: on a loaded machine, tens of milliseconds at the start of a run, when the only
   * samples are slow ones — admissions that late were then taken as on time, and a fleet's
   * starts overran a window (test/store/redis/fleet.test.ts under two CPU-bound processes).
   * 0 while the offset is unknown.
   */
  ageOfDecision(decidedAt: number): number {
    if (!this.options.deadlines || this.offset === undefined) return 0;
    return this.clock.now() - (decidedAt - this.offsetCeiling);
  }

  /** The latest Redis time at which a request sent at `sentAt` may act; '' until the offset is known. */
  private deadlineFrom(sentAt: number): string {
    return this.offset === undefined ? '' : String(sentAt + this.offset + this.options.timeoutMs);
  }

  /**
   * Learns Redis's clock. Redis decided after `sentAt` and before `receivedAt`, so the offset
   * lies between `redisNow − receivedAt` and `redisNow − sentAt`: the largest recent floor
   * and the smallest recent ceiling are the best bounds. Both are renewed every few seconds
   * so a clock step on the server is followed.
   */
  private observe(redisNow: number, sentAt: number, receivedAt: number): void {
    if (!Number.isFinite(redisNow)) return;
    const floor = redisNow - receivedAt;
    const ceiling = redisNow - sentAt;
    // A sample outside the bounds held (a clock step) starts them afresh, as a renewal does.
    if (this.offset === undefined || receivedAt - this.offsetAt > 5_000 || floor > this.offsetCeiling || ceiling < this.offset) {
      this.offset = floor;
      this.offsetCeiling = ceiling;
      this.offsetAt = receivedAt;
      return;
    }
    if (floor > this.offset) this.offset = floor;
    if (ceiling < this.offsetCeiling) this.offsetCeiling = ceiling;
  }

  private track(pending: Pending): void {
    this.inFlight.push(pending);
    if (this.timer === undefined) this.arm(pending.deadline);
  }

  private settle(pending: Pending): void {
    pending.settled = true;
    const queue = this.inFlight;
    while (this.head < queue.length && queue[this.head]!.settled) this.head++;
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > queue.length) {
      queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /** One timer for all requests: they share a timeout, so the oldest always expires first. */
  private arm(at: number): void {
    this.timer = backgroundTimer(this.clock, this.expire, at - this.clock.now());
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const oldest = this.inFlight[this.head];
    // A timer that fires well after its instant means this process stalled, and replies that
    // came meanwhile wait unread: Node runs due timers before it reads sockets. Giving up
    // first would take our own stall for Redis's silence (and undo decisions Redis made in
    // time). So one I/O turn reads them first; then what is still unanswered is given up.
    if (oldest !== undefined && this.clock.now() - oldest.deadline > LATE_TIMER_MS) setImmediate(this.giveUpExpired);
    else this.giveUpExpired();
  };

  private readonly giveUpExpired = (): void => {
    // A request sent during the I/O turn may have armed the timer for its own, later deadline.
    this.timer?.cancel();
    this.timer = undefined;
    const now = this.clock.now();
    const queue = this.inFlight;
    while (this.head < queue.length) {
      const pending = queue[this.head]!;
      if (!pending.settled) {
        if (pending.deadline > now) {
          this.arm(pending.deadline);
          return;
        }
        pending.settled = true;
        this.failures++;
        pending.giveUp();
      }
      this.head++;
    }
    queue.length = 0;
    this.head = 0;
  };
}

/**
 * Whether a failed EVALSHA means the server does not have the script (a restart, SCRIPT
 * FLUSH, a failover to a replica that never saw it): the `NOSCRIPT` code, which Redis
 * ('NOSCRIPT No matching script. Please use EVAL.') and Valkey 8 ('NOSCRIPT No matching
 * script.') both put first, also where a proxy or client library puts its own word before
 * it; or the words alone, from servers that answer without the code.
 */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && /(^|[\s:])NOSCRIPT\b|no matching script/i.test(error.message);
}

function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  // ReplyError is Redis answering; anything else (closed connection, retries exhausted) is an outage.
  if (error.name !== 'ReplyError') return true;
  return TRANSIENT.test(error.message);
}
