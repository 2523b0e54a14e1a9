import { capacityOf, type LimitSpec } from '../algorithms/limit-spec.js';
import type { SharedAdaptation, SharedAdaptationSource } from './shared-adaptation.js';
import { randomBytes } from 'node:crypto';
import { ConfigError, StoreUnavailableError } from '../core/errors.js';
import {
  isAdmitted,
  limitParams,
  MAX_REDIS_LIMITS,
  mustCheckLate,
  rateScripts,
  decisionTime,
  item,
  itemCount,
  chargeArgv,
  refundArgv,
  reserveArgv,
  reserveManyArgv,
  reserveSharedArgv,
  sequenceOf,
  waitOf,
  type RateArgs,
  type RateReply,
  type RateScripts,
  type ShareArgs,
} from './lua/rate.js';
import type { Script } from './lua/script.js';
import { LeaseBook, leaseParts, leasePolicy, type GiveBack, type LeaseOptions, type LeasePolicy } from './lease-book.js';
import { MemoryStore } from './memory.js';
import { RedisSharedAdaptation } from './redis-adaptation.js';
import { checkPrefix, DEFAULT_PREFIX, taggedKey } from './redis-keys.js';
import { redisTime, ScriptRunner, UNAVAILABLE, type RedisClient } from './redis-runner.js';
import type { RateStore, StartStamp } from './store.js';

/** What a RedisStore does while Redis cannot decide (see RedisStoreOptions.onUnavailable). */
export type UnavailablePolicy = 'wait' | 'reject' | 'local';

export interface RedisStoreOptions {
  /** Prepended to every key, e.g. `'myapp:rl:'`. Default `'sluice:'`. No `{` or `}`. */
  prefix?: string | undefined;
  /**
   * While Redis is unreachable, slow, or failing over:
   * - `'wait'` (default): answer "ask again in a moment" (a growing, capped, jittered
   *   delay); the limiter retries then. Nothing starts without Redis's decision.
   * - `'reject'`: fail the call with StoreUnavailableError (its `retryAfterMs` is the delay).
   * - `'local'`: decide in this process against the same limits scaled by `localShare`,
   *   until Redis answers again.
   */
  onUnavailable?: UnavailablePolicy | undefined;
  /**
   * With `'local'`: the share of each limit this process may use alone, in (0, 1]; set it
   * to 1 / (number of processes) to keep the fleet within the limit during an outage.
   */
  localShare?: number | undefined;
  /**
   * How late after Redis's decision a start may happen — reply travel plus event-loop
   * delay. Sliding windows count each start for `interval + startLagMs`, and an admission
   * whose answer arrives later than that is given back and asked again, so no window of
   * the callers' own start times holds more than the limit. Costs about
   * startLagMs / interval of the rate. Default 10 ms; 0 under unsafeCallerClockForTests,
   * where time is virtual.
   */
  startLagMs?: number | undefined;
  /**
   * Leased permits: `true` or LeaseOptions. Each Redis call of a key also takes a batch of
   * permits from the shared limit (debited there at once), which this process then spends
   * without asking Redis: one round trip plus a few ms of this process's own demand, at most
   * `maxShare` of the limit; unspent ones are given back when their lease period ends or on
   * `close()`. Every start is then counted `lease.periodMs` longer in sliding windows. The
   * fleet's members then also share a binding limit max-min fairly, each reporting its demand
   * (docs/redis.md, Leased permits). Default off: one Redis call per tick.
   */
  lease?: boolean | LeaseOptions | undefined;
  /** How long one request may take before Redis counts as unavailable for it. Default 1000 ms. */
  timeoutMs?: number | undefined;
  /** The cap on the retry delay while Redis is unavailable. Default 500 ms. */
  maxRetryDelayMs?: number | undefined;
  /**
   * Tests only: decide on the `now` the limiter passes (its Clock, e.g. a ManualClock)
   * instead of Redis `TIME`, and give keys at least a minute of TTL since virtual time and
   * Redis's expiry clock are unrelated. Never set it in production: client clocks differ.
   */
  unsafeCallerClockForTests?: boolean | undefined;
}

