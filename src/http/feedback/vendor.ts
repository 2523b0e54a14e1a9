import { finiteCount, parseCount, type HeaderReader } from './headers.js';
import { quota, type Quota } from './quota.js';
import { parseDateFromNow, parseGoDuration, parseResetMs } from '../../core/http-time.js';

/**
 * `X-RateLimit-Limit/-Remaining/-Reset` (GitHub, Twitter, most gateways) and the
 * `X-Rate-Limit-*` spelling. Reset may be epoch seconds, epoch ms or delta seconds
 * (parseResetMs tells them apart); Discord's `X-RateLimit-Reset-After` (delta seconds,
 * decimal) wins when present because it needs no clock agreement.
 */
export function readXRateLimit(read: HeaderReader, nowEpochMs: number): Quota[] {
  const quotas: Quota[] = [];
  for (const prefix of ['x-ratelimit-', 'x-rate-limit-']) {
    const limit = finiteCount(parseCount(read(`${prefix}limit`)));
    const remaining = finiteCount(parseCount(read(`${prefix}remaining`)));
    const after = parseCount(read(`${prefix}reset-after`));
    const reset = read(`${prefix}reset`);
    const resetMs = after !== undefined ? after * 1000 : reset === undefined ? undefined : parseResetMs(reset, nowEpochMs);
    if (limit === undefined && remaining === undefined && resetMs === undefined) continue;
    quotas.push(quota({ dialect: 'x-ratelimit', name: 'default', unit: 'requests', limit, remaining, resetMs }));
  }
  return quotas;
}

/**
 * OpenAI: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, reset as a Go duration
 * until the quota is full again (`6m0s`, `20ms`, `1.5s`). Azure sends `-1` for "unknown",
 * which reads as unknown here.
 */
export function readOpenAi(read: HeaderReader): Quota[] {
  const quotas: Quota[] = [];
  for (const unit of ['requests', 'tokens']) {
    const limit = finiteCount(parseCount(read(`x-ratelimit-limit-${unit}`)));
    const remaining = finiteCount(parseCount(read(`x-ratelimit-remaining-${unit}`)));
    const reset = read(`x-ratelimit-reset-${unit}`);
    const resetMs = reset === undefined ? undefined : parseGoDuration(reset);
    if (limit === undefined && remaining === undefined && resetMs === undefined) continue;
    quotas.push(quota({ dialect: 'openai', name: unit, unit, limit, remaining, resetMs }));
  }
  return quotas;
}

/**
 * Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`,
 * reset as an RFC 3339 instant when the quota is full again.
 */
export function readAnthropic(read: HeaderReader, nowEpochMs: number): Quota[] {
  const quotas: Quota[] = [];
  for (const unit of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    const limit = finiteCount(parseCount(read(`anthropic-ratelimit-${unit}-limit`)));
    const remaining = finiteCount(parseCount(read(`anthropic-ratelimit-${unit}-remaining`)));
    const reset = read(`anthropic-ratelimit-${unit}-reset`);
    const resetMs = reset === undefined ? undefined : (parseDateFromNow(reset, nowEpochMs) ?? parseResetMs(reset, nowEpochMs));
    if (limit === undefined && remaining === undefined && resetMs === undefined) continue;
    quotas.push(quota({ dialect: 'anthropic', name: unit, unit, limit, remaining, resetMs }));
  }
  return quotas;
}
