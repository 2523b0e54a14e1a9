import type { RateSignal } from '../algorithms/rate-adaptation.js';
import { invoke } from '../core/invoke.js';
import type { Policy, PolicyContext } from '../policies/policy.js';
import { abortSignalOf, handOn, parentOf } from '../policies/scope.js';
import { parseFeedback, type Feedback, type FeedbackResponse } from './feedback/parse.js';
import type { FetchParts, SluiceFetchEvent } from './fetch-options.js';

/**
 * The adaptation signal of one response: parseFeedback's answer as it is, with the two
 * times — the same reading the AdaptiveRate recipe for other clients makes
 * (`{ sentAt, now, ...parseFeedback(response) }`), so both adopt the same stated limit.
 * `now` is the Clock's, `epochMs` the wall clock's (for absolute resets and HTTP-dates).
 */
export function signalOf(response: FeedbackResponse, sentAt: number, now: number, epochMs: number, maxRetryAfterMs: number): { feedback: Feedback; signal: RateSignal } {
  const feedback = parseFeedback(response, { now: epochMs, maxRetryAfterMs });
  observed.set(response, feedback);
  const signal: RateSignal = { sentAt, now, throttled: feedback.throttled };
  if (feedback.retryAfterMs !== undefined) signal.retryAfterMs = feedback.retryAfterMs;
  if (feedback.limit !== undefined) signal.limit = feedback.limit;
  if (feedback.windowMs !== undefined) signal.windowMs = feedback.windowMs;
  if (feedback.remaining !== undefined) signal.remaining = feedback.remaining;
  if (feedback.resetMs !== undefined) signal.resetMs = feedback.resetMs;
  return { feedback, signal };
}

/** What signalOf read from each response; held only as long as the Response is. */
const observed = new WeakMap<FeedbackResponse, Feedback>();

/** The refusals ArrivalMargin took for uneven arrivals (see ServerPace.observe). */
const surprises = new WeakSet<FeedbackResponse>();

/**
 * wasSurprise: whether `response` — one sluiceFetch returned — is a 429 that came while the
 * whole rate was in use (ArrivalMargin's surprise): the margin has been widened and nothing
 * else paused, so a caller that would pause every request for its Retry-After (the harvest's
 * quota pause) waits with this one request only.
 */
export function wasSurprise(response: Response): boolean {
  return surprises.has(response);
}

/**
 * feedbackOf: the Feedback sluiceFetch read from `response` — one it returned — so that a
 * caller deciding on the same response (the harvest's quota pause) does not read its
 * headers a second time, perhaps differently. Undefined for a Response it did not observe.
 */
export function feedbackOf(response: Response): Feedback | undefined {
  return observed.get(response);
}

/**
 * ServerPace: the first step of each attempt's rate part, and where the server's feedback
 * goes. With adaptation on, AdaptiveRate keeps the pause and the rate and admits the
 * attempt; without it, a pause is still kept here, so a Retry-After holds back every
 * request to the server, not only the retry of the request that got it.
 */
export class ServerPace implements Policy {
  private until = Number.NEGATIVE_INFINITY;
  constructor(private readonly parts: FetchParts) {}

  execute<T>(fn: (context: PolicyContext) => T | PromiseLike<T>, context?: Partial<PolicyContext>): Promise<T> {
    const { adaptive, clock } = this.parts;
    // Most attempts find no pause: they go on at once, without a wait to await.
    if (adaptive === undefined && this.until <= clock.now()) return invoke(() => fn(handOn(context)));
    const signal = abortSignalOf(parentOf(context));
    return (adaptive ? adaptive.admit(signal) : this.wait(signal)).then(() => fn(handOn(context)));
  }

  private async wait(signal: AbortSignal | undefined): Promise<void> {
    const { clock } = this.parts;
    for (let ms = this.until - clock.now(); ms > 0; ms = this.until - clock.now()) await clock.sleep(ms, signal);
  }

  /** Notes that a request leaves now (the arrival margin counts sends, in flight or answered). */
  sent(at: number): void {
    this.parts.margin?.sent(at);
  }

  /** Hears one answer: a fetch Response, or the status and headers of any client (the undici interceptor's). */
  observe(response: FeedbackResponse, sentAt: number): { throttled: boolean; detail: Pick<Extract<SluiceFetchEvent, { type: 'response' }>, 'rate' | 'pauseMs'> } {
    const { clock, adaptive, margin, maxRetryAfterMs } = this.parts;
    const now = clock.now();
    const { feedback, signal } = signalOf(response, sentAt, now, Date.now(), maxRetryAfterMs);
    // A refusal while we used our whole rate is uneven arrivals: the margin widens instead, and
    // neither the rate nor the other requests pay for it — the refused request's own retry
    // still waits its Retry-After.
    if (margin?.observe(sentAt, now, signal.throttled, adaptive?.atLimit ?? true) === 'surprise') {
      surprises.add(response);
      return { throttled: true, detail: adaptive ? { rate: adaptive.step.rate } : {} };
    }
    // A quota at 0 that our own paced requests filled frees as fast as we send: no pause.
    if (signal.remaining === 0 && !signal.throttled && margin?.fillsServerWindow(sentAt, signal.limit, signal.windowMs)) signal.remaining = undefined;
    if (adaptive) {
      const step = adaptive.observe(signal);
      const pauseMs = step.pauseUntil - now;
      return { throttled: feedback.throttled, detail: pauseMs > 0 ? { rate: step.rate, pauseMs } : { rate: step.rate } };
    }
    const pauseMs = plainPause(signal);
    if (pauseMs !== undefined && now + pauseMs > this.until) this.until = now + pauseMs;
    return { throttled: feedback.throttled, detail: pauseMs !== undefined && pauseMs > 0 ? { pauseMs } : {} };
  }
}

/** Without adaptation: pause for a throttle's hint, or until an exhausted quota resets. */
function plainPause(signal: RateSignal): number | undefined {
  if (signal.throttled && signal.retryAfterMs !== undefined) return signal.retryAfterMs;
  if (signal.remaining === 0 && signal.resetMs !== undefined) return signal.resetMs;
  return undefined;
}
