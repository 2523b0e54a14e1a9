import { systemClock, type Clock } from '../../core/clock.js';
import { parseDuration, parseRate, type Duration, type RateInput } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';
import { parseFaults, type FaultRates } from './faults.js';
import { HEADER_DIALECTS, type HeaderDialect } from './headers.js';
import { parseLatency, type LatencyInput, type LatencyModel } from './latency.js';
import type { MockLimit } from './limits.js';
import type { MockOAuthConfig } from './oauth.js';
import type { TreeShape } from './tree.js';
import { pathGlob } from '../../core/path-glob.js';

/** A limit of the mock: a rate (`'100/1m'`), or one with the name its headers give it. */
export type MockLimitInput = RateInput | { rate: RateInput; name?: string };

export interface MockChatOptions {
  /** Requests per window for `/v1/chat/completions`. Default `'60/1m'`. */
  requests?: RateInput | undefined;
  /** Tokens per window: a request needs room for its prompt plus `max_tokens`, and is charged what it used. Default `'10000/1m'`. */
  tokens?: RateInput | undefined;
  /** `max_tokens` when a request sets none. Default 256. */
  defaultMaxTokens?: number | undefined;
  /**
   * What a request needs room for in the token window: `'max_tokens'` (default) its prompt
   * plus `max_tokens`, as OpenAI reserves them; `'usage'` the tokens its answer will use — a
   * server that counts only what was used, where a request arriving without room for them
   * is a violation (a client whose estimates are often short is judged on what it used).
   */
  admit?: 'max_tokens' | 'usage' | undefined;
  /** `'openai'` (default) sends OpenAI's headers; `'none'` hides the limits. */
  headers?: 'openai' | 'none' | undefined;
}

export interface MockApiOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number | undefined;
  /** Records in the data set. Default 1000. */
  records?: number | undefined;
  /** Seed of the data set, latencies and faults. Default 1. */
  seed?: number | undefined;
  /** Page size when a request sets none. Default 20. */
  pageSize?: number | undefined;
  /** Largest page a request may ask for. Default 1000. */
  maxPageSize?: number | undefined;
  /** Limits on the data endpoints, all enforced (sliding window, exact). Default: none. */
  limits?: MockLimitInput | readonly MockLimitInput[] | undefined;
  /** `'global'` (default): one quota for everyone; `'key'`: one per value of `keyHeader`. */
  limitBy?: 'global' | 'key' | undefined;
  /** The header that carries the API key when `limitBy` is `'key'`. Default `'x-api-key'`. */
  keyHeader?: string | undefined;
  /** Rate-limit header dialect of the data endpoints. Default `'ietf'`. */
  headers?: HeaderDialect | undefined;
  /** `X-RateLimit-Reset` as `'epoch'` seconds (default, as GitHub) or `'delta'` seconds. */
  xReset?: 'epoch' | 'delta' | undefined;
  /**
   * Admit a request this early (real time) — for clients whose requests cross a network with
   * jitter. Default 0: exact. A request admitted by grace is not a violation.
   */
  grace?: Duration | undefined;
  /** Latency of every answer (see LatencyInput); changeable with `setLatency`. Default 0. */
  latency?: LatencyInput | undefined;
  /** Fault probabilities per admitted request. Default none. */
  faults?: FaultRates | string | undefined;
  chat?: MockChatOptions | undefined;
  /** Mock time runs this many times faster than real time: 60 makes `'100/1m'` a 100/s limit and `'8s-30s'` 133–500 ms. Default 1. */
  timeScale?: number | undefined;
  /** The clock the mock measures time with. Default: systemClock (`performance.now()`). */
  clock?: Clock | undefined;
  /** Wall-clock time at start, epoch ms, for epoch resets. Default `Date.now()`. */
  startEpochMs?: number | undefined;
  /** The repositories → issues → comments data set (tree.ts). Default 10 × 20 × 5. */
  tree?: { repos?: number | undefined; issuesPerRepo?: number | undefined; commentsPerIssue?: number | undefined } | undefined;
  /** An OAuth2 token endpoint, `POST /oauth/token`; when set, every data endpoint needs a live token. Default none. */
  oauth?: { clientId: string; clientSecret: string; tokenTtl?: Duration | undefined } | undefined;
  /**
   * What a request to a path costs in every limit, by path pattern (`*` one segment, `**`
   * any): `{ '/repos/*\/issues': 2 }`. The first pattern that matches wins; default 1.
   */
  costs?: Record<string, number> | undefined;
}

