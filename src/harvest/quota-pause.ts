import type { Clock, Timer } from '../core/clock.js';
import type { Feedback } from '../http/feedback/parse.js';
import { DEFAULTS } from './config.js';
import type { HarvestMonitor } from './monitor.js';

/** Longest wait a refusal may pause the harvest for; a longer Retry-After is waited out in steps of this. */
export const MAX_PAUSE_MS = 6 * 60 * 60 * 1000;

/**
 * A request for a page that got no records: a status other than 2xx, or sluice's own
 * refusal naming a wait. The quota pause tells a refusal to wait out from a failure.
 */
export interface Refusal {
  /** The response's status; undefined when sluice itself refused (an error naming its wait). */
  status: number | undefined;
  /** The wait it named, ms; undefined when it named none. */
  waitMs: number | undefined;
  /** What happened, redacted: `HTTP 429 Too Many Requests`. */
  reason: string;
  /**
   * The wait is this page's alone: a 429 sluiceFetch took for uneven arrivals (wasSurprise) —
   * its margin has been widened, and the server's window frees again long before a
   * Retry-After of whole seconds, so the other pages go on.
   */
  own?: boolean | undefined;
}

/** One page's refusals so far: what decides its next wait and when it has had enough. */
export interface PageRefusals {
  /** Refusals met, counted in attempts: a guessed pause comes after a whole round of them. */
  spent: number;
  /** Pauses it caused. */
  pauses: number;
  /** Pauses it caused with no wait named: the exponent of the next guess. */
  guesses: number;
}

/**
 * namedWait: the wait a response names for every request, when it is a refusal the harvest
 * waits out — a 429, a 503 or a 403 (GitHub's secondary limit) with Retry-After or an
 * exhausted quota's reset, as sluiceFetch read it. Undefined otherwise, and for a wait of 0.
 */
export function namedWait(status: number, feedback: Feedback | undefined): number | undefined {
  if (feedback === undefined || !(feedback.throttled || status === 403)) return undefined;
  return feedback.retryAfterMs !== undefined && feedback.retryAfterMs > 0 ? feedback.retryAfterMs : undefined;
}

/**
 * QuotaPause: the one owner of the wait a refusal causes in a harvest — one pause for the
 * whole harvest while the server's quota is exhausted. A page that meets it waits here
 * instead of failing, and so does every page about to be sent; the monitor sees one pause
 * (with its end, for a countdown), not a 429 per page. A later end extends the pause; an
 * earlier one is already covered.
 *
 * The other mechanisms defer to it: the retry policy does not retry a response that names
 * a wait (see namedWait), and sluiceFetch's own pause — its adaptive rate's, from the same
 * reading of the same response — ends no later, so nothing waits twice.
 */
export class QuotaPause {
  private until = Number.NEGATIVE_INFINITY;
  private endTimer: Timer | undefined;
  /** Refusals a page may meet before it fails: a round of attempts for each allowed pause. */
  private readonly budget: number;

  constructor(
    private readonly clock: Clock,
    private readonly monitor: HarvestMonitor,
    private readonly retries: number,
  ) {
    this.budget = (retries + 1) * DEFAULTS.maxQuotaPauses;
  }

  /** The tally a page starts with. */
  static fresh(): PageRefusals {
    return { spent: 0, pauses: 0, guesses: 0 };
  }

  /**
   * refused: what a refusal means for its page, and for every page. A wait it names pauses
   * the harvest that long — never less, at most MAX_PAUSE_MS (only the page, when the wait is
   * its own); a 429 naming none, still
   * refused after the retries, pauses it 1 s, 2 s, 4 s … up to a minute. Returns undefined
   * when the page is to be asked again, else the reason it failed: not a refusal the harvest
   * waits out, or one more than the page's share (`(retries + 1) × maxQuotaPauses`
   * refusals, a guessed pause counting a whole round of them).
   */
  refused(refusal: Refusal, page: PageRefusals): string | undefined {
    const now = this.clock.now();
    if (refusal.waitMs !== undefined) {
      // The server's word holds for every page, whether or not this one is asked again —
      // unless it answered uneven arrivals (`own`): then the page waits alone (PageFetcher).
      const waitMs = Math.min(refusal.waitMs, MAX_PAUSE_MS);
      if (refusal.own !== true) this.follow(now + waitMs, refusal.status === undefined ? `quota exhausted: ${refusal.reason}` : `quota exhausted (${refusal.reason}), resets in ${Math.ceil(waitMs / 1000)} s`);
      return this.spend(page, 1, refusal);
    }
    if (refusal.status !== 429) return refusal.reason;
    const spent = this.spend(page, this.retries + 1, refusal);
    if (spent !== undefined) return spent;
    // Refused after every retry, and the server will not say until when (a hidden limit):
    // wait longer each time rather than fail.
    const guessMs = Math.min(60_000, 1000 * 2 ** page.guesses++);
    this.follow(now + guessMs, `quota exhausted (${refusal.reason}, no reset given), waiting ${Math.ceil(guessMs / 1000)} s`);
    return undefined;
  }

  /**
   * follow: pauses every page until `untilMs` (clock ms) — a refusal's wait, or a pause
   * sluiceFetch took on its own (its adaptive rate's, or a quota at 0 on a success).
   */
  follow(untilMs: number, reason: string): void {
    const now = this.clock.now();
    if (untilMs <= now || untilMs <= this.until) return;
    this.until = untilMs;
    this.monitor.pauseStarted(now, untilMs, reason);
    this.endTimer?.cancel();
    this.endTimer = this.clock.timer(() => {
      this.endTimer = undefined;
      this.monitor.pauseEnded(this.clock.now());
    }, untilMs - now);
  }

  /** Resolves when no pause is in force; rejects with the signal's reason on abort. */
  async wait(signal?: AbortSignal): Promise<void> {
    for (let ms = this.until - this.clock.now(); ms > 0; ms = this.until - this.clock.now()) await this.clock.sleep(ms, signal);
  }

  /** Ends the pause's timer (the harvest is over). */
  dispose(): void {
    this.endTimer?.cancel();
    this.endTimer = undefined;
  }

  /** Counts a refusal against the page's share; the failure's reason when it is one too many. */
  private spend(page: PageRefusals, cost: number, refusal: Refusal): string | undefined {
    if (page.spent + cost > this.budget) return `still throttled after ${page.pauses} quota pauses (${refusal.reason})`;
    page.spent += cost;
    page.pauses++;
    return undefined;
  }
}
