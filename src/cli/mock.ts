import { ConfigError } from '../core/errors.js';
import { parseCommandArgs } from './args.js';
import { startMockApi, type MockApi } from '../http/mock/index.js';
import { resolveOptions, type MockApiOptions } from '../http/mock/options.js';
import type { HeaderDialect } from '../http/mock/headers.js';

const USAGE = `usage: sluice mock [options]

Starts a rate-limited HTTP API on 127.0.0.1 for tests, demos and benchmarks.

options:
  --port N             port (default 0: any free port)
  --records N          records in the data set (default 1000)
  --seed N             seed of data, latency and faults (default 1)
  --rate R             a limit, e.g. 100/1m; repeat for several (default 100/1m; 'none' for no limit)
  --per-key HEADER     one quota per API key found in HEADER, e.g. x-api-key (default: one global quota)
  --headers D          ietf | ietf-triple | x | openai | none (default ietf)
  --x-reset F          X-RateLimit-Reset as epoch | delta seconds (default epoch)
  --latency L          e.g. 200ms, 200ms-1.5s, or a schedule 8s-30s:2m,100ms-300ms (default 0)
  --faults F           e.g. 5xx=0.01,reset=0.005,hang=0.001,truncated=0.01,malformed=0.01
  --time-scale K       run mock time K times faster (60: minutes become seconds)
  --chat-rate R        chat completions per window (default 60/1m)
  --chat-tokens R      chat tokens per window (default 10000/1m)
  --tree R,I,C         repositories, issues per repository, comments per issue (default 10,20,5)
  --oauth ID:SECRET    an OAuth2 client-credentials endpoint; data endpoints then need its token
  --token-ttl D        how long a token lives (default 1h)
  --cost PATTERN=N     what a request to matching paths costs in every limit, e.g. '/repos/*/issues=2'; repeatable
`;

export interface MockCommandIo {
  stdout?: ((text: string) => void) | undefined;
  stderr?: ((text: string) => void) | undefined;
  /** Stops the mock (the CLI stops on SIGINT/SIGTERM). */
  signal?: AbortSignal | undefined;
  /** Called once the mock listens; tests use it to reach the server. */
  onReady?: ((mock: MockApi) => void) | undefined;
}

/**
 * runMockCommand: `sluice mock [options]`. Resolves with the exit code: 0 after a clean stop,
 * 2 for a bad option (the message names it).
 */
export async function runMockCommand(argv: string[], io: MockCommandIo = {}): Promise<number> {
  const out = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => void process.stderr.write(text));
  let options: MockApiOptions;
  try {
    options = toOptions(argv);
  } catch (error) {
    if (error instanceof HelpRequested) {
      out(USAGE);
      return 0;
    }
    err(`sluice mock: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  let mock: MockApi;
  try {
    mock = await startMockApi(options);
  } catch (error) {
    err(`sluice mock: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof ConfigError ? 2 : 1;
  }
  out(describe(mock, options));
  io.onReady?.(mock);
  await stopped(io.signal);
  await mock.close();
  out('sluice mock: stopped\n');
  return 0;
}

class HelpRequested extends Error {}

