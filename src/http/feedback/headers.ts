/**
 * Header access and value parsing shared by the feedback dialects. Everything here treats
 * its input as untrusted: a malformed value reads as "unknown" (undefined), never throws.
 */
import { parseCount } from '../../core/http-time.js';

export { parseCount };

/** Response headers as fetch, undici, Node's http module and axios hand them over. */
export type HeadersInput =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** Looks up a header by lower-case name; repeated fields come back joined with ", " as fetch does. */
export type HeaderReader = (name: string) => string | undefined;

/** Builds a case-insensitive reader once, so each dialect's lookups stay cheap. */
export function headerReader(headers: HeadersInput): HeaderReader {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const source = headers as { get(name: string): string | null };
    return (name) => {
      const value = source.get(name);
      return typeof value === 'string' ? value : undefined;
    };
  }
  const map = new Map<string, string>();
  for (const [key, raw] of Object.entries(headers as Record<string, unknown>)) {
    const value = Array.isArray(raw) ? raw.map(String).join(', ') : raw === undefined || raw === null ? undefined : String(raw);
    if (value === undefined) continue;
    const lower = key.toLowerCase();
    const before = map.get(lower);
    map.set(lower, before === undefined ? value : `${before}, ${value}`);
  }
  return (name) => map.get(name);
}

/** A quota count (limit, remaining): a finite parseCount, else unknown. */
export function finiteCount(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/** The first count of a list-shaped value: `"100, 100;w=60"` (draft-03 RateLimit-Limit) reads as 100. */
export function parseLeadingCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return finiteCount(parseCount(value.split(',')[0]!.split(';')[0]));
}

/**
 * Clamps a wait into `[0, cap]`. A wait too large to represent (a 400-digit number, a date in
 * the year 275760) is the cap; NaN is unknown. This is the one door every wait leaves through.
 */
export function clampWait(ms: number | undefined, cap: number): number | undefined {
  if (ms === undefined || Number.isNaN(ms)) return undefined;
  if (ms <= 0) return 0;
  return ms >= cap ? cap : ms;
}
