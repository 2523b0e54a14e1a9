import { EstimateScale } from './estimate-scale.js';
import { RateLimiter } from './rate-limiter.js';
import type { Reservation } from './reservation.js';
import { capacityOf, toLimitSpecs, type LimitInput } from '../algorithms/limit-spec.js';
import type { RateStore } from '../store/store.js';
import { systemClock, type Clock } from '../core/clock.js';
import { parseRate, type RateInput } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';

/** What reserving tokens for one call gave: its estimate, and its start, to correct once the usage is known. */
export interface TokenReservation {
  /** The caller's estimate; the start holds it times the quota's estimate scale (see TokenQuota). */
  readonly estimate: number;
  /** Reserved before any answer was heard, with `coldCalls: 'answer'`: settle counts it from its answer. */
  readonly cold: boolean;
  /** The start in the token limiter (RateLimiter.reserve), which settle corrects. */
  readonly start: Reservation;
}

export interface TokenQuotaOptions {
  /**
   * Tokens per window: `'10000/1m'`; a limit with options, `{ rate: '90000/1m', burst: 5000 }`;
   * several (`['90000/1m', '2000000/1d']`), every one enforced; or a RateLimiter to share.
   * Each given as a rate is a sliding window with `burst` its whole limit unless set: a
   * server counts tokens in windows, so calls go as fast as the quota allows.
   */
  tokens: LimitInput | readonly LimitInput[] | RateLimiter;
  /** Each window given as a rate is made this much longer, against jitter between ours and the server's. Default 0.02. */
  margin?: number | undefined;
  /**
   * How a call reserved before any answer was heard is counted: `'start'` (default) like
   * every other, or `'answer'` — its tokens move to when it is settled (see the class
   * comment). llmFetch uses `'answer'`.
   */
  coldCalls?: 'start' | 'answer' | undefined;
  /**
   * Where the limits given as rates live. Default: a MemoryStore of their own. A RedisStore
   * shares them with every process that uses the same `key` — a fleet sharing one TPM, each
   * process correcting its own calls.
   */
  store?: RateStore | undefined;
  /** The limits' name in `store`. Default `'tokens'`. */
  key?: string | undefined;
  clock?: Clock | undefined;
}

/**
 * TokenQuota: a token budget (TPM) that is reserved before a call and corrected after it.
 * `reserve(estimate)` waits until every window has room for the estimate and takes it;
 * `settle(reservation, used)` corrects that very start to what was used — the excess given
 * back, a shortfall charged where the call started (Reservation) — so the window holds what
 * was really used, when it was used, as the server's does, whatever calls were admitted
 * meanwhile. `used` undefined keeps the estimate (usage unknown); 0 gives it all back (a
 * refused call).
 *
 * Estimates that fall short are learnt: each estimate is reserved times how far recent ones
 * fell short (EstimateScale, at least 1), so a call in flight holds what it will likely use
 * and the calls admitted beside it cannot overrun the server's window before its answer
 * corrects the count. The excess comes back exactly when it answers.
 *
 * With `coldCalls: 'answer'`, calls reserved before the first answer (one that reports
 * tokens used) are counted from their answers rather than their starts: on a cold
 * connection and code path a first request can reach the server tens of milliseconds after
 * it left — longer than the window's margin — so the server would still count its tokens
 * after ours had let them go (BENCHMARKS.md, LLM endpoint, cold). Such a call's tokens are
 * all given back at its start and what it used is charged at its answer, which came after
 * the server counted it. Nobody waits for that first answer: cold calls only cost their
 * answer's time, counted once.
 */
export class TokenQuota {
  readonly limiter: RateLimiter;
  private readonly coldFromAnswer: boolean;
  /** Whether an answer reporting tokens used has been settled (coldCalls 'answer'). */
  private warm = false;
  private readonly scale = new EstimateScale();

