import { clampWait, headerReader, parseCount, type HeadersInput, type HeaderReader } from './headers.js';
import { readIetf } from './ietf.js';
import { informative, type Quota } from './quota.js';
import { parseRetryAfterMs } from '../../core/http-time.js';
import { readAnthropic, readOpenAi, readXRateLimit } from './vendor.js';

export type { HeadersInput } from './headers.js';
export type { FeedbackDialect, Quota } from './quota.js';

/** The parts of an HTTP response parseFeedback reads: a fetch Response, or Node/axios-shaped. */
export interface FeedbackResponse {
  status: number;
  headers: HeadersInput;
}

export interface FeedbackOptions {
  /** Wall-clock time the response arrived, epoch ms, for absolute resets and HTTP-dates. Default `Date.now()`. */
  now?: number | undefined;
  /** The longest wait any field may produce; larger or unreadable-but-huge values become this. Default 10 minutes. */
  maxRetryAfterMs?: number | undefined;
}

/**
 * Feedback: what a response says about the client's pace.
 *
 * - `throttled`: the server refused for rate — 429, 503, or 403 with a quota at 0 (GitHub).
 * - `retryAfterMs`: how long to wait before the next request to this server, or undefined
 *   for "no hint": `Retry-After` (or `retry-after-ms`) when sent — the IETF draft gives it
 *   precedence — else the reset of an exhausted quota, else on a throttled response the
 *   earliest reset reported.
 * - `limit` and `windowMs`: the limit that paces — when a request quota states its window
 *   (IETF `w`), the one with the shortest window, as a limiter with several limits paces
 *   at its shortest; otherwise `limit` alone, of the quota nearest to exhaustion. With
 *   both, `limit / windowMs` is the server's stated rate: what `AdaptiveRate.observe`
 *   adopts, so `{ sentAt, now, ...parseFeedback(response) }` is a whole RateSignal.
 * - `remaining`, `resetMs`: the request quota nearest to exhaustion (token quotas count
 *   only when no request quota is reported) — what may run out first, and when it refills.
 * - `quotas`: every quota read, in its own units, for callers that pace tokens too.
 *
 * Every wait is within `[0, maxRetryAfterMs]`.
 */
export interface Feedback {
  throttled: boolean;
  retryAfterMs?: number | undefined;
  limit?: number | undefined;
  windowMs?: number | undefined;
  remaining?: number | undefined;
  resetMs?: number | undefined;
  quotas: Quota[];
}

export const DEFAULT_MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * parseFeedback reads status, Retry-After and the rate-limit headers of every dialect sluice
 * knows (IETF drafts 00–11, X-RateLimit-*, OpenAI, Anthropic) into one Feedback.
 *
 * Headers are untrusted input: a malformed value is ignored, an absurd one is clamped, and
 * nothing here throws — not even a `headers.get` that does.
 */
export function parseFeedback(response: FeedbackResponse, options: FeedbackOptions = {}): Feedback {
  const cap = capOf(options.maxRetryAfterMs);
  const now = typeof options.now === 'number' && Number.isFinite(options.now) ? options.now : Date.now();
  const status = typeof response?.status === 'number' ? response.status : 0;
  try {
    return interpret(status, headerReader(response.headers ?? {}), now, cap);
  } catch {
    // A throwing Headers implementation or getter: the status code is all we can trust.
    return { throttled: status === 429 || status === 503, quotas: [] };
  }
}

function interpret(status: number, read: HeaderReader, now: number, cap: number): Feedback {
  const quotas = [...readIetf(read, now), ...readXRateLimit(read, now), ...readOpenAi(read), ...readAnthropic(read, now)]
    .filter(informative)
    .map((q) => (q.resetMs === undefined ? q : { ...q, resetMs: clampWait(q.resetMs, cap)! }));
  const exhausted = quotas.filter((q) => q.remaining === 0);
  const throttled = status === 429 || status === 503 || (status === 403 && exhausted.length > 0);

  let retryAfterMs = retryAfter(read, now, cap);
  if (retryAfterMs === undefined) retryAfterMs = maxOf(exhausted.map((q) => q.resetMs));
  // A 429 names no wait of its own: the earliest reset is the best guess. A 503 is the server
  // being unwell, not a quota: a reset of a quota with room left says nothing about it.
  if (retryAfterMs === undefined && status === 429) retryAfterMs = minOf(quotas.map((q) => q.resetMs));

  const feedback: Feedback = { throttled, quotas };
  if (retryAfterMs !== undefined) feedback.retryAfterMs = retryAfterMs;
  const binding = bindingQuota(quotas);
  const pacing = pacingQuota(quotas);
  if (pacing !== undefined) {
    feedback.limit = pacing.limit;
    feedback.windowMs = pacing.windowMs;
  } else if (binding?.limit !== undefined) feedback.limit = binding.limit;
  if (binding?.remaining !== undefined) feedback.remaining = binding.remaining;
  if (binding?.resetMs !== undefined) feedback.resetMs = binding.resetMs;
  return feedback;
}

/** `retry-after-ms` (OpenAI, Azure) is finer than `Retry-After`, so it wins when readable. */
function retryAfter(read: HeaderReader, now: number, cap: number): number | undefined {
  const ms = parseCount(read('retry-after-ms'));
  if (ms !== undefined) return clampWait(ms, cap);
  const header = read('retry-after');
  return header === undefined ? undefined : clampWait(parseRetryAfterMs(header, now), cap);
}

/**
 * The request quota that states its window, the shortest if several: the one that paces.
 * Longer ones (an hourly or daily cap) act through `remaining: 0` and their reset; a rate
 * adopted from one of them would crawl while the short window still had room.
 */
function pacingQuota(quotas: Quota[]): { limit: number; windowMs: number } | undefined {
  let best: { limit: number; windowMs: number } | undefined;
  for (const q of quotas) {
    if (q.unit !== 'requests' || q.limit === undefined || q.windowMs === undefined) continue;
    if (best === undefined || q.windowMs < best.windowMs) best = { limit: q.limit, windowMs: q.windowMs };
  }
  return best;
}

/** The request quota with the smallest share left; ties go to the later reset. */
function bindingQuota(quotas: Quota[]): Quota | undefined {
  const requests = quotas.filter((q) => q.unit === 'requests');
  let best: Quota | undefined;
  let bestShare = Number.POSITIVE_INFINITY;
  for (const q of requests.length > 0 ? requests : quotas) {
    const share = shareLeft(q);
    if (share < bestShare || (share === bestShare && (q.resetMs ?? -1) > (best?.resetMs ?? -1))) {
      best = q;
      bestShare = share;
    }
  }
  return best;
}

function shareLeft(q: Quota): number {
  if (q.remaining === undefined) return 2; // says nothing about what is left: last choice
  if (q.remaining === 0) return 0;
  return q.limit !== undefined && q.limit > 0 ? Math.min(1, q.remaining / q.limit) : 1;
}

function capOf(max: number | undefined): number {
  return typeof max === 'number' && max >= 0 && !Number.isNaN(max) ? max : DEFAULT_MAX_RETRY_AFTER_MS;
}

function maxOf(values: (number | undefined)[]): number | undefined {
  let out: number | undefined;
  for (const v of values) if (v !== undefined && (out === undefined || v > out)) out = v;
  return out;
}

function minOf(values: (number | undefined)[]): number | undefined {
  let out: number | undefined;
  for (const v of values) if (v !== undefined && (out === undefined || v < out)) out = v;
  return out;
}
