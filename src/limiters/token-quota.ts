import { RateLimiter } from './rate-limiter.js';
import { systemClock, type Clock } from '../core/clock.js';
import { parseRate, type RateInput } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { untilAborted } from '../core/until-aborted.js';

/** What reserving tokens for one call gave: its estimate, to correct once the usage is known. */
export interface TokenReservation {
  readonly estimate: number;
  /** Order of admission: a refund is exact only while no later reservation was admitted. */
  readonly seq: number;
  /** The first call, made alone: its tokens are counted from its answer (see TokenQuota). */
  readonly first: boolean;
}

export interface TokenQuotaOptions {
  /** Tokens per window: `'10000/1m'`, several (`['10000/1m', '1000000/1d']`), or a RateLimiter to share. */
  tokens: RateInput | readonly RateInput[] | RateLimiter;
  /** Each window given as a rate is made this much longer, against jitter between ours and the server's. Default 0.02. */
  margin?: number;
  /**
   * The first call goes alone and is counted from its answer (see the class comment). Every
   * reservation must then be settled, or the callers after the first wait for ever.
   * Default false; llmFetch, which settles every attempt, turns it on.
   */
  firstCallAlone?: boolean;
  clock?: Clock;
}

/**
 * TokenQuota: a token budget (TPM) that is reserved before a call and corrected after it.
 * `reserve(estimate)` waits until the window has room for the estimate and takes it;
 * `settle(reservation, used)` gives back an over-estimate (`RateLimiter.refund`) or records
 * an under-estimate (`RateLimiter.charge`), so the window holds what was really used — as
 * the server's does — and the next call is not held back by tokens nobody spent. `used`
 * undefined keeps the estimate (usage unknown); 0 gives it all back (a refused call).
 *
 * A refund is made only while no later call has been admitted: `RateLimiter.refund` takes
 * from the newest start, so refunding an older call would move its tokens forward in time
 * — our window would then free them before the server's does and could overrun it. Such a
 * refund is skipped (the safe side; counted in `skippedRefunds`). A charge is always safe:
 * it counts the tokens later than they were really used.
 *
 * With `firstCallAlone`, the first call goes alone, and its tokens are counted from its
 * answer rather than its start: a first request on a cold connection and code path can reach the server tens of
 * milliseconds after it left — longer than the window's margin — so the server would still
 * count its tokens after ours had let them go (BENCHMARKS.md, LLM endpoint, cold). Alone, it
 * is the newest start when its answer comes, so its tokens move exactly: all refunded, what
 * it used charged at that instant. The other callers wait for that answer (one round trip,
 * once); a first call that fails before being admitted lets the next one go first instead.
 */
export class TokenQuota {
  readonly limiter: RateLimiter;
  private seq = 0;
  private skipped = 0;
  /** Whether the first call has been answered; until then calls go one at a time (firstCallAlone). */
  private warm: boolean;
  /** Settles when the call going first is answered (or fails before admission). */
  private firstCall: Promise<void> | undefined;
  private releaseFirst: (() => void) | undefined;

  constructor(options: TokenQuotaOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    this.warm = options.firstCallAlone !== true;
    const margin = options.margin ?? 0.02;
    if (typeof margin !== 'number' || !(margin >= 0 && margin < 1)) throw new ConfigError('margin', margin, 'must be in [0, 1)');
    const tokens = options.tokens;
    if (tokens instanceof RateLimiter) this.limiter = tokens;
    else {
      const list: readonly RateInput[] = Array.isArray(tokens) ? tokens : [tokens as RateInput];
      const rates = list.map((rate, i) => withMargin(rate, margin, Array.isArray(tokens) ? `tokens[${i}]` : 'tokens'));
      const shortest = Math.min(...rates.map((r) => r.interval));
      // A start may be up to 2 % of the window (at most 50 ms) late and keep its turn: a call's
      // tokens come in one lump, and a pacer that restarts from every late timer loses the
      // lateness on each call, a share of the TPM that grows with the machine's load
      // (BENCHMARKS.md, LLM endpoint). No burst: spaced calls are answered before the next
      // starts, so refunds stay exact.
      const limits = rates.map((rate) => (rate.interval === shortest ? { rate, slack: Math.min(50, rate.interval / 50) } : rate));
      this.limiter = new RateLimiter({ limits, clock: options.clock ?? systemClock });
    }
  }

  /** Waits for room for `estimate` tokens and takes it. Rejects with the signal's reason on abort. */
  async reserve(estimate: number, signal?: AbortSignal): Promise<TokenReservation> {
    if (!(typeof estimate === 'number' && Number.isFinite(estimate) && estimate > 0)) throw new ConfigError('estimate', estimate, 'must be a positive number of tokens');
    while (!this.warm && this.firstCall !== undefined) await untilAborted(this.firstCall, signal);
    const first = !this.warm;
    if (first) this.firstCall = new Promise((resolve) => (this.releaseFirst = resolve));
    try {
      await this.limiter.acquire({ cost: estimate, signal });
    } catch (error) {
      if (first) this.openAfterFirst(false);
      throw error;
    }
    return { estimate, seq: ++this.seq, first };
  }

  /** Corrects a reservation to the tokens really used: refund the excess, charge the shortfall. */
  async settle(reservation: TokenReservation, used: number | undefined): Promise<void> {
    if (!reservation.first) return this.correct(reservation, used);
    try {
      // A store that cannot charge (RedisStore) cannot move the tokens: corrected in place.
      if (this.limiter.store.charge === undefined || reservation.seq !== this.seq) await this.correct(reservation, used);
      else await this.moveToAnswer(reservation, used);
    } finally {
      this.openAfterFirst(true);
    }
  }

  /** Refunds the excess (if this is the newest start) or charges the shortfall. */
  private async correct(reservation: TokenReservation, used: number | undefined): Promise<void> {
    if (used === undefined || !Number.isFinite(used) || used < 0) return;
    const diff = reservation.estimate - used;
    if (diff < 0) await this.limiter.charge(-diff);
    else if (diff > 0 && reservation.seq === this.seq) {
      await this.limiter.refund(diff);
      // Wholly given back, the newest start holds nothing: the one before is the newest again.
      if (used === 0) this.seq--;
    } else if (diff > 0) this.skipped++;
  }

  /** The first call's tokens, moved from its start to its answer: it is the newest start. */
  private async moveToAnswer(reservation: TokenReservation, used: number | undefined): Promise<void> {
    const counted = used === undefined || !Number.isFinite(used) || used < 0 ? reservation.estimate : used;
    await this.limiter.refund(reservation.estimate);
    if (counted > 0) await this.limiter.charge(counted);
    else this.seq--; // wholly given back: the start before is the newest again
  }

  private openAfterFirst(answered: boolean): void {
    if (answered) this.warm = true;
    const release = this.releaseFirst;
    this.firstCall = undefined;
    this.releaseFirst = undefined;
    release?.();
  }

  /** Refunds not made because a later call had been admitted meanwhile (see the class comment). */
  get skippedRefunds(): number {
    return this.skipped;
  }
}

/**
 * A rate whose window is `margin` longer: our window lets a start go `margin × interval`
 * after the one it replaces would have left the server's, so a request that reaches the
 * server sooner after leaving than the one before it did (network and event-loop jitter)
 * still finds room there. A smaller limit would not do it: with the window exact on both
 * sides, a start timed to an expiry races it whatever the count.
 */
export function withMargin(rate: RateInput, margin: number, field: string): { limit: number; interval: number } {
  const { limit, intervalMs } = parseRate(rate, field);
  return { limit, interval: intervalMs * (1 + margin) };
}
