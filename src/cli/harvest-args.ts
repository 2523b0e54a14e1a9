import type { LimitInput } from '../algorithms/limit-spec.js';
import { RateLimiter } from '../limiters/rate-limiter.js';
import { parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { DEFAULTS, type HarvestConfig, type PaginationMode } from '../harvest/config.js';
import { parseJsonPath } from '../harvest/json-path.js';
import { describeSink, sinkKindOf } from '../harvest/sinks/open-sink.js';
import { checkPrimaryKey } from '../harvest/sinks/table-layout.js';
import { parseHeader, redactTemplate, splitCredentials } from '../harvest/secrets.js';
import { UrlTemplate, type Placeholder } from '../harvest/template.js';
import { parseCommandArgs } from './args.js';

/** What the command line asks for: the engine's config, and what only the CLI does with it. */
export interface HarvestCommand {
  config: HarvestConfig;
  redis: { url: string; key: string } | undefined;
  report: string | undefined;
  json: boolean;
  quiet: boolean;
  /** The options as the report shows them: names as typed, no header value. */
  shown: Record<string, string | number | boolean | undefined>;
}

export class HelpRequested extends Error {}

const MODES: readonly PaginationMode[] = ['offset', 'page', 'cursor', 'link'];

/**
 * parseHarvestArgs: `sluice harvest <url-template> [options]` checked whole before any
 * request. Throws ConfigError naming the flag (`--rate`, `--header`, `--paginate`…) —
 * with secrets redacted from the value it shows — or HelpRequested.
 */
export function parseHarvestArgs(argv: string[], env: Record<string, string | undefined> = process.env): HarvestCommand {
  const parsed = parseCommandArgs(
    'harvest',
    argv,
    {
      paginate: { type: 'string' },
      items: { type: 'string' },
      next: { type: 'string' },
      total: { type: 'string' },
      'page-size': { type: 'string' },
      'first-page': { type: 'string' },
      'max-pages': { type: 'string' },
      rate: { type: 'string', multiple: true },
      'no-adapt': { type: 'boolean' },
      'arrival-jitter': { type: 'string' },
      concurrency: { type: 'string' },
      retries: { type: 'string' },
      timeout: { type: 'string' },
      header: { type: 'string', short: 'H', multiple: true },
      out: { type: 'string', short: 'o' },
      sink: { type: 'string' },
      'primary-key': { type: 'string' },
      write: { type: 'string' },
      'retry-failed': { type: 'boolean' },
      'allow-origin': { type: 'string', multiple: true },
      'max-body': { type: 'string' },
      redis: { type: 'string' },
      key: { type: 'string' },
      report: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  const { values: v, positionals } = parsed;
  if (v.help) throw new HelpRequested();
  if (positionals.length !== 1) throw new ConfigError('<url-template>', positionals.length, 'exactly one URL template is needed, e.g. https://api.example.com/items?offset={offset}&limit={limit}');

  const { template: text, authorization } = splitCredentials(positionals[0]!);
  const source = redactTemplate(positionals[0]!);
  const template = UrlTemplate.parse(text, '<url-template>', source);
  const paginate = modeOf(v.paginate, template.placeholders);
  const next = v.next === undefined ? undefined : parseJsonPath(v.next, '--next');
  checkPlaceholders(paginate, template.placeholders, next !== undefined, source);

  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = authorization;
  for (const h of v.header ?? []) {
    const [name, value] = parseHeader(h, env);
    headers[name.toLowerCase()] = value;
  }
  const rate = v.rate && v.rate.length > 0 ? v.rate : undefined;
  if (rate) checkRate(rate);
  const concurrency = v.concurrency === undefined || v.concurrency === 'auto' ? 'auto' : whole(v.concurrency, '--concurrency', 1, "a whole number >= 1 or 'auto'");
  const allowOrigins = new Set((v['allow-origin'] ?? []).map(originOf));
  const redisUrl = v.redis;
  if ((redisUrl === undefined) !== (v.key === undefined)) throw new ConfigError(redisUrl === undefined ? '--redis' : '--key', undefined, 'is missing: --redis <url> and --key <name> go together');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) throw new ConfigError('--redis', '[redacted]', 'must be a redis:// or rediss:// URL');
  if (redisUrl !== undefined && rate === undefined) throw new ConfigError('--redis', '[redacted]', 'shares a --rate limit: give --rate too');
  if (v['arrival-jitter'] !== undefined && rate === undefined) throw new ConfigError('--arrival-jitter', v['arrival-jitter'], 'applies to a --rate limit: give --rate too');
  const arrivalJitterMs = v['arrival-jitter'] === undefined ? undefined : jitter(v['arrival-jitter'], '--arrival-jitter');
  if (v.out !== undefined && v.sink !== undefined) throw new ConfigError('--sink', describeSink(v.sink), 'and --out go one at a time: --out writes NDJSON, --sink a database or Parquet');
  const sinkKind = v.sink === undefined ? undefined : sinkKindOf(v.sink);
  const primaryKey = v['primary-key'] === undefined ? undefined : v['primary-key'].split(',').map((field) => field.trim());
  if (primaryKey !== undefined) checkPrimaryKey(primaryKey, undefined, '--primary-key');
  if (v.write === 'merge' && sinkKind === 'parquet') throw new ConfigError('--write', v.write, 'is not possible in Parquet, whose files are immutable: append, and take the latest version of each key when reading; or use duckdb: or postgres://');
  if (primaryKey !== undefined && v.sink === undefined) throw new ConfigError('--primary-key', v['primary-key'], 'applies to a --sink (NDJSON keeps records as they come)');
  if (v.write !== undefined && v.write !== 'append' && v.write !== 'merge') throw new ConfigError('--write', v.write, "must be 'append' or 'merge'");
  if (v.write !== undefined && v.sink === undefined) throw new ConfigError('--write', v.write, 'applies to a --sink (NDJSON only appends)');
  if (v.write === 'merge' && primaryKey === undefined) throw new ConfigError('--write', v.write, 'merge needs --primary-key: the fields that tell a changed record from a new one');
  if (v['retry-failed'] && v.out === undefined && v.sink === undefined) throw new ConfigError('--retry-failed', true, 'needs --out or --sink: the failed pages are kept in the state beside the records');
  if (v.out !== undefined && v.out === v.report) throw new ConfigError('--report', v.report, 'must not be the --out file');

  const config: HarvestConfig = {
    template,
    source,
    paginate,
    pageSize: v['page-size'] === undefined ? DEFAULTS.pageSize : whole(v['page-size'], '--page-size', 1),
    firstPage: v['first-page'] === undefined ? DEFAULTS.firstPage : whole(v['first-page'], '--first-page', 0),
    items: v.items === undefined ? undefined : parseJsonPath(v.items, '--items'),
    next,
    total: v.total === undefined ? undefined : parseJsonPath(v.total, '--total'),
    maxPages: v['max-pages'] === undefined ? undefined : whole(v['max-pages'], '--max-pages', 1),
    headers,
    allowOrigins,
    maxBodyBytes: v['max-body'] === undefined ? DEFAULTS.maxBodyBytes : bytes(v['max-body'], '--max-body'),
    retries: v.retries === undefined ? DEFAULTS.retries : whole(v.retries, '--retries', 0),
    timeoutMs: v.timeout === undefined ? DEFAULTS.timeoutMs : duration(v.timeout, '--timeout'),
    rate,
    ...(arrivalJitterMs === undefined ? {} : { arrivalJitterMs }),
    adaptive: !v['no-adapt'],
    concurrency,
    out: v.out,
    ...(v.sink === undefined ? {} : { sink: v.sink }),
    ...(primaryKey === undefined ? {} : { primaryKey }),
    ...(v.write === undefined ? {} : { write: v.write as 'append' | 'merge' }),
    retryFailed: v['retry-failed'] ?? false,
  };
  return {
    config,
    redis: redisUrl === undefined ? undefined : { url: redisUrl, key: v.key! },
    report: v.report,
    json: v.json ?? false,
    quiet: v.quiet ?? false,
    shown: {
      paginate,
      'page-size': config.pageSize,
      items: v.items,
      next: v.next,
      total: v.total,
      'max-pages': config.maxPages,
      rate: rate?.join(', '),
      adapt: config.adaptive && rate !== undefined,
      'arrival-jitter': arrivalJitterMs === undefined ? undefined : `${arrivalJitterMs} ms`,
      concurrency,
      retries: config.retries,
      timeout: `${config.timeoutMs} ms`,
      headers: Object.keys(headers).join(', ') || undefined,
      out: v.out ?? (v.sink === undefined ? '(stdout)' : describeSink(v.sink)),
      'primary-key': primaryKey?.join(', '),
      write: v.write,
      'retry-failed': config.retryFailed,
      'allow-origin': [...allowOrigins].join(', ') || undefined,
      redis: redisUrl === undefined ? undefined : `key ${v.key}`,
    },
  };
}

function modeOf(value: string | undefined, placeholders: ReadonlySet<Placeholder>): PaginationMode {
  if (value !== undefined) {
    if (!MODES.includes(value as PaginationMode)) throw new ConfigError('--paginate', value, `must be one of ${MODES.join(', ')}`);
    return value as PaginationMode;
  }
  if (placeholders.has('offset')) return 'offset';
  if (placeholders.has('page')) return 'page';
  if (placeholders.has('cursor')) return 'cursor';
  throw new ConfigError('--paginate', undefined, 'is needed when the URL template has no {offset}, {page} or {cursor} (use --paginate link to follow Link headers)');
}

function checkPlaceholders(mode: PaginationMode, has: ReadonlySet<Placeholder>, withNext: boolean, shown: string): void {
  if (mode === 'offset' && !has.has('offset')) throw new ConfigError('<url-template>', shown, '--paginate offset needs {offset} in the URL template');
  if (mode === 'page' && !has.has('page')) throw new ConfigError('<url-template>', shown, '--paginate page needs {page} in the URL template');
  if (mode === 'cursor' && !withNext) throw new ConfigError('--next', undefined, '--paginate cursor needs --next <path> to the next cursor or URL in the body, e.g. --next next_cursor');
}

function checkRate(rates: string[]): void {
  for (const r of rates) {
    if (r === 'none') throw new ConfigError('--rate', r, "'none' is the default: leave --rate out for no limit of ours");
  }
  try {
    new RateLimiter({ limits: rates as LimitInput[] });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const at = /^limits\[(\d+)\]/.exec(error.field);
    throw new ConfigError('--rate', at ? rates[Number(at[1])] : rates.join(' '), "must be a rate like 100/1m, 10/s or 5000/1h");
  }
}

function whole(value: string, flag: string, min: number, what = `a whole number >= ${min}`): number {
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) throw new ConfigError(flag, value, `must be ${what}`);
  return Number(value);
}

/** A duration that may be 0 (`--arrival-jitter 0`: exact on our own clock). */
function jitter(value: string, flag: string): number {
  try {
    return parseDuration(/^\d+(\.\d+)?$/.test(value) ? Number(value) : value, flag);
  } catch {
    throw new ConfigError(flag, value, 'must be a duration like 20ms or 0');
  }
}

function duration(value: string, flag: string): number {
  let ms: number;
  try {
    ms = parseDuration(/^\d+(\.\d+)?$/.test(value) ? Number(value) : value, flag);
  } catch {
    throw new ConfigError(flag, value, 'must be a duration like 30s, 500ms or 2m');
  }
  if (!(ms > 0)) throw new ConfigError(flag, value, 'must be longer than 0');
  return ms;
}

function bytes(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?$/i.exec(value.trim());
  const unit = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 }[(match?.[2] ?? 'b').toLowerCase() as 'b'];
  const n = match ? Math.floor(Number(match[1]) * unit) : Number.NaN;
  if (!(n >= 1)) throw new ConfigError(flag, value, 'must be a size like 32mb, 512kb or 1000000');
  return n;
}

function originOf(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('--allow-origin', value, 'must be an origin like https://api.example.com');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
    throw new ConfigError('--allow-origin', url.origin, 'must be an http or https origin without credentials');
  }
  return url.origin;
}