function toOptions(argv: string[]): MockApiOptions {
  const { values, positionals } = parseCommandArgs(
    'mock',
    argv,
    {
      port: { type: 'string' },
      records: { type: 'string' },
      seed: { type: 'string' },
      rate: { type: 'string', multiple: true },
      'per-key': { type: 'string' },
      headers: { type: 'string' },
      'x-reset': { type: 'string' },
      latency: { type: 'string' },
      faults: { type: 'string' },
      'time-scale': { type: 'string' },
      'chat-rate': { type: 'string' },
      'chat-tokens': { type: 'string' },
      tree: { type: 'string' },
      oauth: { type: 'string' },
      'token-ttl': { type: 'string' },
      cost: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) throw new HelpRequested();
  if (positionals.length > 0) throw new ConfigError('arguments', positionals.join(' '), 'sluice mock takes options only');
  const rates = values.rate ?? ['100/1m'];
  const options: MockApiOptions = {
    port: int(values.port, '--port'),
    records: int(values.records, '--records'),
    seed: int(values.seed, '--seed'),
    limits: rates.length === 1 && rates[0] === 'none' ? [] : rates,
    headers: values.headers as HeaderDialect | undefined,
    xReset: values['x-reset'] as 'epoch' | 'delta' | undefined,
    latency: values.latency,
    faults: values.faults,
    timeScale: values['time-scale'] === undefined ? undefined : num(values['time-scale'], '--time-scale'),
    chat: { requests: values['chat-rate'], tokens: values['chat-tokens'] },
  };
  if (values.tree !== undefined) {
    const parts = values.tree.split(',');
    if (parts.length !== 3) throw new ConfigError('--tree', values.tree, 'must be three whole numbers: repositories,issues per repository,comments per issue');
    options.tree = { repos: int(parts[0], '--tree'), issuesPerRepo: int(parts[1], '--tree'), commentsPerIssue: int(parts[2], '--tree') };
  }
  if (values.oauth !== undefined) {
    const colon = values.oauth.indexOf(':');
    if (colon < 1 || colon === values.oauth.length - 1) throw new ConfigError('--oauth', '[redacted]', 'must be CLIENT_ID:CLIENT_SECRET');
    options.oauth = { clientId: values.oauth.slice(0, colon), clientSecret: values.oauth.slice(colon + 1), tokenTtl: values['token-ttl'] };
  } else if (values['token-ttl'] !== undefined) throw new ConfigError('--token-ttl', values['token-ttl'], 'applies to --oauth: give it too');
  if (values.cost !== undefined) {
    options.costs = {};
    for (const item of values.cost) {
      const m = /^(\/\S*)=(\d+)$/.exec(item);
      if (!m) throw new ConfigError('--cost', item, "must be PATTERN=N, e.g. '/repos/*/issues=2'");
      options.costs[m[1]!] = Number(m[2]);
    }
  }
  if (values['per-key'] !== undefined) {
    options.limitBy = 'key';
    options.keyHeader = values['per-key'];
  }
  return checked(options);
}

const FLAG_OF: Record<string, string> = {
  port: '--port',
  records: '--records',
  seed: '--seed',
  limits: '--rate',
  headers: '--headers',
  xReset: '--x-reset',
  latency: '--latency',
  faults: '--faults',
  timeScale: '--time-scale',
  keyHeader: '--per-key',
  'chat.requests': '--chat-rate',
  'chat.tokens': '--chat-tokens',
  tree: '--tree',
  'oauth.tokenTtl': '--token-ttl',
  oauth: '--oauth',
  costs: '--cost',
};

/** Validates through the library now, so a bad option is reported before anything listens, under its flag's name. */
function checked(options: MockApiOptions): MockApiOptions {
  try {
    resolveOptions(options);
    return options;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const key = Object.keys(FLAG_OF)
      .filter((k) => error.field === k || error.field.startsWith(`${k}.`) || error.field.startsWith(`${k}[`))
      .sort((a, b) => b.length - a.length)[0];
    if (key === undefined) throw error;
    throw new Error(`${FLAG_OF[key]}: ${error.message.slice(error.field.length + 2)}`);
  }
}

function int(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigError(flag, value, 'must be a whole number');
  return Number(value);
}

function num(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new ConfigError(flag, value, 'must be a number');
  return n;
}

function describe(mock: MockApi, options: MockApiOptions): string {
  const e = mock.endpoints;
  const limits = Array.isArray(options.limits) && options.limits.length === 0 ? 'none' : JSON.stringify(options.limits);
  return [
    `sluice mock listening on ${mock.url}`,
    `  limits ${limits} (${options.limitBy === 'key' ? `per key in ${options.keyHeader ?? 'x-api-key'}` : 'global'}), headers ${options.headers ?? 'ietf'}`,
    '',
    `  GET  ${e.offset}      offset/limit: { count, next, previous, results }`,
    `  GET  ${e.pages}  page/per_page: { page, per_page, total, total_pages, data }`,
    `  GET  ${e.cursor}       cursor: { data, next_cursor }`,
    `  GET  ${e.link}     Link header rel="next", body is an array`,
    `  GET  ${e.record}                one record`,
    `  GET  ${e.repos}      repositories; /repos/:repo/issues?since=…, /repos/:repo/issues/:number/comments`,
    ...(options.oauth ? [`  POST ${e.token}               OAuth2 client credentials (data endpoints need its token)`] : []),
    `  POST ${e.chat}     OpenAI-compatible, RPM and TPM`,
    `  GET  ${e.stats}                    requests, 429s, faults, violations`,
    `  POST ${e.reset}                    clear stats and limits`,
    `  POST ${e.change}   change 1 % of the issues now`,
    '',
    'Ctrl-C stops it.',
    '',
  ].join('\n');
}

function stopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    if (signal?.aborted) return done();
    signal?.addEventListener('abort', done, { once: true });
    if (!signal) {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    }
  });
}
