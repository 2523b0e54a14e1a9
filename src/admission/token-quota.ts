import { RateLimiter } from './rate-limiter.js';
import { systemClock, type Clock } from '../core/clock.js';
import { parseRate, type RateInput } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';

/** What reserving tokens for one call gave: its estimate, to correct once the usage is known. */
export interface TokenReservation {
  readonly estimate: number;
  /** Order of admission: a refund is exact only while no later reservation was admitted. */
  readonly seq: number;
}

export interface TokenQuotaOptions {
  /** Tokens per window: `'10000/1m'`, several (`['10000/1m', '1000000/1d']`), or a RateLimiter to share. */
  tokens: RateInput | readonly RateInput[] | RateLimiter;
  /** Each window given as a rate is made this much longer, against jitter between ours and the server's. Default 0.02. */
  margin?: number;
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
 */
export class TokenQuota {
  readonly limiter: RateLimiter;
  private seq = 0;
  private skipped = 0;

  constructor(options: TokenQuotaOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
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
      // lateness on each call (a few ms on a busy machine, 10–15 % of a TPM scaled to 1 s).
      // No burst: spaced calls are answered before the next starts, so refunds stay exact.
      const limits = rates.map((rate) => (rate.interval === shortest ? { rate, slack: Math.min(50, rate.interval / 50) } : rate));
      this.limiter = new RateLimiter({ limits, clock: options.clock ?? systemClock });
    }
  }

  /** Waits for room for `estimate` tokens and takes it. Rejects with the signal's reason on abort. */
  async reserve(estimate: number, signal?: AbortSignal): Promise<TokenReservation> {
    if (!(typeof estimate === 'number' && Number.isFinite(estimate) && estimate > 0)) throw new ConfigError('estimate', estimate, 'must be a positive number of tokens');
    await this.limiter.acquire({ cost: estimate, signal });
    return { estimate, seq: ++this.seq };
  }

  /** Corrects a reservation to the tokens really used: refund the excess, charge the shortfall. */
  async settle(reservation: TokenReservation, used: number | undefined): Promise<void> {
    if (used === undefined || !Number.isFinite(used) || used < 0) return;
    const diff = reservation.estimate - used;
    if (diff < 0) await this.limiter.charge(-diff);
    else if (diff > 0 && reservation.seq === this.seq) {
      await this.limiter.refund(diff);
      // Wholly given back, the newest start holds nothing: the one before is the newest again.
      if (used === 0) this.seq--;
    } else if (diff > 0) this.skipped++;
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
