import type { LimitView } from './limits.js';

/**
 * How the mock tells clients about its limits:
 * - `ietf`: draft-ietf-httpapi-ratelimit-headers-11 — `RateLimit-Policy: "per-60s";q=100;w=60`
 *   and `RateLimit: "per-60s";r=0;t=12`, one item per limit;
 * - `ietf-triple`: the drafts 00–06 fields `RateLimit-Limit/-Remaining/-Reset` (delta seconds);
 * - `x`: `X-RateLimit-Limit/-Remaining/-Reset`, reset as epoch seconds or delta (`xReset`);
 * - `openai`: `x-ratelimit-{limit,remaining,reset}-requests`, reset as a Go duration (`6m0s`);
 * - `none`: nothing, not even Retry-After — a hidden limit a client has to discover.
 */
export type HeaderDialect = 'ietf' | 'ietf-triple' | 'x' | 'openai' | 'none';
export const HEADER_DIALECTS: readonly HeaderDialect[] = ['ietf', 'ietf-triple', 'x', 'openai', 'none'];

export interface HeaderContext {
  /** Wall-clock now, epoch ms: only the `x` dialect's epoch resets need it. */
  epochMs: number;
  xReset: 'epoch' | 'delta';
}

/**
 * Rate-limit headers for a response. Sliding-window semantics: the reset a client reads is
 * when `remaining` next grows (the oldest counted request leaves the window), except in
 * the OpenAI dialect, whose reset means "back to the full limit".
 */
export function rateLimitHeaders(dialect: HeaderDialect, views: readonly LimitView[], ctx: HeaderContext, unit = 'requests'): Record<string, string> {
  if (views.length === 0) return {};
  const tightest = tightestOf(views);
  switch (dialect) {
    case 'ietf':
      return {
        'RateLimit-Policy': views.map((v) => `"${v.name}";q=${v.limit};w=${seconds(v.windowMs)}`).join(', '),
        RateLimit: views.map((v) => `"${v.name}";r=${v.remaining};t=${seconds(v.nextMs)}`).join(', '),
      };
    case 'ietf-triple':
      return {
        'RateLimit-Limit': String(tightest.limit),
        'RateLimit-Remaining': String(tightest.remaining),
        'RateLimit-Reset': String(seconds(tightest.nextMs)),
        'RateLimit-Policy': views.map((v) => `${v.limit};w=${seconds(v.windowMs)}`).join(', '),
      };
    case 'x':
      return {
        'X-RateLimit-Limit': String(tightest.limit),
        'X-RateLimit-Remaining': String(tightest.remaining),
        'X-RateLimit-Reset': String(ctx.xReset === 'epoch' ? Math.ceil((ctx.epochMs + tightest.nextMs) / 1000) : seconds(tightest.nextMs)),
      };
    case 'openai':
      return {
        [`x-ratelimit-limit-${unit}`]: String(tightest.limit),
        [`x-ratelimit-remaining-${unit}`]: String(tightest.remaining),
        [`x-ratelimit-reset-${unit}`]: goDuration(tightest.fullMs),
      };
    case 'none':
      return {};
  }
}

/** Retry-After for a refused request (whole seconds, rounded up); `retry-after-ms` too for OpenAI, whose SDK reads it. */
export function retryAfterHeaders(dialect: HeaderDialect, waitMs: number): Record<string, string> {
  if (dialect === 'none' || !Number.isFinite(waitMs)) return {};
  const headers: Record<string, string> = { 'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))) };
  if (dialect === 'openai') headers['retry-after-ms'] = String(Math.ceil(waitMs));
  return headers;
}

/** The limit with the least left; on a tie, the one that frees last. */
function tightestOf(views: readonly LimitView[]): LimitView {
  return views.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.nextMs > a.nextMs) ? b : a));
}

/** Whole seconds, rounded up: the IETF fields carry integers and an early retry is a wasted one. */
function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

/** A Go time.Duration string as OpenAI writes it: `12ms`, `1.5s`, `6m0s`, `1h2m3s`. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const totalSeconds = Math.ceil(ms) / 1000;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = Math.round((totalSeconds % 60) * 1000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