export interface ResolvedOptions {
  port: number;
  records: number;
  seed: number;
  pageSize: number;
  maxPageSize: number;
  limits: MockLimit[];
  limitBy: 'global' | 'key';
  keyHeader: string;
  headers: HeaderDialect;
  xReset: 'epoch' | 'delta';
  graceMs: number;
  latency: LatencyModel;
  faults: Required<FaultRates>;
  chat: { limits: MockLimit[]; defaultMaxTokens: number; headers: 'openai' | 'none'; admit: 'max_tokens' | 'usage' };
  timeScale: number;
  clock: Clock;
  startEpochMs: number;
  tree: TreeShape;
  oauth: MockOAuthConfig | undefined;
  costs: { pattern: RegExp; cost: number }[];
}

/** Checks every option and fills in defaults; throws ConfigError naming the first bad one. */
export function resolveOptions(options: MockApiOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'must be an object');
  const timeScale = options.timeScale ?? 1;
  if (typeof timeScale !== 'number' || !(timeScale > 0) || !Number.isFinite(timeScale)) throw new ConfigError('timeScale', timeScale, 'must be a positive number');
  const chat = options.chat ?? {};
  const headers = options.headers ?? 'ietf';
  if (!HEADER_DIALECTS.includes(headers)) throw new ConfigError('headers', headers, `must be one of ${HEADER_DIALECTS.join(', ')}`);
  const chatHeaders = chat.headers ?? 'openai';
  if (chatHeaders !== 'openai' && chatHeaders !== 'none') throw new ConfigError('chat.headers', chatHeaders, "must be 'openai' or 'none'");
  const chatAdmit = chat.admit ?? 'max_tokens';
  if (chatAdmit !== 'max_tokens' && chatAdmit !== 'usage') throw new ConfigError('chat.admit', chatAdmit, "must be 'max_tokens' or 'usage'");
  const limitBy = options.limitBy ?? 'global';
  if (limitBy !== 'global' && limitBy !== 'key') throw new ConfigError('limitBy', limitBy, "must be 'global' or 'key'");
  const xReset = options.xReset ?? 'epoch';
  if (xReset !== 'epoch' && xReset !== 'delta') throw new ConfigError('xReset', xReset, "must be 'epoch' or 'delta'");
  const keyHeader = options.keyHeader ?? 'x-api-key';
  if (typeof keyHeader !== 'string' || !/^[A-Za-z0-9-]+$/.test(keyHeader)) throw new ConfigError('keyHeader', keyHeader, 'must be a header name');
  const pageSize = integer(options.pageSize ?? 20, 'pageSize', 1);
  const maxPageSize = integer(options.maxPageSize ?? 1000, 'maxPageSize', 1);
  if (pageSize > maxPageSize) throw new ConfigError('pageSize', pageSize, `must not exceed maxPageSize (${maxPageSize})`);
  const startEpochMs = options.startEpochMs ?? Date.now();
  if (typeof startEpochMs !== 'number' || !Number.isFinite(startEpochMs)) throw new ConfigError('startEpochMs', startEpochMs, 'must be epoch milliseconds');
  return {
    port: integer(options.port ?? 0, 'port', 0, 65535),
    records: integer(options.records ?? 1000, 'records', 0),
    seed: integer(options.seed ?? 1, 'seed', 0, 2 ** 32 - 1),
    pageSize,
    maxPageSize,
    limits: toLimits(options.limits, timeScale),
    limitBy,
    keyHeader: keyHeader.toLowerCase(),
    headers,
    xReset,
    graceMs: parseDuration(options.grace ?? 0, 'grace'),
    latency: parseLatency(options.latency ?? 0, timeScale),
    faults: parseFaults(options.faults),
    chat: {
      limits: [
        { name: 'chat:requests', ...scaled(chat.requests ?? '60/1m', 'chat.requests', timeScale) },
        { name: 'chat:tokens', ...scaled(chat.tokens ?? '10000/1m', 'chat.tokens', timeScale) },
      ],
      defaultMaxTokens: integer(chat.defaultMaxTokens ?? 256, 'chat.defaultMaxTokens', 1),
      headers: chatHeaders,
      admit: chatAdmit,
    },
    timeScale,
    clock: options.clock ?? systemClock,
    startEpochMs,
    tree: treeOf(options.tree),
    oauth: oauthOf(options.oauth, timeScale),
    costs: costsOf(options.costs),
  };
}

