import { finiteCount, parseCount, parseLeadingCount, type HeaderReader } from './headers.js';
import { quota, type Quota } from './quota.js';
import { parseSfList, sfCount, sfName, type SfItem } from './structured-fields.js';
import { parseResetMs } from '../../core/http-time.js';

/**
 * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers), in the three shapes
 * servers send today:
 *
 * - drafts 08–11: `RateLimit-Policy: "default";q=100;w=60` and `RateLimit: "default";r=0;t=12`
 *   — Lists of Items joined by policy name; `q` limit, `w` window (s), `r` remaining, `t` (s);
 * - draft 07 (and Close): one `RateLimit: limit=100, remaining=50, reset=5` (`;` tolerated);
 * - drafts 00–06: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta
 *   seconds; epoch values are recognised too), with `RateLimit-Policy: 100;w=60`.
 */
export function readIetf(read: HeaderReader, nowEpochMs: number): Quota[] {
  const policies = parseSfList(read('ratelimit-policy') ?? '') ?? [];
  const rateLimit = read('ratelimit');
  const quotas: Quota[] = [];
  if (rateLimit !== undefined) {
    if (/(?:^|[\s,;])(?:limit|remaining|reset)\s*=/i.test(rateLimit)) quotas.push(...readDictionary(rateLimit, policies, nowEpochMs));
    else quotas.push(...readItems(rateLimit, policies));
  } else {
    // Policies alone still state limits and windows.
    for (const p of policies) {
      const name = sfName(p.value);
      const limit = sfCount(p.params.get('q'));
      if (name !== undefined && limit !== undefined) quotas.push(quota({ dialect: 'ietf', name, unit: unitOf(p), limit, windowMs: windowOf(p) }));
    }
  }
  const triple = readTriple(read, policies, nowEpochMs);
  if (triple) quotas.push(triple);
  return quotas;
}

function readItems(field: string, policies: SfItem[]): Quota[] {
  const items = parseSfList(field);
  if (!items) return [];
  const byName = new Map<string, SfItem>();
  for (const p of policies) {
    const name = sfName(p.value);
    if (name !== undefined && sfCount(p.params.get('q')) !== undefined) byName.set(name, p);
  }
  const quotas: Quota[] = [];
  for (const item of items) {
    const remaining = sfCount(item.params.get('r'));
    if (remaining === undefined) continue; // r is REQUIRED: an item without it says nothing usable
    const name = sfName(item.value) ?? 'default';
    const t = sfCount(item.params.get('t'));
    const policy = byName.get(name);
    byName.delete(name);
    quotas.push(
      quota({
        dialect: 'ietf',
        name,
        unit: policy ? unitOf(policy) : 'requests',
        limit: policy ? sfCount(policy.params.get('q')) : undefined,
        remaining,
        resetMs: t === undefined ? undefined : t * 1000,
        windowMs: policy ? windowOf(policy) : undefined,
      }),
    );
  }
  for (const [name, policy] of byName) {
    quotas.push(quota({ dialect: 'ietf', name, unit: unitOf(policy), limit: sfCount(policy.params.get('q')), windowMs: windowOf(policy) }));
  }
  return quotas;
}

function readDictionary(field: string, policies: SfItem[], nowEpochMs: number): Quota[] {
  const values = new Map<string, string>();
  for (const part of field.split(/[,;]/)) {
    const eq = part.indexOf('=');
    if (eq > 0) values.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const limit = finiteCount(parseCount(values.get('limit')));
  const remaining = finiteCount(parseCount(values.get('remaining')));
  const reset = values.get('reset');
  const resetMs = reset === undefined ? undefined : parseResetMs(reset, nowEpochMs);
  if (limit === undefined && remaining === undefined && resetMs === undefined) return [];
  return [quota({ dialect: 'ietf', name: 'default', unit: 'requests', limit, remaining, resetMs, windowMs: unnamedWindow(policies, limit) })];
}

function readTriple(read: HeaderReader, policies: SfItem[], nowEpochMs: number): Quota | undefined {
  const limit = parseLeadingCount(read('ratelimit-limit'));
  const remaining = finiteCount(parseCount(read('ratelimit-remaining')));
  const reset = read('ratelimit-reset');
  const resetMs = reset === undefined ? undefined : parseResetMs(reset, nowEpochMs);
  if (limit === undefined && remaining === undefined && resetMs === undefined) return undefined;
  return quota({ dialect: 'ietf', name: 'default', unit: 'requests', limit, remaining, resetMs, windowMs: unnamedWindow(policies, limit) });
}

/** Drafts 03–07 wrote policies as `100;w=60`: the window of the one matching the limit. */
function unnamedWindow(policies: SfItem[], limit: number | undefined): number | undefined {
  const unnamed = policies.filter((p) => typeof p.value === 'number');
  const match = unnamed.find((p) => p.value === limit) ?? unnamed[0];
  return match ? windowOf(match) : undefined;
}

function windowOf(policy: SfItem): number | undefined {
  const w = sfCount(policy.params.get('w'));
  return w === undefined || w === 0 ? undefined : w * 1000;
}

function unitOf(policy: SfItem): string {
  const qu = policy.params.get('qu');
  return typeof qu === 'string' && qu !== '' ? qu : 'requests';
}
