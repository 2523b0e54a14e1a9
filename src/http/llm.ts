import { RateLimiter } from '../limiters/rate-limiter.js';
import { quotaLimits, TokenQuota } from '../limiters/token-quota.js';
import type { LimitInput } from '../algorithms/limit-spec.js';
import type { RateStore } from '../store/store.js';
import { systemClock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { sluiceFetch, type SluiceFetch } from './fetch.js';
import type { FetchQuota, QuotaTicket, SluiceFetchOptions } from './fetch-options.js';

export interface LlmFetchOptions extends Omit<SluiceFetchOptions, 'rate' | 'quota'> {
  /**
   * Requests per window (RPM): `'60/1m'`, a limit with options (`{ rate: '500/1m', burst: 50 }`),
   * several, or a RateLimiter to share. Given as rates they are sliding windows whose
   * `burst` is the whole limit unless set, as the server counts them. Default: none.
   */
  requests?: LimitInput | readonly LimitInput[] | RateLimiter | undefined;
  /**
   * Tokens per window (TPM), as `requests`: `'10000/1m'`, `{ rate: '90000/1m', burst: 5000 }`,
   * several (`['90000/1m', '2000000/1d']`, every one enforced), or a RateLimiter (see
   * TokenQuotaOptions.tokens).
   */
  tokens: LimitInput | readonly LimitInput[] | RateLimiter;
  /**
   * The tokens a request will use at most, from its parsed JSON body. Default
   * `estimateChatTokens`: prompt characters / 4 plus `max_completion_tokens` or `max_tokens`.
   */
  estimate?: ((body: unknown) => number) | undefined;
  /** `max_tokens` assumed when a request sets none, for the default estimate. Default 1024. */
  defaultMaxTokens?: number | undefined;
  /** `requests` and `tokens` windows (given as rates) are made this much longer, against jitter. Default 0.02. */
  margin?: number | undefined;
  /**
   * Where `requests` and `tokens` given as rates live. Default: a MemoryStore each. A
   * RedisStore shares them with every process using the same `key`: a fleet on one API key.
   */
  store?: RateStore | undefined;
  /** Their name in `store`: `${key}:requests` and `${key}:tokens`. Default `'llm'`. */
  key?: string | undefined;
}

/**
 * llmFetch: sluiceFetch for an LLM API with RPM and TPM limits together. Each attempt takes
 * a request from `requests` and reserves its estimated tokens from `tokens`; the answer's
 * `usage.total_tokens` then corrects that very reservation — the excess given back, a
 * shortfall charged where the call started — so the token window holds what was really
 * used, when it was used, as the server's does, however many calls are in flight. A 429
 * gives all its tokens back (a refused request uses none), as does an attempt aborted
 * before it was sent; any other answer without a usage block (an error, a stream) keeps the
 * estimate, the safe side. Calls made before the first answer are counted from their
 * answers (TokenQuota `coldCalls: 'answer'`): a cold first request can reach the server
 * late. Adaptive rate is off unless asked for: the limits are known.
 */
export function llmFetch(options: LlmFetchOptions): SluiceFetch {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
  const { requests, tokens, estimate, defaultMaxTokens, margin, store, key, arrivalJitter, ...rest } = options;
  const m = margin ?? 0.02;
  const clock = rest.clock ?? systemClock;
  const name = key ?? 'llm';
  if (typeof name !== 'string' || name === '') throw new ConfigError('key', key, 'must be a non-empty string');
  if (tokens === undefined) throw new ConfigError('tokens', tokens, "is required, e.g. '10000/1m'");
  const quota = new ChatTokenQuota(new TokenQuota({ tokens, margin: m, clock, coldCalls: 'answer', store, key: `${name}:tokens` }), estimate, defaultMaxTokens ?? 1024);
  const jitter = arrivalJitter === undefined ? {} : { arrivalJitter };
  const rate =
    requests === undefined || requests instanceof RateLimiter
      ? requests
      : new RateLimiter({ limits: quotaLimits(requests, m, 'requests'), clock, store, key: `${name}:requests`, ...jitter });
  return sluiceFetch({ adaptive: false, ...rest, ...(rate === undefined ? {} : { rate }), quota });
}

/** ChatTokenQuota: a TokenQuota as sluiceFetch's per-attempt quota, reading OpenAI-shaped bodies. */
export class ChatTokenQuota implements FetchQuota {
  constructor(
    readonly tokens: TokenQuota,
    private readonly estimate: ((body: unknown) => number) | undefined,
    private readonly defaultMaxTokens: number,
  ) {
    if (estimate !== undefined && typeof estimate !== 'function') throw new ConfigError('estimate', estimate, 'must be a function (body) => tokens');
    if (!(Number.isSafeInteger(defaultMaxTokens) && defaultMaxTokens >= 1)) throw new ConfigError('defaultMaxTokens', defaultMaxTokens, 'must be a positive integer');
  }

  async reserve(request: Request, signal: AbortSignal | undefined): Promise<QuotaTicket> {
    const body = await readJson(request.clone());
    const tokens = this.estimate ? this.estimate(body) : estimateChatTokens(body, this.defaultMaxTokens);
    const reservation = await this.tokens.reserve(tokens, signal);
    return {
      settle: async (response) => {
        if (response === 'unsent' || response?.status === 429) return this.tokens.settle(reservation, 0);
        // usage unknown: the estimate stays (and a first call's moves to its answer)
        if (response === undefined || !response.ok) return this.tokens.settle(reservation, undefined);
        await this.tokens.settle(reservation, await usageOf(response));
      },
    };
  }
}

/**
 * estimateChatTokens: the most tokens an OpenAI-style chat request can use — its messages'
 * text at four characters a token (OpenAI's rule of thumb, and the mock's), plus
 * `max_completion_tokens` or `max_tokens` (else `defaultMaxTokens`). At least 1.
 */
export function estimateChatTokens(body: unknown, defaultMaxTokens = 1024): number {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  let chars = 0;
  if (Array.isArray(fields.messages)) {
    for (const message of fields.messages) {
      const content = typeof message === 'object' && message !== null ? (message as { content?: unknown }).content : undefined;
      if (typeof content === 'string') chars += content.length;
      else if (Array.isArray(content)) for (const part of content) chars += textOf(part).length;
    }
  }
  if (typeof fields.prompt === 'string') chars += fields.prompt.length;
  const max = fields.max_completion_tokens ?? fields.max_tokens;
  const completion = typeof max === 'number' && Number.isFinite(max) && max > 0 ? max : defaultMaxTokens;
  return Math.max(1, Math.ceil(chars / 4) + completion);
}

/** `usage.total_tokens` of a JSON answer, or undefined (not JSON, a stream, no usage). */
async function usageOf(response: Response): Promise<number | undefined> {
  if (!(response.headers.get('content-type') ?? '').includes('json')) return undefined;
  const body = await readJson(response.clone());
  const usage = typeof body === 'object' && body !== null ? (body as { usage?: { total_tokens?: unknown } }).usage : undefined;
  return typeof usage?.total_tokens === 'number' ? usage.total_tokens : undefined;
}

async function readJson(message: Request | Response): Promise<unknown> {
  try {
    return JSON.parse(await message.text()) as unknown;
  } catch {
    return undefined;
  }
}

function textOf(part: unknown): string {
  const text = typeof part === 'object' && part !== null ? (part as { text?: unknown }).text : undefined;
  return typeof text === 'string' ? text : '';
}
