import type { LimitSpec } from '../admission/limit-spec.js';
import type { SharedAdaptation, SharedAdaptationSource } from '../admission/shared-adaptation.js';
import { ConfigError, StoreUnavailableError } from '../core/errors.js';
import { MAX_REDIS_LIMITS, paramArgs, rateScripts, sequenceOf } from './lua/rate.js';
import type { Script } from './lua/script.js';
import { MemoryStore } from './memory.js';
import { RedisSharedAdaptation } from './redis-adaptation.js';
import { checkPrefix, DEFAULT_PREFIX, taggedKey } from './redis-keys.js';
import { redisTime, ScriptRunner, UNAVAILABLE, type RedisClient, type Unavailable } from './redis-runner.js';
import type { RateStore } from './store.js';

/** What a RedisStore does while Redis cannot decide (see RedisStoreOptions.onUnavailable). */
export type UnavailablePolicy = 'wait' | 'reject' | 'local';

export interface RedisStoreOptions {
  /** Prepended to every key, e.g. `'myapp:rl:'`. Default `'sluice:'`. No `{` or `}`. */
  prefix?: string;
  /**
   * While Redis is unreachable, slow, or failing over:
   * - `'wait'` (default): answer "ask again in a moment" (a growing, capped, jittered
   *   delay); the limiter retries then. Nothing starts without Redis's decision.
   * - `'reject'`: fail the call with StoreUnavailableError (its `retryAfterMs` is the delay).
   * - `'local'`: decide in this process against the same limits scaled by `localShare`,
   *   until Redis answers again.
   */
  onUnavailable?: UnavailablePolicy;
  /**
   * With `'local'`: the share of each limit this process may use alone, in (0, 1]; set it
   * to 1 / (number of processes) to keep the fleet within the limit during an outage.
   */
  localShare?: number;
  /**
   * How late after Redis's decision a start may happen — reply travel plus event-loop
   * delay. Sliding windows count each start for `interval + startLagMs`, and an admission
   * whose answer arrives later than that is given back and asked again, so no window of
   * the callers' own start times holds more than the limit. Costs about
   * startLagMs / interval of the rate. Default 10 ms; 0 under unsafeCallerClockForTests,
   * where time is virtual.
   */
  startLagMs?: number;
  /** How long one request may take before Redis counts as unavailable for it. Default 1000 ms. */
  timeoutMs?: number;
  /** The cap on the retry delay while Redis is unavailable. Default 500 ms. */
  maxRetryDelayMs?: number;
  /**
   * Tests only: decide on the `now` the limiter passes (its Clock, e.g. a ManualClock)
   * instead of Redis `TIME`, and give keys at least a minute of TTL since virtual time and
   * Redis's expiry clock are unrelated. Never set it in production: client clocks differ.
   */
  unsafeCallerClockForTests?: boolean;
}

interface Entry {
  specs: readonly LimitSpec[];
  /** The keys of every limit, in the order the scripts read them. */
  keys: string[];
  /** ARGV[5..]: the TTL floor and every limit's numbers (paramArgs). */
  params: string[];
  reserve: Script;
  refund: Script;
}

/** Cached key layouts; cleared whole when full (rebuilding one costs a few string concatenations). */
const MAX_CACHED_KEYS = 10_000;
/** See RedisStoreOptions.startLagMs: covers loopback or LAN travel and a busy event loop. */
const DEFAULT_START_LAG_MS = 10;
/** How often a late admission is given back and asked again before the caller is told to wait. */
const MAX_LATE_RETRIES = 50;
/** The least wait reported: 0 would mean "admitted". */
const MIN_WAIT_MS = 0.001;
/** TTL floor under unsafeCallerClockForTests. */
const TEST_TTL_FLOOR_MS = 60_000;

/**
 * RedisStore: limit state shared by every process that uses the same Redis and prefix.
 *
 * Each `reserve` is one EVALSHA that decides every limit of the request atomically with
 * the same math as MemoryStore, on Redis's clock. Keys: `prefix{key}:i:alg2` per limit (the
 * `{key}` hash tag keeps a limiter's keys in one Cluster slot; the key is escaped, see
 * encodeKeyPart), each with a TTL that ends when its state is back to fresh — idle keys
 * cost nothing.
 *
 * `refund` is best effort: while Redis is unavailable it is dropped, which can only leave
 * the limit stricter for a while, never looser.
 *
 * It also keeps a fleet's adaptive rate (`sharedAdaptation`): an AdaptiveRate over a
 * limiter on this store shares its adapted rate with every process using the same key.
 */
