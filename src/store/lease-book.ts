import { ConfigError } from '../core/errors.js';

/** RedisStoreOptions.lease as a user writes it: `true` for the defaults, or some of them. */
export interface LeaseOptions {
  /**
   * How long after Redis granted a lease its permits may still be spent; unspent ones are
   * then given back. Every start is counted this much longer in a sliding window (see
   * docs/redis.md, Leased permits). Default 10 ms, at most the shortest limit's interval / 10.
   */
  periodMs?: number | undefined;
  /** A lease covers one round trip plus this many ms of the member's own demand. Default 5 ms. */
  demandMs?: number | undefined;
  /**
   * The most one lease may hold, as a share of the smallest limit (of its burst for GCRA):
   * a member that asks more than that gets no more. In (0, 1]; default 0.05.
   */
  maxShare?: number | undefined;
}

/** LeaseOptions with every default applied. */
export interface LeasePolicy {
  readonly periodMs: number;
  readonly demandMs: number;
  readonly maxShare: number;
}

const DEFAULT_PERIOD_MS = 10;
const DEFAULT_DEMAND_MS = 5;
const DEFAULT_MAX_SHARE = 0.05;
/**
 * What a member reports as its demand is its measured rate times this: a member is asking
 * for a little more than it spends, so that its report never reads as a member slowing down.
 */
const DEMAND_HEADROOM = 1.25;
/** The weight of the newest demand sample: a member that speeds up or slows down is followed within a few leases. */
const DEMAND_WEIGHT = 0.5;

/** Checks RedisStoreOptions.lease; undefined when leases are off. */
export function leasePolicy(lease: unknown): LeasePolicy | undefined {
  if (lease === undefined || lease === false) return undefined;
  if (lease === true) return { periodMs: DEFAULT_PERIOD_MS, demandMs: DEFAULT_DEMAND_MS, maxShare: DEFAULT_MAX_SHARE };
  if (lease === null || typeof lease !== 'object') throw new ConfigError('lease', lease, 'must be true, false or an object such as { periodMs: 10 }');
  const { periodMs = DEFAULT_PERIOD_MS, demandMs = DEFAULT_DEMAND_MS, maxShare = DEFAULT_MAX_SHARE } = lease as LeaseOptions;
  if (!(typeof periodMs === 'number' && periodMs > 0 && Number.isFinite(periodMs))) throw new ConfigError('lease.periodMs', periodMs, 'must be a finite number > 0');
  if (!(typeof demandMs === 'number' && demandMs >= 0 && Number.isFinite(demandMs))) throw new ConfigError('lease.demandMs', demandMs, 'must be a finite number >= 0');
  if (!(typeof maxShare === 'number' && maxShare > 0 && maxShare <= 1)) throw new ConfigError('lease.maxShare', maxShare, 'must be in (0, 1]');
  return { periodMs, demandMs, maxShare };
}

/**
 * The parts a lease of `units` is asked for in, largest first: each half of what is left,
 * rounded up. Decided one after another, each on its own, they take exactly
 * min(units, what is free) whole units: every part is at most one more than the parts after
 * it, so a refused part leaves room for the smaller ones to fill the rest.
 */
export function leaseParts(units: number): number[] {
  const parts: number[] = [];
  let left = Math.floor(units);
  while (left > 0) {
    const part = Math.ceil(left / 2);
    parts.push(part);
    left -= part;
  }
  return parts;
}

/** Permits granted at one decision: `units` left, spendable until `spendBy`, known by `at` (its decision time, for refunds). */
interface Lease {
  units: number;
  readonly at: number;
  readonly spendBy: number;
}

const NONE: readonly GiveBack[] = [];

/** Units to give back to the store, from the start decided at `at`. */
export interface GiveBack {
  readonly units: number;
  readonly at: number;
}

/**
 * LeaseBook: the permits one fleet member holds for one key — granted by the shared store in
 * batches, spent here without asking it. Pure: times are passed in, on whatever clock the
 * caller measures `spendBy` with.
 *
 * It never spends a permit after its lease's `spendBy` nor more than was granted; that, and
 * the store counting every start `periodMs` longer, is the whole of the fleet's guarantee
 * (docs/redis.md). The size of the next lease follows this member's own rate of spending —
 * one round trip plus `demandMs` of it, capped at `maxShare` of the limit — so a slow member
 * does not hoard what a busy one could use.
 */