  constructor(options: TokenQuotaOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
    const coldCalls = options.coldCalls ?? 'start';
    if (coldCalls !== 'start' && coldCalls !== 'answer') throw new ConfigError('coldCalls', coldCalls, "must be 'start' or 'answer'");
    this.coldFromAnswer = coldCalls === 'answer';
    const margin = options.margin ?? 0.02;
    if (typeof margin !== 'number' || !(margin >= 0 && margin < 1)) throw new ConfigError('margin', margin, 'must be in [0, 1)');
    const tokens = options.tokens;
    this.limiter =
      tokens instanceof RateLimiter
        ? tokens
        : new RateLimiter({ limits: quotaLimits(tokens, margin, 'tokens'), clock: options.clock ?? systemClock, store: options.store, key: options.key ?? 'tokens' });
    // Without charge an under-estimate could not be recorded, and the window would hold less than was used.
    if (this.limiter.store.charge === undefined) throw new ConfigError('tokens', tokens, 'needs a store that can charge (its store has no charge())');
  }

  /** Waits for room for `estimate` tokens and takes it. Rejects with the signal's reason on abort. */
  async reserve(estimate: number, signal?: AbortSignal): Promise<TokenReservation> {
    if (!(typeof estimate === 'number' && Number.isFinite(estimate) && estimate > 0)) throw new ConfigError('estimate', estimate, 'must be a positive number of tokens');
    const cold = this.coldFromAnswer && !this.warm;
    // Scaled, but never past what the limits admit at once (a larger cost would be refused).
    const capacity = Math.min(...this.limiter.limits.map(capacityOf));
    const start = await this.limiter.reserve(Math.max(estimate, Math.min(estimate * this.scale.value, capacity)), { signal });
    return { estimate, cold, start };
  }

  /** Corrects a reservation, once, to the tokens really used: the excess given back, a shortfall charged. */
  async settle(reservation: TokenReservation, used: number | undefined): Promise<void> {
    const known = typeof used === 'number' && Number.isFinite(used) && used >= 0;
    if (known && used > 0) {
      this.warm = true;
      this.scale.observe(reservation.estimate, used);
    }
    const { start } = reservation;
    if (!reservation.cold) {
      if (known) await start.settle(used);
      return;
    }
    // A cold call moves to its answer: all given back at its start, what it used charged now.
    const counted = known ? used : start.units;
    await start.refund();
    if (counted > 0) await this.limiter.charge(counted);
  }
}

/**
 * Limits as a server counts a quota (LLM requests or tokens) — `input` as TokenQuotaOptions
 * takes it, ConfigErrors naming `field` — each a window `margin` longer and, unless set,
 * with `burst` its whole limit: a server counting in windows admits all of it at once, and
 * pacing it would hold calls back for nothing (30 small calls that fit at once, paced one
 * token at a time, took 30 times longer: BENCHMARKS.md, LLM quotas at full speed).
 */
export function quotaLimits(input: LimitInput | readonly LimitInput[], margin: number, field: string): LimitInput[] {
  const list: readonly LimitInput[] = Array.isArray(input) ? input : [input as LimitInput];
  const limits = list.map((item, i): LimitInput => {
    const name = Array.isArray(input) ? `${field}[${i}]` : field;
    const own = typeof item === 'object' && item !== null && 'rate' in item ? item : undefined;
    const rate = withMargin(own ? own.rate : (item as RateInput), margin, own ? `${name}.rate` : name);
    const burst = own?.burst ?? rate.limit;
    // A paced limit's start may be up to 2 % of the window (at most 50 ms) late and keep its
    // turn: a call's tokens come in one lump, and a pacer that restarts from every late
    // timer loses the lateness on each call (BENCHMARKS.md, LLM endpoint).
    const slack = own?.slack ?? (burst < rate.limit ? Math.min(50, rate.interval / 50) : undefined);
    return { ...own, rate, burst, ...(slack === undefined ? {} : { slack }) };
  });
  // Checked here, so that an error names `field` (`tokens.burst`), not the limiter's `limits`.
  toLimitSpecs(Array.isArray(input) ? limits : limits[0]!, {}, field);
  return limits;
}

/**
 * A rate whose window is `margin` longer: our window lets a start go `margin × interval`
 * after the one it replaces would have left the server's, so a request that reaches the
 * server sooner after leaving than the one before it did (network and event-loop jitter)
 * still finds room there. A smaller limit would not do it: with the window exact on both
 * sides, a start timed to an expiry races it whatever the count.
 */
function withMargin(rate: RateInput, margin: number, field: string): { limit: number; interval: number } {
  const { limit, intervalMs } = parseRate(rate, field);
  return { limit, interval: intervalMs * (1 + margin) };
}