export class RedisStore implements RateStore, SharedAdaptationSource {
  private readonly prefix: string;
  private readonly policy: UnavailablePolicy;
  private readonly runner: ScriptRunner;
  private readonly callerClock: boolean;
  private readonly ttlFloor: string;
  private readonly startLagMs: number;
  private readonly local: MemoryStore | undefined;
  private readonly localShare: number;
  private readonly localSpecs = new WeakMap<readonly LimitSpec[], LimitSpec[]>();
  private readonly entries = new Map<string, Entry>();
  private readonly counters = { late: 0, unavailable: 0 };

  constructor(client: RedisClient, options: RedisStoreOptions = {}) {
    if (client === null || typeof client !== 'object' || typeof (client as { evalsha?: unknown }).evalsha !== 'function') {
      throw new ConfigError('client', client, 'must be an ioredis Redis or Cluster client');
    }
    this.prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
    this.policy = options.onUnavailable ?? 'wait';
    if (!['wait', 'reject', 'local'].includes(this.policy)) {
      throw new ConfigError('onUnavailable', options.onUnavailable, "must be 'wait', 'reject' or 'local'");
    }
    this.localShare = options.localShare ?? 1;
    if (this.policy === 'local') {
      if (options.localShare === undefined) throw new ConfigError('localShare', undefined, "is required with onUnavailable: 'local'");
      if (!(this.localShare > 0 && this.localShare <= 1)) throw new ConfigError('localShare', options.localShare, 'must be in (0, 1]');
      this.local = new MemoryStore();
    }
    const timeoutMs = options.timeoutMs ?? 1000;
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) throw new ConfigError('timeoutMs', options.timeoutMs, 'must be a finite number > 0');
    const maxRetryDelayMs = options.maxRetryDelayMs ?? 500;
    if (!(maxRetryDelayMs >= 25 && Number.isFinite(maxRetryDelayMs))) {
      throw new ConfigError('maxRetryDelayMs', options.maxRetryDelayMs, 'must be a finite number >= 25');
    }
    this.callerClock = options.unsafeCallerClockForTests === true;
    this.ttlFloor = this.callerClock ? String(TEST_TTL_FLOOR_MS) : '0';
    const startLagMs = options.startLagMs ?? (this.callerClock ? 0 : DEFAULT_START_LAG_MS);
    if (!(startLagMs >= 0 && Number.isFinite(startLagMs))) throw new ConfigError('startLagMs', options.startLagMs, 'must be a finite number >= 0');
    this.startLagMs = startLagMs;
    this.runner = new ScriptRunner(client, { timeoutMs, maxRetryDelayMs, deadlines: !this.callerClock });
  }

  reserve(key: string, limits: readonly LimitSpec[], cost: number, now: number): number | Promise<number> {
    return this.ask(key, limits, cost, now, 0);
  }

  private ask(key: string, limits: readonly LimitSpec[], cost: number, now: number, retries: number): number | Promise<number> {
    if (!this.runner.ready) return this.unavailable(key, limits, cost, now);
    const entry = this.entry(key, limits);
    const args = this.args(entry, cost, now);
    const onLate = (reply: string[]): void => {
      // Admitted after the caller gave up on it: give that start back.
      if (reply[0] === '0') void this.giveBack(key, limits, cost, now, String(redisTime(reply[1]!)));
    };
    return this.runner.run(entry.reserve, entry.keys.length, args, onLate).then((reply) => this.answer(reply, key, limits, cost, now, retries));
  }

  /**
   * `late`: admissions given back because their answer came later than startLagMs after
   * the decision; `unavailable`: requests Redis could not decide (answered by the policy).
   */
  stats(): { late: number; unavailable: number } {
    return { ...this.counters };
  }

  refund(key: string, limits: readonly LimitSpec[], cost: number, now: number): Promise<void> {
    return this.giveBack(key, limits, cost, now, '');
  }

  /**
   * The fleet's adaptation state for the limit of `key`: one hash, `prefix{key}:adapt`, next
   * to that limit's keys, on Redis's clock (or the caller's under unsafeCallerClockForTests).
   * AdaptiveRate picks it up by itself when its limiter uses this store. Unreachable Redis
   * makes it answer `undefined`, whatever `onUnavailable` says: adaptation then goes on
   * locally, and never waits or fails a request for it.
   */
  sharedAdaptation(key: string): SharedAdaptation {
    return new RedisSharedAdaptation(this.runner, `${taggedKey(this.prefix, key)}:adapt`, { callerClock: this.callerClock, ttlFloor: this.ttlFloor });
  }

  /** Refunds the start decided at Redis time `decidedAt` ('' = the newest start). */
  private giveBack(key: string, limits: readonly LimitSpec[], cost: number, now: number, decidedAt: string): Promise<void> {
    if (!this.runner.ready) return Promise.resolve();
    const entry = this.entry(key, limits);
    const args = this.args(entry, cost, now);
    args[entry.keys.length + 3] = decidedAt;
    return this.runner.run(entry.refund, entry.keys.length, args).then(
      () => undefined,
      () => undefined,
    );
  }

  private answer(reply: string[] | Unavailable, key: string, limits: readonly LimitSpec[], cost: number, now: number, retries: number): number | Promise<number> {
    if (reply === UNAVAILABLE) return this.unavailable(key, limits, cost, now);
    const wait = reply[0]!;
    if (wait === '0') {
      // Admitted — but if the answer reached us later than startLagMs after Redis decided
      // (a stalled event loop, a descheduled process), the start would land outside the
      // window it was counted in: give it back and ask again, here rather than through the
      // limiter's queue (a wait would send every later caller through it, one at a time).
      // Only where it can matter (reply[2] === '1': a sliding window is at least half full,
      // LATE_CHECK_FILL in lua/rate.ts): a window at most half full cannot be pushed over its
      // limit by a late start; checking there would only add load to a process already behind.
      const decidedAt = redisTime(reply[1]!);
      if (reply[2] !== '1' || this.runner.ageOfDecision(decidedAt) <= this.startLagMs) return 0;
      this.counters.late++;
      void this.giveBack(key, limits, cost, now, String(decidedAt));
      // Retried here: a wait would send this caller, and every later one, through the
      // limiter's queue. Past MAX_LATE_RETRIES the process is too stalled to start anything
      // on time, and it waits like any refused caller.
      return retries < MAX_LATE_RETRIES ? this.ask(key, limits, cost, now, retries + 1) : this.runner.retryDelay();
    }
    if (wait === 'inf') return Number.POSITIVE_INFINITY;
    // Never 0 (that would mean admitted): a wait already over asks again at once.
    return Math.max(MIN_WAIT_MS, this.runner.sinceDecision(Number(wait), redisTime(reply[1]!)));
  }

  private unavailable(key: string, limits: readonly LimitSpec[], cost: number, now: number): number | Promise<number> {
    this.counters.unavailable++;
    const delay = this.runner.retryDelay();
    switch (this.policy) {
      case 'wait':
        return delay;
      case 'reject':
        return Promise.reject(new StoreUnavailableError('Redis is unavailable; the rate limit cannot be decided', delay));
      case 'local': {
        const wait = this.local!.reserve(key, this.scaled(limits), cost, now);
        // Ask Redis again soon rather than sleep out a long local wait (or an infinite one,
        // for a cost above the local share).
        return wait === 0 ? 0 : Math.min(wait, delay);
      }
    }
  }

  /** The limits at `localShare`, for the local fallback; burst shrinks with the limit. */
  private scaled(limits: readonly LimitSpec[]): LimitSpec[] {
    let specs = this.localSpecs.get(limits);
    if (specs === undefined) {
      specs = limits.map((spec) => {
        const limit = spec.limit * this.localShare;
        return { ...spec, limit, burst: Math.max(1, Math.min(spec.burst, limit)) };
      });
      this.localSpecs.set(limits, specs);
    }
    return specs;
  }

  private args(entry: Entry, cost: number, now: number): string[] {
    const args = entry.keys.slice();
    // [now, deadline (filled in by the runner), cost, refund's decision time, ttl floor, ...limits]
    args.push(this.callerClock ? String(now) : '', '', String(cost), '');
    for (const value of entry.params) args.push(value);
    return args;
  }

  private entry(key: string, limits: readonly LimitSpec[]): Entry {
    const cached = this.entries.get(key);
    if (cached !== undefined && cached.specs === limits) return cached;
    if (this.entries.size >= MAX_CACHED_KEYS) this.entries.clear();
    if (limits.length > MAX_REDIS_LIMITS) throw new ConfigError('limits', limits.length, `must be at most ${MAX_REDIS_LIMITS} per request with a RedisStore`);
    const base = taggedKey(this.prefix, key);
    const sequence = sequenceOf(limits);
    // `2`: the second key layout (packed state, one key per limit); a key of the first (hashes,
    // a text log) is never read as one
    const keys = [...sequence].map((alg, i) => `${base}:${i}:${alg}2`);
    const params = paramArgs(limits, Number(this.ttlFloor), this.startLagMs);
    const entry = { specs: limits, keys, params, ...rateScripts(sequence) };
    this.entries.set(key, entry);
    return entry;
  }
}
