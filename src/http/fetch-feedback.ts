import { parseFeedback, type Feedback } from './feedback/parse.js';
import type { RateSignal } from '../algorithms/rate-adaptation.js';

/**
 * The adaptation signal of one response. The stated limit is the request quota with the
 * shortest stated window — the one that paces, as in the limiter's own multi-limit rule;
 * longer quotas act through `remaining: 0` pauses. `now` is the Clock's, `epochMs` the
 * wall clock's (for absolute resets and HTTP-dates).
 */
export function signalOf(response: Response, sentAt: number, now: number, epochMs: number, maxRetryAfterMs: number): { feedback: Feedback; signal: RateSignal } {
  const feedback = parseFeedback(response, { now: epochMs, maxRetryAfterMs });
  observed.set(response, feedback);
  const signal: RateSignal = { sentAt, now, throttled: feedback.throttled };
  if (feedback.retryAfterMs !== undefined) signal.retryAfterMs = feedback.retryAfterMs;
  if (feedback.remaining !== undefined) signal.remaining = feedback.remaining;
  if (feedback.resetMs !== undefined) signal.resetMs = feedback.resetMs;
  let pacing: { limit: number; windowMs: number } | undefined;
  for (const q of feedback.quotas) {
    if (q.unit !== 'requests' || q.limit === undefined || q.windowMs === undefined) continue;
    if (pacing === undefined || q.windowMs < pacing.windowMs) pacing = { limit: q.limit, windowMs: q.windowMs };
  }
  if (pacing !== undefined) {
    signal.limit = pacing.limit;
    signal.windowMs = pacing.windowMs;
  }
  return { feedback, signal };
}

/** What signalOf read from each response; held only as long as the Response is. */
const observed = new WeakMap<Response, Feedback>();

/**
 * feedbackOf: the Feedback sluiceFetch read from `response` — one it returned — so that a
 * caller deciding on the same response (the harvest's quota pause) does not read its
 * headers a second time, perhaps differently. Undefined for a Response it did not observe.
 */
export function feedbackOf(response: Response): Feedback | undefined {
  return observed.get(response);
}
