import { defaultArrivalJitterMs, type LimitSpec } from '../algorithms/limit-spec.js';
import type { RateLimiter } from '../limiters/rate-limiter.js';
import { ownFill, SendLog } from './send-log.js';

/**
 * Sends remembered to tell whether the client was using its whole limit when a refusal came:
 * enough for any limit up to this many per window, and a rate estimate over the latest
 * this many above it. 4 KB.
 */
const KEPT = 512;
/** Sending at this share of the limit in force or more is "using all of it" (pacing and a margin of J / T take the rest). */
const FULL_SHARE = 0.9;
/**
 * The widest margin, as a share of the pacing interval. A refusal the margin cannot absorb at
 * this width is not uneven arrivals: the limit itself is wrong, and the rate must come down.
 */
const CAP_SHARE = 0.1;
/** Windows in a row without a surprise after which the margin moves halfway back to its floor. */
const QUIET_WINDOWS = 30;

/** What a refusal was, for whoever adapts the rate (see ArrivalMargin.observe). */
export type RefusalKind = 'surprise' | 'throttle';

/**
 * ArrivalMargin: the arrival jitter a RateLimiter assumes, learnt from the server's answers
 * (the limiter's `arrivalJitter` is its floor, the margin never goes below it).
 *
 * A **surprise** is a refusal for rate (429) of a request sent while this client was using
 * the whole of the limit in force — the configured rate, or a limit the server stated — at
 * least 90 % of it over the window that ends at the request's start. The limit is then
 * right and the arrivals were spread wider than the margin allows (a slow new connection, a
 * stalled event loop, a congested network): the margin doubles (at least by the default for
 * the interval), up to 10 % of the pacing interval, and the rate stays where it is, nor does
 * anything else pause: a rate cut would cost far more than the margin does (a cut to 80 % and
 * CUBIC's climb back averaged 84–90 % of the limit at 50/s), and so would pausing every
 * request for a Retry-After of a whole second when the server's window frees again within
 * milliseconds (the harvest ended at 72–75 %); the margin costs `J / (T + J)`. The refused
 * request itself still waits its Retry-After. A refusal of a request sent before the last
 * widening was already in flight: the same news, not widened again.
 *
 * A refusal while sending well below the limit, or while probing below the configured rate
 * after a cut, or once the margin is at its widest, is a **throttle**: the limit is lower
 * than we think, and adaptive rate cuts it as before.
 *
 * Thirty windows without a surprise move the margin halfway back toward its floor, so a
 * passing bad spell does not cost the rate for ever.
 */
export class ArrivalMargin {
  private readonly floorMs: number;
  private marginMs: number;
  private readonly sends = new SendLog(KEPT);
  private widenedAt = Number.NEGATIVE_INFINITY;
  private quietSince: number | undefined;

  constructor(private readonly limiter: RateLimiter) {
    this.floorMs = pacingOf(limiter.limits).jitterMs ?? 0;
    this.marginMs = this.floorMs;
  }

  /** The margin in force, ms: the arrival jitter the limiter's windows count with. */
  get jitterMs(): number {
    return this.marginMs;
  }

  /** sent: a request left at `at` (counted from the send, so requests still in flight count too). */
  sent(at: number): void {
    this.sends.add(at);
  }

  /**
   * fillsServerWindow: whether this client's own sends explain a server's `remaining: 0`
   * after the request sent at `sentAt` — at least `statedLimit` of them (the server's stated
   * limit, else 90 % of the pacing limit) sent within the `windowMs` before it (the server's
   * stated window, else the pacing interval) and the arrival margin's spread. Then the server's window is full of our own
   * requests, which our windows already count: its next slot frees as our oldest ages out,
   * before our pacing sends the next, so nothing should wait for the server's reset. A
   * window pacing at N per T + J holds N at the server regularly; pausing a whole reset
   * each time cost a third of the rate (examples 09–15: 13/s of 20/s). Otherwise others
   * use the quota too, and the pause stands.
   */
  fillsServerWindow(sentAt: number, statedLimit: number | undefined, windowMs: number | undefined): boolean {
    const pacing = pacingOf(this.limiter.limits);
    return ownFill(this.sends, sentAt, statedLimit ?? Math.ceil(FULL_SHARE * pacing.limit), windowMs ?? pacing.intervalMs, this.marginMs);
  }

  /**
   * observe: one answered request, `sentAt` when it left (and given to `sent` then). `throttled`: the server refused it
   * for rate; `atLimit`: the rate in force is the one the server is believed to allow (the
   * configured rate, or a stated limit), not a probe below it after a cut. Returns what a
   * refusal was — `'surprise'` (handled here: the margin widens; the rate should stay) or
   * `'throttle'` — and undefined for an answer that was not a refusal.
   */
  observe(sentAt: number, now: number, throttled: boolean, atLimit: boolean): RefusalKind | undefined {
    const pacing = pacingOf(this.limiter.limits);
    if (!throttled) {
      this.narrowIfQuiet(now, pacing);
      return undefined;
    }
    if (sentAt < this.widenedAt) return 'surprise';
    const cap = pacing.intervalMs * CAP_SHARE;
    if (!atLimit || this.marginMs >= cap || !this.usingAll(sentAt, pacing)) return 'throttle';
    this.apply(Math.min(cap, Math.max(2 * this.marginMs, this.marginMs + defaultArrivalJitterMs(pacing.intervalMs))));
    this.widenedAt = now;
    this.quietSince = now;
    return 'surprise';
  }

  /**
   * Whether the sends up to `at` used at least FULL_SHARE of the pacing limit over its window:
   * the m-th latest send before it no older than the interval (m = that share of the limit);
   * above KEPT per window, the KEPT-th latest no older than its share of the interval.
   */
  private usingAll(at: number, pacing: LimitSpec): boolean {
    const needed = Math.max(1, Math.ceil(FULL_SHARE * pacing.limit));
    const j = Math.min(needed, KEPT);
    const before = this.sends.latestUpTo(at);
    if (before.length < j) return false;
    return at - before[j - 1]! < (pacing.intervalMs * j) / needed;
  }

  private narrowIfQuiet(now: number, pacing: LimitSpec): void {
    if (this.marginMs <= this.floorMs) return;
    this.quietSince ??= now;
    if (now - this.quietSince < QUIET_WINDOWS * pacing.intervalMs) return;
    const half = this.floorMs + (this.marginMs - this.floorMs) / 2;
    this.apply(half - this.floorMs < 1 ? this.floorMs : half);
    this.quietSince = now;
  }

  private apply(marginMs: number): void {
    this.marginMs = marginMs;
    this.limiter.setArrivalJitter(marginMs > this.floorMs ? marginMs : 0);
  }
}

/** The limit that paces: the one with the shortest interval (the limiter's own rule). */
function pacingOf(limits: readonly LimitSpec[]): LimitSpec {
  return limits.reduce((a, b) => (b.intervalMs < a.intervalMs ? b : a));
}