interface Entry extends RateScripts {
  key: string;
  specs: readonly LimitSpec[];
  /** The keys of every limit, in the order the scripts read them. */
  keys: string[];
  /** What every rate script's ARGV begins with, on Redis TIME: `now` '', the TTL floor, every limit's numbers (limitParams). */
  rate: RateArgs;
  /** Requests made in this tick, sent together when it ends (see `reserve`). */
  batch: Ask[] | undefined;
  /** This process's leased permits for the key (RedisStoreOptions.lease), else undefined. */
  book: LeaseBook | undefined;
  /**
   * A lease asked for ahead of need (refill), until its answer is in: callers the leases
   * held could not cover wait for it rather than make a round trip of their own, which would
   * arrive after it and carry no lease (one is pending).
   */
  refilling: Promise<void> | undefined;
  /**
   * How long after Redis decided a leased permit may be spent: the lease period (capped at a
   * tenth of the shortest interval). Each start of the key is counted startLagMs longer than
   * that: the same margin as an admission's, for the moment between the check and the start.
   */
  leasePeriodMs: number;
  /** With leases: `keys` and then the members' HASH, for reserve-shared (lua/fair-share.ts). */
  sharedKeys: string[];
  /** With leases: this member's share settings; `demand` is set before each call (manyCall). */
  share: Omit<ShareArgs, 'demand'> & { demand: number };
}

/** One `reserve` waiting for its batch to be sent. */
interface Ask {
  cost: number;
  now: number;
  stamp: StartStamp | undefined;
  retries: number;
  resolve: (wait: number | Promise<number>) => void;
  reject: (error: unknown) => void;
}

/** Cached key layouts; cleared whole when full (rebuilding one costs a few string concatenations). */
const MAX_CACHED_KEYS = 10_000;
/** See RedisStoreOptions.startLagMs: covers loopback or LAN travel and a busy event loop. */
const DEFAULT_START_LAG_MS = 10;
/** How often a late admission is given back and asked again before the caller is told to wait. */
const MAX_LATE_RETRIES = 50;
/**
 * A member's pacer runs at its fair share times this (lua/fair-share.ts): a greedy member gets
 * at most a quarter more than its share while others want theirs, and what a member misses
 * (a stall, a late timer) the others can take. The limit itself stays exact.
 */
const SHARE_HEADROOM = 1.25;
/** Most requests in one reserveMany call; a tick with more sends several. */
const MAX_BATCH = 128;
/** The least wait reported: 0 would mean "admitted". */
const MIN_WAIT_MS = 0.001;
/** TTL floor under unsafeCallerClockForTests. */
const TEST_TTL_FLOOR_MS = 60_000;
/** Each part's key layout version, by its letter (lua/rate.ts's sequence); see `entry`. */
const KEY_VERSION: Record<string, number> = { g: 3, s: 3, f: 2, w: 2 };

