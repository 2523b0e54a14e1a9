/** The header families parseFeedback reads. */
export type FeedbackDialect = 'ietf' | 'x-ratelimit' | 'openai' | 'anthropic';

/**
 * Quota: one limit a server reported, in its own units. `resetMs` is the server's "when
 * this refills" (IETF `t`, X-RateLimit-Reset, OpenAI/Anthropic reset), clamped to
 * `[0, maxRetryAfterMs]`; `windowMs` is the policy's window when stated (IETF `w`).
 */
export interface Quota {
  dialect: FeedbackDialect;
  /** The policy's name (IETF), or the unit for dialects with one quota per unit. */
  name: string;
  /** `'requests'` unless the server says otherwise: `'tokens'`, `'input-tokens'`, `'content-bytes'`… */
  unit: string;
  limit?: number | undefined;
  remaining?: number | undefined;
  resetMs?: number | undefined;
  windowMs?: number | undefined;
}

/** Drops the fields a dialect could not read, so `'limit' in quota` means it was sent. */
export function quota(fields: Quota): Quota {
  const out: Quota = { dialect: fields.dialect, name: fields.name, unit: fields.unit };
  if (fields.limit !== undefined) out.limit = fields.limit;
  if (fields.remaining !== undefined) out.remaining = fields.remaining;
  if (fields.resetMs !== undefined) out.resetMs = fields.resetMs;
  if (fields.windowMs !== undefined) out.windowMs = fields.windowMs;
  return out;
}

/** True when a quota says something beyond its name. */
export function informative(q: Quota): boolean {
  return q.limit !== undefined || q.remaining !== undefined || q.resetMs !== undefined;
}