function treeOf(tree: MockApiOptions['tree']): TreeShape {
  if (tree !== undefined && (tree === null || typeof tree !== 'object')) throw new ConfigError('tree', tree, 'must be an object');
  return {
    repos: integer(tree?.repos ?? 10, 'tree.repos', 0, 1_000_000),
    issuesPerRepo: integer(tree?.issuesPerRepo ?? 20, 'tree.issuesPerRepo', 0, 999_999),
    commentsPerIssue: integer(tree?.commentsPerIssue ?? 5, 'tree.commentsPerIssue', 0, 999),
  };
}

function oauthOf(oauth: MockApiOptions['oauth'], timeScale: number): MockOAuthConfig | undefined {
  if (oauth === undefined) return undefined;
  if (oauth === null || typeof oauth !== 'object') throw new ConfigError('oauth', oauth, 'must be { clientId, clientSecret, tokenTtl }');
  if (typeof oauth.clientId !== 'string' || oauth.clientId === '') throw new ConfigError('oauth.clientId', oauth.clientId, 'must be a non-empty string');
  if (typeof oauth.clientSecret !== 'string' || oauth.clientSecret === '') throw new ConfigError('oauth.clientSecret', '[redacted]', 'must be a non-empty string');
  const ttl = parseDuration(oauth.tokenTtl ?? '1h', 'oauth.tokenTtl');
  if (!(ttl >= 1000)) throw new ConfigError('oauth.tokenTtl', oauth.tokenTtl, 'must be at least 1s');
  return { clientId: oauth.clientId, clientSecret: oauth.clientSecret, tokenTtlMs: ttl / timeScale };
}

function costsOf(costs: MockApiOptions['costs']): { pattern: RegExp; cost: number }[] {
  if (costs === undefined) return [];
  if (costs === null || typeof costs !== 'object') throw new ConfigError('costs', costs, "must map path patterns to costs, e.g. { '/search/**': 2 }");
  return Object.entries(costs).map(([pattern, cost]) => {
    if (!pattern.startsWith('/')) throw new ConfigError(`costs['${pattern}']`, pattern, 'must be a path pattern starting with /');
    return { pattern: pathGlob(pattern), cost: integer(cost, `costs['${pattern}']`, 1) };
  });
}

function toLimits(input: MockLimitInput | readonly MockLimitInput[] | undefined, timeScale: number): MockLimit[] {
  if (input === undefined) return [];
  const list: readonly MockLimitInput[] = Array.isArray(input) ? input : [input as MockLimitInput];
  const names = new Set<string>();
  return list.map((item, i) => {
    const field = Array.isArray(input) ? `limits[${i}]` : 'limits';
    const own = typeof item === 'object' && item !== null && 'rate' in item ? item : undefined;
    const rate = scaled(own ? own.rate : (item as RateInput), own ? `${field}.rate` : field, timeScale);
    let name = own?.name ?? `per-${formatInterval(rate.intervalMs)}`;
    if (own?.name !== undefined && (typeof own.name !== 'string' || !/^[\x20-\x7e]+$/.test(own.name) || /["\\]/.test(own.name))) {
      throw new ConfigError(`${field}.name`, own.name, 'must be printable ASCII without quotes or backslashes');
    }
    for (let n = 2; names.has(name); n++) name = `${own?.name ?? `per-${formatInterval(rate.intervalMs)}`}-${n}`;
    names.add(name);
    return { name, ...rate };
  });
}

/** A rate in real time: the interval divided by timeScale. */
function scaled(input: RateInput, field: string, timeScale: number): { limit: number; intervalMs: number } {
  const rate = parseRate(input, field);
  return { limit: rate.limit, intervalMs: rate.intervalMs / timeScale };
}

function formatInterval(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;
}

function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(field, value, `must be a whole number from ${min} to ${max}`);
  }
  return value;
}