/**
 * RedisStore: limit state shared by every process that uses the same Redis and prefix.
 *
 * Each `reserve` is one EVALSHA that decides every limit of the request atomically with
 * the same math as MemoryStore, on Redis's clock; the reserves of one tick share one
 * (reserveMany). Keys: `prefix{key}:i:g2|s3|f2` per limit, `w2` for a limit's smoothing (the
 * `{key}` hash tag keeps a limiter's keys in one Cluster slot; the key is escaped, see
 * encodeKeyPart), each with a TTL that ends when its state is back to fresh — idle keys
 * cost nothing.
 *
 * A start is known by its decision's Redis time (the stamp `reserve` sets): `refund` and
 * `charge` at that time act on that start, whatever other processes started since.
 * `refund` is best effort: while Redis is unavailable it is dropped, which can only leave
 * the limit stricter for a while, never looser. `charge` is not: it rejects when Redis
 * cannot record it (StoreUnavailableError), so the caller knows the limit undercounts.
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
  private readonly counters = { late: 0, unavailable: 0, leased: 0, returned: 0 };
  private readonly lease: LeasePolicy | undefined;
  /** Under unsafeCallerClockForTests: the latest `now` a caller passed, for giving leases back outside a call. */
  private latestNow = 0;
  /** This store's name among the fleet's members (fair shares, with leases). */
  private readonly member = randomBytes(6).toString('base64url');

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
    this.lease = leasePolicy(options.lease);
    this.runner = new ScriptRunner(client, { timeoutMs, maxRetryDelayMs, deadlines: !this.callerClock });
  }

  /**
   * Decides `cost` for `key`. Requests made in the same tick for the same key and limits
   * travel together as one script call (reserveMany) that decides each in order, as if
   * sent one after another: one round trip, one script and one `TIME` for the lot.
   */
  reserve(key: string, limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp): number | Promise<number> {
    if (this.lease !== undefined && this.runner.ready) {
      this.leaseNow(now); // under unsafeCallerClockForTests: what entry() gives back leases at, if it must
      const at = this.spendLeased(this.entry(key, limits), cost, now);
      if (!Number.isNaN(at)) {
        if (stamp !== undefined) stamp.at = at;
        return 0;
      }
    }
    return this.ask(key, limits, cost, now, stamp, 0);
  }

  /**
   * RateStore.spendHeld: `cost` from this process's leases of `key`, now, or false (no
   * leases, Redis not ready, or none holds it). The limiter's path for a caller nobody waits
   * ahead of: no promise, no queue turn.
   */
  spendHeld(key: string, limits: readonly LimitSpec[], cost: number, now: number, stamp?: StartStamp): boolean {
    if (this.lease === undefined || !this.runner.ready) return false;
    const at = this.spendLeased(this.entry(key, limits), cost, now);
    if (Number.isNaN(at)) return false;
    if (stamp !== undefined) stamp.at = at;
    return true;
  }

  /**
   * Spends `cost` from this process's leases of `entry`, giving back the leases that
   * expired first: the lease's decision time (the start's stamp), or NaN when no live lease
   * holds `cost`.
   */
  private spendLeased(entry: Entry, cost: number, now: number): number {
    const book = entry.book!;
    const t = this.leaseNow(now);
    for (const back of book.expired(t)) this.giveBackLease(entry, back, now);
    const at = book.take(cost, t);
    if (!Number.isNaN(at)) {
      this.counters.leased++;
      if (book.wantsRefill(t, this.runner.rttMs)) this.refill(entry, now);
    }
    return at;
  }

  /** Asks for the next lease of `entry` ahead of need, with no caller's request in the call (LeaseBook.wantsRefill). */
  private refill(entry: Entry, now: number): void {
    const parts = this.leaseAsk(entry, 0, now);
    if (parts.length === 0) return;
    const call = this.manyCall(entry, now, '', parts);
    entry.refilling = this.runner.run(call.script, call.keys, call.argv, this.giveBackLate(entry, parts, now)).then(
      (reply) => {
        entry.refilling = undefined;
        if (reply === UNAVAILABLE) entry.book!.pending = false;
        else this.grantLease(entry, reply, parts, 0, now);
      },
      () => {
        entry.refilling = undefined;
        entry.book!.pending = false;
      },
    );
  }

  /** The time leases are judged on: the caller's under unsafeCallerClockForTests, else this process's. */
  private leaseNow(now: number): number {
    if (!this.callerClock) return this.runner.now();
    if (now > this.latestNow) this.latestNow = now;
    return now;
  }

  /**
   * Records the lease parts `reply` admitted (items from `from` on) in `entry`'s book:
   * spendable until the lease period has passed since Redis decided, measured as `isLate`
   * does (never less than the truth). A lease already past that (a late reply) is given back
   * at once.
   */
  private grantLease(entry: Entry, reply: RateReply, parts: readonly number[], from: number, now: number): void {
    const book = entry.book!;
    book.pending = false;
    let units = 0;
    for (let i = 0; i < parts.length && from + i < itemCount(reply); i++) if (isAdmitted(item(reply, from + i))) units += parts[i]!;
    book.binding = units < sum(parts);
    if (units === 0) return;
    const at = redisTime(decisionTime(reply));
    const t = this.leaseNow(now);
    const spendBy = this.callerClock ? at + entry.leasePeriodMs : t + entry.leasePeriodMs - this.runner.ageOfDecision(at);
    if (spendBy <= t) this.giveBackLease(entry, { units, at }, now);
    else book.grant(units, at, spendBy);
  }

  private giveBackLease(entry: Entry, back: GiveBack, now: number): void {
    this.counters.returned += back.units;
    void this.giveBack(entry, back.units, now, back.at);
  }

  /**
   * The reserveMany call deciding `costs` for `entry`: with leases its shared variant, which
   * carries this member's demand as its book measures it now and paces it at its fair share
   * (lua/fair-share.ts); without, the plain one.
   */
  private manyCall(entry: Entry, now: number, order: 'fifo' | '' | number, costs: readonly number[]): { script: Script; keys: string[]; argv: string[] } {
    if (entry.book === undefined) return { script: entry.reserveMany, keys: entry.keys, argv: reserveManyArgv(this.rateArgs(entry, now), order, costs) };
    entry.share.demand = entry.book.demand();
    return { script: entry.reserveShared, keys: entry.sharedKeys, argv: reserveSharedArgv(this.rateArgs(entry, now), order, entry.share, costs) };
  }

  /** The lease parts to ask for with `asked` units of callers' requests (none without leases, or while one is pending). */
  private leaseAsk(entry: Entry, asked: number, now: number): number[] {
    const book = entry.book;
    if (book === undefined) return NO_PARTS;
    book.spentElsewhere(asked);
    const parts = leaseParts(book.extra(asked, this.leaseNow(now), this.runner.rttMs));
    if (parts.length > 0) book.pending = true;
    return parts;
  }

  /**
   * Gives back the unspent permits of every lease this process holds, so the fleet may use
   * them at once rather than when they expire. Leases are asked for again by the next
   * request. Does not close the client. Resolves when Redis has them (or could not be reached:
   * they then expire with their window). `now`: under unsafeCallerClockForTests only, the
   * caller's clock (default the latest `now` this store was given) — a give-back decided at a
   * stale instant would return a start that has already left its window.
   */
  async close(now?: number): Promise<void> {
    const at = now === undefined ? this.latestNow : this.leaseNow(now);
    const done: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      if (entry.book === undefined) continue;
      for (const back of entry.book.drain()) done.push(this.giveBack(entry, back.units, at, back.at));
    }
    await Promise.all(done);
  }

  /**
   * For a queue served in order (RateLimiter): decides `costs` one after another in one call
   * and stops at the first that must wait. Answers 0 for each admitted, then that one's
   * wait; nothing is recorded for the requests after it.
   */
  reserveInOrder(key: string, limits: readonly LimitSpec[], costs: readonly number[], now: number, stamps?: readonly (StartStamp | undefined)[]): Promise<number[]> {
    if (!this.runner.ready) return this.unavailableInOrder(key, limits, costs, now, stamps);
    if (this.lease !== undefined) this.leaseNow(now); // as in reserve
    const entry = this.entry(key, limits);
    // Leased permits first, in order; the first caller they do not cover, and all after it, ask Redis.
    const waits: number[] = [];
    if (entry.book !== undefined) {
      while (waits.length < costs.length) {
        const at = this.spendLeased(entry, costs[waits.length]!, now);
        if (Number.isNaN(at)) break;
        const stamp = stamps?.[waits.length];
        if (stamp !== undefined) stamp.at = at;
        waits.push(0);
      }
      if (waits.length === costs.length) return Promise.resolve(waits);
      if (entry.refilling !== undefined) {
        // The next lease is on its way: the rest start on it (or ask then), with no round trip of their own.
        const from = waits.length;
        return entry.refilling.then(() => this.reserveInOrder(key, limits, costs.slice(from), now, stamps?.slice(from))).then((rest) => (from === 0 ? rest : [...waits, ...rest]));
      }
    }
    const from = waits.length;
    const asked = from === 0 ? costs : costs.slice(from);
    const parts = this.leaseAsk(entry, sum(asked), now);
    const sent = parts.length === 0 ? asked : [...asked, ...parts];
    const call = this.manyCall(entry, now, parts.length === 0 ? 'fifo' : asked.length, sent);
    const sentAt = this.runner.now();
    return this.runner.run(call.script, call.keys, call.argv, this.giveBackLate(entry, sent, now)).then((reply) => {
      if (entry.book !== undefined) entry.book.pending = false;
      if (reply === UNAVAILABLE) return this.unavailableInOrder(key, limits, asked, this.nowAfter(now, sentAt), stamps?.slice(from)).then((rest) => [...waits, ...rest]);
      for (let i = 0; i < asked.length; i++) {
        if (i >= itemCount(reply)) return waits; // cannot happen: a refusal answers an item
        const answer = item(reply, i);
        if (!isAdmitted(answer)) {
          if (entry.book !== undefined) entry.book.binding = true;
          waits.push(this.refusal(answer, decisionTime(reply)));
          return waits;
        }
        if (mustCheckLate(answer) && this.isLate(decisionTime(reply))) {
          // A late answer (see answer()): the rest of this batch, and its lease, are as late;
          // give them back and let the queue ask again at once.
          this.counters.late++;
          void this.giveBack(entry, admittedCost(reply, sent, i), now, redisTime(decisionTime(reply)));
          waits.push(MIN_WAIT_MS);
          return waits;
        }
        const stamp = stamps?.[from + i];
        if (stamp !== undefined) stamp.at = redisTime(decisionTime(reply));
        waits.push(0);
      }
      if (parts.length > 0) this.grantLease(entry, reply, parts, asked.length, now);
      else if (entry.book !== undefined) entry.book.binding = false; // every caller started
      return waits;
    });
  }

  private ask(key: string, limits: readonly LimitSpec[], cost: number, now: number, stamp: StartStamp | undefined, retries: number): number | Promise<number> {
    if (!this.runner.ready) return this.unavailable(key, limits, cost, now, stamp);
    const entry = this.entry(key, limits);
    return new Promise((resolve, reject) => {
      let batch = entry.batch;
      // On a caller's clock (tests) one call decides at one instant: another instant starts another call.
      if (batch !== undefined && (batch.length >= MAX_BATCH || (this.callerClock && batch[0]!.now !== now))) {
        this.send(entry, batch);
        batch = undefined;
      }
      if (batch === undefined) {
        batch = entry.batch = [];
        // After every promise reaction queued now has run: callers resumed by one reply ask again in this tick.
        process.nextTick(this.flush, entry);
      }
      batch.push({ cost, now, stamp, retries, resolve, reject });
    });
  }

  private readonly flush = (entry: Entry): void => {
    const batch = entry.batch;
    if (batch !== undefined) this.send(entry, batch);
  };

  private send(entry: Entry, batch: Ask[]): void {
    if (entry.batch === batch) entry.batch = undefined;
    if (!this.runner.ready) {
      for (const ask of batch) ask.resolve(this.unavailable(entry.key, entry.specs, ask.cost, ask.now, ask.stamp));
      return;
    }
    const now = batch[0]!.now;
    const parts = this.leaseAsk(entry, batch.reduce((total, ask) => total + ask.cost, 0), now);
    if (batch.length === 1 && entry.book === undefined) {
      const ask = batch[0]!;
      const argv = reserveArgv(this.rateArgs(entry, ask.now), ask.cost);
      const sentAt = this.runner.now();
      this.runner.run(entry.reserve, entry.keys, argv, this.giveBackLate(entry, [ask.cost], ask.now)).then((reply) => {
        if (reply === UNAVAILABLE) {
          ask.resolve(this.unavailable(entry.key, entry.specs, ask.cost, this.nowAfter(ask.now, sentAt), ask.stamp));
        } else {
          ask.resolve(this.answer(item(reply, 0), decisionTime(reply), entry, ask));
        }
      }, ask.reject);
      return;
    }
    const costs = batch.map((ask) => ask.cost);
    if (parts.length > 0) costs.push(...parts);
    const call = this.manyCall(entry, now, '', costs);
    const sentAt = this.runner.now();
    this.runner.run(call.script, call.keys, call.argv, this.giveBackLate(entry, costs, now)).then(
      (reply) => {
        if (reply === UNAVAILABLE) {
          if (entry.book !== undefined) entry.book.pending = false;
          for (const ask of batch) ask.resolve(this.unavailable(entry.key, entry.specs, ask.cost, this.nowAfter(ask.now, sentAt), ask.stamp));
          return;
        }
        // The lease first: a caller sent back to ask again (a late answer) may then spend from it.
        if (parts.length > 0) this.grantLease(entry, reply, parts, batch.length, now);
        if (entry.book !== undefined) {
          // Binding at this answer: a caller was refused, or the lease got less than it asked for.
          let refused = false;
          for (let i = 0; i < batch.length && !refused; i++) refused = !isAdmitted(item(reply, i));
          entry.book.binding = refused || (parts.length > 0 && entry.book.binding);
        }
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(this.answer(item(reply, i), decisionTime(reply), entry, batch[i]!));
      },
      (error: unknown) => {
        if (entry.book !== undefined) entry.book.pending = false;
        for (const ask of batch) ask.reject(error);
      },
    );
  }

  /** For a reply that came after its callers gave up (`costs`: one per request sent): give back what it admitted. */
  private giveBackLate(entry: Entry, costs: readonly number[], now: number): (reply: string[]) => void {
    return (reply) => {
      const back = admittedCost(reply, costs, 0);
      if (back > 0) void this.giveBack(entry, back, now, redisTime(decisionTime(reply)));
    };
  }

  /**
   * `late`: admissions given back because their answer came later than startLagMs after
   * the decision; `unavailable`: requests Redis could not decide (answered by the policy);
   * `leased`: admissions spent from a lease, with no Redis call; `returned`: leased units
   * given back unspent (their period ended first, the entry was dropped; not close()).
   */
  stats(): { late: number; unavailable: number; leased: number; returned: number } {
    return { ...this.counters };
  }

  refund(key: string, limits: readonly LimitSpec[], cost: number, now: number, at?: number): Promise<void> {
    // NaN: admitted by the local fallback, never recorded in Redis (StartStamp)
    if (!this.runner.ready || Number.isNaN(at)) return Promise.resolve();
    return this.giveBack(this.entry(key, limits), cost, now, at);
  }

  /**
   * RateStore.charge: `cost` used by the start decided at Redis time `at` (undefined or NaN:
   * usage of the moment, counted from Redis's now). Sent without a staleness deadline — a
   * charge that runs late is still true — and rejected with StoreUnavailableError when Redis
   * cannot take it: dropped, it would leave the fleet's limit below what was really used.
   */
  async charge(key: string, limits: readonly LimitSpec[], cost: number, now: number, at?: number): Promise<void> {
    const unavailable = (): StoreUnavailableError =>
      new StoreUnavailableError(`Redis is unavailable; ${cost} units used were not recorded`, this.runner.retryDelay());
    if (!this.runner.ready) throw unavailable();
    const entry = this.entry(key, limits);
    const argv = chargeArgv(this.rateArgs(entry, now), cost, at === undefined || Number.isNaN(at) ? undefined : at);
    const reply = await this.runner.run(entry.charge, entry.keys, argv, undefined, false);
    if (reply === UNAVAILABLE) throw unavailable();
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

  /** Refunds the start decided at Redis time `decidedAt` (undefined: the newest start). */
  private giveBack(entry: Entry, cost: number, now: number, decidedAt: number | undefined): Promise<void> {
    if (!this.runner.ready) return Promise.resolve();
    const argv = refundArgv(this.rateArgs(entry, now), cost, decidedAt);
    return this.runner.run(entry.refund, entry.keys, argv).then(
      () => undefined,
      () => undefined,
    );
  }

  /** One request's answer: `answer` an item as the rate scripts give it (lua/rate.ts), `decidedAt` the reply's Redis time. */
  private answer(answer: string, decidedAt: string, entry: Entry, ask: Ask): number | Promise<number> {
    if (isAdmitted(answer)) {
      // Admitted — but if the answer reached us later than startLagMs after Redis decided
      // (a stalled event loop, a descheduled process), the start would land outside the
      // window it was counted in: give it back and ask again, here rather than through the
      // limiter's queue (a wait would send every later caller through it, one at a time).
      // Only where it can matter ('0!': a sliding window is at least half full,
      // LATE_CHECK_FILL in lua/rate.ts): a window at most half full cannot be pushed over its
      // limit by a late start; checking there would only add load to a process already behind.
      if (!mustCheckLate(answer) || !this.isLate(decidedAt)) {
        if (ask.stamp !== undefined) ask.stamp.at = redisTime(decidedAt);
        return 0;
      }
      this.counters.late++;
      void this.giveBack(entry, ask.cost, ask.now, redisTime(decidedAt));
      // Retried here: a wait would send this caller, and every later one, through the
      // limiter's queue. Past MAX_LATE_RETRIES the process is too stalled to start anything
      // on time, and it waits like any refused caller.
      return ask.retries < MAX_LATE_RETRIES ? this.ask(entry.key, entry.specs, ask.cost, ask.now, ask.stamp, ask.retries + 1) : this.runner.retryDelay();
    }
    return this.refusal(answer, decidedAt);
  }

  private isLate(decidedAt: string): boolean {
    return this.runner.ageOfDecision(redisTime(decidedAt)) > this.startLagMs;
  }

  /** A refusal's wait, measured from now rather than from Redis's decision. */
  private refusal(answer: string, decidedAt: string): number {
    const wait = waitOf(answer);
    if (wait === Number.POSITIVE_INFINITY) return wait;
    // Never 0 (that would mean admitted): a wait already over asks again at once.
    return Math.max(MIN_WAIT_MS, this.runner.sinceDecision(wait, redisTime(decidedAt)));
  }

  /**
   * The caller's `now`, moved on by the time a request sent at `sentAt` (this process's
   * clock) took to be given up: a start the 'local' policy admits then happens now, not when
   * the caller asked, and the local window must count it where it happens — counted at the
   * ask, a start made after a timeout of `timeoutMs` left the local window early, and a fleet
   * started more than its shares in one window (test/store/redis/failover.test.ts). Virtual
   * time (unsafeCallerClockForTests) is the caller's alone and is left as it is.
   */
  private nowAfter(now: number, sentAt: number): number {
    return this.callerClock ? now : now + Math.max(0, this.runner.now() - sentAt);
  }

  /** reserveInOrder while Redis cannot decide: the policy's answer for the first request. */
  private unavailableInOrder(
    key: string,
    limits: readonly LimitSpec[],
    costs: readonly number[],
    now: number,
    stamps: readonly (StartStamp | undefined)[] | undefined,
  ): Promise<number[]> {
    const waits: number[] = [];
    for (const [i, cost] of costs.entries()) {
      const wait = this.unavailable(key, limits, cost, now, stamps?.[i]);
      if (typeof wait !== 'number') return wait.then((w) => [...waits, w]);
      waits.push(wait);
      if (wait !== 0) break;
    }
    return Promise.resolve(waits);
  }

  private unavailable(key: string, limits: readonly LimitSpec[], cost: number, now: number, stamp: StartStamp | undefined): number | Promise<number> {
    this.counters.unavailable++;
    // Whatever is admitted here is not in Redis: a refund of it gives nothing back there.
    if (stamp !== undefined) stamp.at = Number.NaN;
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

  /** What every rate script's ARGV begins with, for `entry` at `now`: on Redis TIME the same every call. */
  private rateArgs(entry: Entry, now: number): RateArgs {
    return this.callerClock ? { ...entry.rate, now: String(now) } : entry.rate;
  }

  /** RateStore.checkLimits: at most 12 limits per request, a limit with smooth counting twice. */
  checkLimits(limits: readonly LimitSpec[]): void {
    if (sequenceOf(limits).length > MAX_REDIS_LIMITS) {
      throw new ConfigError('limits', limits.length, `must be at most ${MAX_REDIS_LIMITS} per request with a RedisStore (a limit with smooth counts twice)`);
    }
  }

  /** Forgets every cached key layout (the cache is full), giving back their leases first. */
  private forgetEntries(): void {
    for (const entry of this.entries.values()) if (entry.book !== undefined) for (const back of entry.book.drain()) this.giveBackLease(entry, back, this.latestNow);
    this.entries.clear();
  }

  private entry(key: string, limits: readonly LimitSpec[]): Entry {
    const cached = this.entries.get(key);
    if (cached !== undefined && cached.specs === limits) return cached;
    if (this.entries.size >= MAX_CACHED_KEYS) this.forgetEntries();
    const sequence = sequenceOf(limits);
    this.checkLimits(limits);
    const base = taggedKey(this.prefix, key);
    // `2`: the second key layout (packed state, one key per limit); a key of the first (hashes,
    // a text log) is never read as one. Sliding windows are at `3` (bucketed log, a 7-double
    // header; lua/sliding-window.ts), and so is GCRA (its newest start kept; lua/gcra.ts), so
    // a version-2 state is never read as one either
    const keys = [...sequence].map((alg, i) => `${base}:${i}:${alg}${KEY_VERSION[alg]}`);
    // A leased permit may start up to the lease period after Redis decided: counted that much longer.
    const leasePeriodMs = this.lease === undefined ? 0 : Math.min(this.lease.periodMs, ...limits.map((spec) => spec.intervalMs / 10));
    const rate: RateArgs = { now: '', ttlFloor: this.ttlFloor, params: limitParams(limits, this.startLagMs + leasePeriodMs) };
    const book = this.lease === undefined ? undefined : new LeaseBook(this.lease, leaseCap(limits, this.lease.maxShare));
    // Fair shares: the fleet shares the smallest limit's rate; a member's pacer has two lease
    // periods of slack (a lease and the next; more lets a greedy member's leases grow past
    // what it spends in a period, and the units it gives back unspent are slots the fleet
    // lost meanwhile: bench/fleet.bench.ts, shift); a member silent for a lease period after
    // it said it would ask again counts as gone.
    const capacity = Math.min(...limits.map((spec) => spec.limit / spec.intervalMs));
    const share = { member: this.member, demand: 0, capacity, headroom: SHARE_HEADROOM, shareTol: 2 * leasePeriodMs, keepMs: leasePeriodMs };
    const sharedKeys = [...keys, `${base}:members1`];
    const entry: Entry = { key, specs: limits, keys, rate, batch: undefined, book, refilling: undefined, leasePeriodMs, sharedKeys, share, ...rateScripts(sequence) };
    if (cached?.book !== undefined) for (const back of cached.book.drain()) this.giveBackLease(cached, back, this.latestNow);
    this.entries.set(key, entry);
    return entry;
  }
}

/** The cost of the requests `reply` admitted, from the `from`th on (`costs`: one per request sent). */
function admittedCost(reply: RateReply, costs: readonly number[], from: number): number {
  let back = 0;
  for (let i = from; i < itemCount(reply); i++) if (isAdmitted(item(reply, i))) back += costs[i]!;
  return back;
}

const NO_PARTS: number[] = [];

function sum(costs: readonly number[]): number {
  let total = 0;
  for (const cost of costs) total += cost;
  return total;
}

/** The most one lease may hold: `maxShare` of the smallest limit's capacity (GCRA: its burst), in whole units, at least 1. */
function leaseCap(limits: readonly LimitSpec[], maxShare: number): number {
  return Math.max(1, Math.floor(maxShare * Math.min(...limits.map(capacityOf))));
}
