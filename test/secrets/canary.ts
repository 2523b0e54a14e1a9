/**
 * The canary: one secret planted wherever a user can put a credential, and a walk over
 * everything sluice shows (errors, events, stats) that fails on the first place it
 * appears. What the walk reads is what an application writes to its logs: an error's
 * message, stack, `String()`, `util.inspect` (shallow and deep) and JSON, and each of its
 * causes; an event's or a stats object's every field.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';

export const CANARY = 'c4n4ry-7e5t-s3cr3t-91';

/** The canary in every form a user might give it: sluice must recognise each as a secret. */
export const PLANTED = {
  bearer: `Bearer ${CANARY}`,
  basic: `Basic ${Buffer.from(`alice:${CANARY}`).toString('base64')}`,
  userinfo: `https://alice:${CANARY}@api.test/items`,
  apiKeyQuery: `https://api.test/items?page=2&api_key=${CANARY}`,
  camelQuery: `https://api.test/items?accessToken=${CANARY}&apiToken=${CANARY}`,
  fragment: `https://app.test/callback#access_token=${CANARY}`,
  oauth: { clientId: 'app', clientSecret: CANARY, accessToken: CANARY, refresh_token: CANARY },
  headers: { Authorization: `Bearer ${CANARY}`, 'X-Api-Key': CANARY, Cookie: `sid=${CANARY}` },
} as const;

/** The Basic credentials above as sent: the base64 of `alice:CANARY` must not appear either. */
const ENCODED = Buffer.from(`alice:${CANARY}`).toString('base64');

/**
 * Everything a logger could write of `value`, as text. `mine` holds objects of the
 * caller's own (its thrown errors, its items, its responses): sluice hands them back as
 * they are, so they are not walked — but a sluice error's rendering of them is.
 */
function shownTexts(value: unknown, mine: ReadonlySet<unknown>, seen = new Set<unknown>()): string[] {
  if (mine.has(value) || seen.has(value)) return [];
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return typeof value === 'function' ? [] : [String(value)];
  seen.add(value);
  const texts: string[] = [];
  if (value instanceof Error) {
    texts.push(value.message, String(value.stack), String(value), inspect(value), inspect(value, { depth: Infinity }), json(value));
    if (value.cause !== undefined) texts.push(...shownTexts(value.cause, mine, seen));
  }
  for (const [key, field] of Object.entries(value)) {
    texts.push(key);
    if (!(value instanceof Error && key === 'cause')) texts.push(...shownTexts(field, mine, seen));
  }
  return texts;
}

function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

/** Fails, naming `where` and the text, when the canary (or its Basic encoding) shows anywhere in `value`. */
export function assertNoCanary(where: string, value: unknown, mine: readonly unknown[] = []): void {
  for (const text of shownTexts(value, new Set(mine))) {
    assert.equal(text.includes(CANARY) || text.includes(ENCODED), false, `the canary leaked from ${where}: ${text}`);
  }
}

/** The error `fn` throws or rejects with; fails when it settles without one. */
export async function errorOf(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an error');
}