export class LeaseBook {
  /** Leases not yet given back, oldest first. */
  private readonly leases: Lease[] = [];
  /** Units/ms this member spends, smoothed; 0 until measured. */
  private rate = 0;
  private spentSince = 0;
  /** When demand was last measured; NaN until the first lease is sized. */
  private measuredAt = Number.NaN;
  /** A lease has been asked for and not answered: ask for no other meanwhile. */
  pending = false;
  /**
   * The limit bound at the last answer: a lease got less than it asked for, or a caller was
   * refused. No lease is then asked for ahead of need (wantsRefill): it would be one more
   * script call per admission, most of them refused, racing the fleet's callers for the
   * slots the limit frees; leases still ride along with this member's own calls.
   */
  binding = false;

  constructor(
    private readonly policy: LeasePolicy,
    /** The most one lease holds: maxShare of the smallest limit, whole units, at least 1. */
    private readonly cap: number,
  ) {}

  /**
   * Spends `cost` from the oldest live lease that holds it; answers that lease's decision
   * time (the start's stamp), or NaN when none does — then the caller asks the store.
   */
  take(cost: number, now: number): number {
    for (const lease of this.leases) {
      if (lease.spendBy <= now) continue; // expired: given back by expired()
      if (lease.units >= cost) {
        lease.units -= cost;
        this.spentSince += cost;
        return lease.at;
      }
    }
    return Number.NaN;
  }

  /** Counts `cost` that this member started through the store itself, so the demand measured is all of it. */
  spentElsewhere(cost: number): void {
    this.spentSince += cost;
  }

  /**
   * How many units to ask for beyond the `asked` of callers going to the store now: what
   * this member will spend in one round trip (`rttMs`) plus demandMs, less what it still
   * holds, capped by the policy. 0 while another lease is pending or until demand is known.
   */
  extra(asked: number, now: number, rttMs: number): number {
    if (this.pending) return 0;
    const elapsed = now - this.measuredAt;
    if (Number.isNaN(elapsed)) {
      this.measuredAt = now;
    } else if (elapsed > 0) {
      const sample = this.spentSince / elapsed;
      this.rate = this.rate === 0 ? sample : this.rate + DEMAND_WEIGHT * (sample - this.rate);
      this.spentSince = 0;
      this.measuredAt = now;
    }
    let held = 0;
    for (const lease of this.leases) if (lease.spendBy > now) held += lease.units;
    const horizon = Math.min(this.policy.periodMs, rttMs + this.policy.demandMs);
    const want = Math.ceil(this.rate * horizon) - held - asked;
    return Math.max(0, Math.min(this.cap, want));
  }

  /**
   * Whether to ask for the next lease now, before this one runs out: what is held would
   * last no longer than a round trip at this member's rate, no lease is pending, and the
   * limit did not bind at the last answer. Asked for then, it arrives as the last permits
   * are spent, and a caller one after another never waits for Redis.
   */
  wantsRefill(now: number, rttMs: number): boolean {
    return !this.pending && !this.binding && this.rate > 0 && this.held(now) <= this.rate * rttMs;
  }

  /**
   * The demand this member reports for its fair share (units/ms): Infinity while the limit
   * binds for it (it was refused or got less than it asked for: it wants more than it gets),
   * else its measured rate with a little headroom.
   */
  demand(): number {
    return this.binding ? Number.POSITIVE_INFINITY : this.rate * DEMAND_HEADROOM;
  }

  /** Records a lease of `units` granted at decision time `at`, spendable until `spendBy`. */
  grant(units: number, at: number, spendBy: number): void {
    if (units > 0) this.leases.push({ units, at, spendBy });
  }

  /**
   * Removes the leases that expired by `now` and answers what they left unspent, to give
   * back. Called before every spend: when none has expired (nearly always) it allocates nothing.
   */
  expired(now: number): readonly GiveBack[] {
    if (!this.anyExpired(now)) return NONE;
    const back: GiveBack[] = [];
    for (let i = this.leases.length - 1; i >= 0; i--) {
      const lease = this.leases[i]!;
      if (lease.spendBy > now) continue;
      this.leases.splice(i, 1);
      if (lease.units > 0) back.push({ units: lease.units, at: lease.at });
    }
    return back;
  }

  /** Empties the book (closing): every lease's unspent units, to give back. */
  drain(): GiveBack[] {
    const back = this.leases.filter((lease) => lease.units > 0).map(({ units, at }) => ({ units, at }));
    this.leases.length = 0;
    return back;
  }

  private anyExpired(now: number): boolean {
    for (const lease of this.leases) if (lease.spendBy <= now) return true;
    return false;
  }

  /** Units held in live leases at `now`. */
  held(now: number): number {
    let held = 0;
    for (const lease of this.leases) if (lease.spendBy > now) held += lease.units;
    return held;
  }
}
