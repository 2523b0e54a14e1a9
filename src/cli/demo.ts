import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { startMockApi } from '../http/mock/index.js';
import { parseCommandArgs } from './args.js';
import { runHarvestCommand } from './harvest.js';
import { describeSink, sinkKindOf } from '../harvest/sinks/open-sink.js';

const USAGE = `usage: sluice demo [--dir <directory>] [--sink <url>]

Two harvests of embedded mock APIs, about 20 s, no network:
  1. one endpoint (6,000 records, 600 requests a minute, answers in 100–800 ms, a few
     injected faults) with sluice harvest: paced at the limit, faults retried, records in
     an NDJSON file and an HTML report beside it;
  2. a whole source (sluice harvest --config): 20 repositories → their 600 issues, fetched
     for each repository under one shared budget of 20 requests a second, into DuckDB
     (when @duckdb/node-api is installed; NDJSON files otherwise), with its report.

options:
  --dir <directory>  where the records and the reports go (default: a fresh temp directory)
  --sink <url>       where part 2 goes instead: postgres://…, duckdb:FILE or parquet:DIR
  -h, --help         this help; the demo does not run
`;

/**
 * runDemo: `sluice demo` (and `npm start`). Two harvests with the real command against
 * embedded mock APIs, no network: one endpoint paced at its limit with faults retried, into
 * NDJSON with an HTML report; then a whole source — repositories and the issues of each,
 * under one budget — into DuckDB when its driver is installed (NDJSON files otherwise, or
 * `--sink` wherever the caller says), with the report showing each resource. `--dir` keeps
 * the files somewhere other than a fresh temp directory.
 */
export async function runDemo(argv: string[] = []): Promise<number> {
  let values;
  try {
    ({ values } = parseCommandArgs('demo', argv, { dir: { type: 'string' }, sink: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, false));
    if (values.sink !== undefined) sinkKindOf(values.sink, '--sink');
  } catch (error) {
    process.stderr.write(`sluice demo: ${(error as ConfigError).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const dir = values.dir ?? (await mkdtemp(join(tmpdir(), 'sluice-demo-')));
  await mkdir(dir, { recursive: true });
  const one = await oneEndpoint(dir);
  if (one !== 0) return one;
  return await wholeSource(dir, values.sink);
}

const say = (text: string): void => void process.stderr.write(text);

async function oneEndpoint(dir: string): Promise<number> {
  const mock = await startMockApi({ records: 6000, limits: '600/1m', headers: 'ietf', latency: '100ms-800ms', faults: '5xx=0.02,reset=0.01,malformed=0.01', seed: 7 });
  const out = join(dir, 'records.ndjson');
  const report = join(dir, 'report.html');
  // A demo starts over each time: a finished state would make the harvest a no-op.
  for (const file of [out, `${out}.state.json`, `${out}.failed.ndjson`]) await rm(file, { force: true });
  say(`sluice demo, 1 of 2: a mock API on ${mock.url} — 6,000 records, limit 600/min, latency 100–800 ms, 4% faults\n`);
  say(`  sluice harvest '${mock.url}/records?offset={offset}&limit={limit}' --page-size 50 --rate 600/1m --out ${out} --report ${report}\n\n`);
  try {
    const code = await runHarvestCommand([`${mock.url}/records?offset={offset}&limit={limit}`, '--page-size', '50', '--rate', '600/1m', '--out', out, '--report', report]);
    const stats = mock.stats();
    say(`\nthe mock saw ${stats.requests} requests, ${stats.faults['5xx'] + stats.faults.reset + stats.faults.malformed} injected faults, ${stats.violations.total} over its limit\n`);
    say(`records: ${out}\nreport:  ${report} (open it in a browser)\n`);
    return code;
  } finally {
    await mock.close();
  }
}

/** Part 2's API: 20 repositories of 30 issues, 10 issues a page, at most 20 requests a second. */
const TREE = { repos: 20, issuesPerRepo: 30, commentsPerIssue: 0 };
const TREE_RATE = '20/1s';

async function wholeSource(dir: string, given: string | undefined): Promise<number> {
  const mock = await startMockApi({ tree: TREE, limits: TREE_RATE, latency: '100ms-500ms', seed: 7 });
  const work = join(dir, 'source');
  const file = join(dir, 'source.json');
  const report = join(dir, 'source-report.html');
  let sink = given;
  let into = given === undefined ? undefined : describeSink(given);
  // A demo starts over each time (a sink the caller names is theirs: it is only added to).
  await rm(work, { recursive: true, force: true });
  if (sink === undefined && (await hasDuckDb())) {
    const database = join(dir, 'demo.duckdb');
    for (const f of [database, `${database}.wal`]) await rm(f, { force: true });
    sink = `duckdb:${database}`;
    into = `DuckDB (${database}), a table per resource`;
  }
  await writeFile(
    file,
    `${JSON.stringify(
      {
        client: { baseUrl: mock.url, rate: TREE_RATE },
        defaults: { pagination: { type: 'link', limitParam: 'per_page', limit: 10 }, primaryKey: 'id' },
        resources: {
          repos: { path: '/repos', pagination: { type: 'link', limitParam: 'per_page', limit: 100 } },
          issues: { path: '/repos/{resources.repos.name}/issues', include: ['name'] },
        },
      },
      null,
      2,
    )}\n`,
  );
  const argv = ['--config', file, '--out', work, ...(sink === undefined ? [] : ['--sink', sink]), '--report', report];
  say(`\nsluice demo, 2 of 2: a whole API on ${mock.url} — ${TREE.repos} repositories → ${TREE.repos * TREE.issuesPerRepo} issues, one budget of ${TREE_RATE}\n`);
  say(`  sluice harvest ${argv.join(' ')}\n  (${file} names the resources; issues are fetched for each repository)\n\n`);
  try {
    const code = await runHarvestCommand(argv);
    const stats = mock.stats();
    say(`\nthe mock saw ${stats.requests} requests, ${stats.violations.total} over its limit\n`);
    say(`records: ${into ?? `${work}/repos.ndjson and ${work}/issues.ndjson`}\nreport:  ${report} (open it in a browser)\n`);
    return code;
  } finally {
    await mock.close();
  }
}

/** Whether DuckDB's driver (an optional peer) can be loaded. */
async function hasDuckDb(): Promise<boolean> {
  try {
    await import('@duckdb/node-api');
    return true;
  } catch {
    return false;
  }
}
