import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { startMockApi } from '../http/mock/index.js';
import { parseCommandArgs } from './args.js';
import { runHarvestCommand } from './harvest.js';
import { describeSink, sinkKindOf } from '../harvest/sinks/open-sink.js';

const USAGE = `usage: sluice demo [--dir <directory>] [--sink <url>]

Starts the embedded mock API (6,000 records, 600 requests a minute, answers in 100–800 ms,
a few injected faults) and harvests it with sluice harvest: paced at the limit, faults
retried, records in an NDJSON file and an HTML report beside it. Then a two-level source
from the same mock — repositories → issues → comments, each child fetched as its parent's
records are committed, under the same limit — into DuckDB (when @duckdb/node-api is
installed; else NDJSON files), or into --sink. About 20 s, no network.

options:
  --dir <directory>  where the records and the report go (default: a fresh temp directory)
  --sink <url>       where the source goes: postgres://…, duckdb:FILE or parquet:DIR
  -h, --help         this help; the demo does not run
`;

/** The demo's source: dlt's GitHub example against the mock (docs/harvest-pipeline.md). */
const DEMO_TREE = { repos: 4, issuesPerRepo: 6, commentsPerIssue: 3 };

/**
 * runDemo: `sluice demo` (and `npm start`). Starts the embedded mock API — 6,000 records,
 * a limit of 600 requests a minute, answers in 100–800 ms, a few injected faults — and
 * harvests it with the real command: paced at the limit, faults retried, records in an
 * NDJSON file, an HTML report beside it. About 15 s, no network. `--dir` keeps the files
 * somewhere other than a fresh temp directory.
 */
export async function runDemo(argv: string[] = []): Promise<number> {
  let values;
  try {
    ({ values } = parseCommandArgs('demo', argv, { dir: { type: 'string' }, sink: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, false));
    if (values.sink !== undefined) sinkKindOf(values.sink);
  } catch (error) {
    process.stderr.write(`sluice demo: ${(error as ConfigError).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const dir = values.dir ?? (await mkdtemp(join(tmpdir(), 'sluice-demo-')));
  const mock = await startMockApi({ records: 6000, tree: DEMO_TREE, limits: '600/1m', headers: 'ietf', latency: '100ms-800ms', faults: '5xx=0.02,reset=0.01,malformed=0.01', seed: 7 });
  const out = join(dir, 'records.ndjson');
  const report = join(dir, 'report.html');
  // A demo starts over each time: a finished state would make the harvest a no-op.
  await mkdir(dir, { recursive: true });
  for (const file of [out, `${out}.state.json`, `${out}.failed.ndjson`]) await rm(file, { force: true });
  const say = (text: string): void => void process.stderr.write(text);
  say(`sluice demo: a mock API on ${mock.url} — 6,000 records, limit 600/min, latency 100–800 ms, 4% faults\n`);
  say(`  sluice harvest '${mock.url}/records?offset={offset}&limit={limit}' --page-size 50 --rate 600/1m --out ${out} --report ${report}\n\n`);
  try {
    const code = await runHarvestCommand([`${mock.url}/records?offset={offset}&limit={limit}`, '--page-size', '50', '--rate', '600/1m', '--out', out, '--report', report]);
    const stats = mock.stats();
    say(`\nthe mock saw ${stats.requests} requests, ${stats.faults['5xx'] + stats.faults.reset + stats.faults.malformed} injected faults, ${stats.violations.total} over its limit\n`);
    say(`records: ${out}\nreport:  ${report} (open it in a browser)\n\n`);
    if (code !== 0) return code;
    return await demoSource(mock.url, dir, values.sink, say);
  } finally {
    await mock.close();
  }
}

/**
 * The second part: a two-level source (repositories → issues → comments) from the same mock,
 * under the same limit, into DuckDB when its driver is installed (NDJSON files otherwise),
 * or into `sink`; the harvest prints each resource's records and pages.
 */
async function demoSource(url: string, dir: string, sink: string | undefined, say: (text: string) => void): Promise<number> {
  const file = join(dir, 'source.json');
  const out = join(dir, 'source');
  const duckdb = join(dir, 'source.duckdb');
  // A demo starts over each time: finished states would make the source a no-op.
  for (const path of [out, duckdb, `${duckdb}.wal`]) await rm(path, { recursive: true, force: true });
  await writeFile(
    file,
    `${JSON.stringify(
      {
        client: { baseUrl: url, rate: '600/1m' },
        defaults: { pagination: { type: 'link', limitParam: 'per_page', limit: 100 }, primaryKey: 'id' },
        resources: {
          repos: { path: '/repos' },
          issues: { path: '/repos/{resources.repos.name}/issues', include: ['name'] },
          comments: { path: '/repos/{resources.issues._repos_name}/issues/{resources.issues.number}/comments', include: ['number'] },
        },
      },
      null,
      2,
    )}\n`,
  );
  const into = sink ?? (hasDuckDb() ? `duckdb:${duckdb}` : undefined);
  const { repos, issuesPerRepo, commentsPerIssue } = DEMO_TREE;
  say(`a source of ${repos} repositories → ${repos * issuesPerRepo} issues → ${repos * issuesPerRepo * commentsPerIssue} comments, ${into === undefined ? `into ${out}/<resource>.ndjson` : `into ${describeSink(into)}`}:\n`);
  say(`  sluice harvest --config ${file} --out ${out}${into === undefined ? '' : ` --sink ${describeSink(into)}`}\n\n`);
  return runHarvestCommand(['--config', file, '--out', out, ...(into === undefined ? [] : ['--sink', into])]);
}

/** Whether the optional DuckDB driver is installed: the demo's default sink, NDJSON without it. */
function hasDuckDb(): boolean {
  try {
    createRequire(import.meta.url).resolve('@duckdb/node-api');
    return true;
  } catch {
    return false;
  }
}
