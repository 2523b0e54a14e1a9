import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { startMockApi } from '../http/mock/index.js';
import { parseCommandArgs } from './args.js';
import { runHarvestCommand } from './harvest.js';

const USAGE = `usage: sluice demo [--dir <directory>]

Starts the embedded mock API (6,000 records, 600 requests a minute, answers in 100–800 ms,
a few injected faults) and harvests it with sluice harvest: paced at the limit, faults
retried, records in an NDJSON file and an HTML report beside it. About 15 s, no network.

options:
  --dir <directory>  where the records and the report go (default: a fresh temp directory)
  -h, --help         this help; the demo does not run
`;

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
    ({ values } = parseCommandArgs('demo', argv, { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, false));
  } catch (error) {
    process.stderr.write(`sluice demo: ${(error as ConfigError).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const dir = values.dir ?? (await mkdtemp(join(tmpdir(), 'sluice-demo-')));
  const mock = await startMockApi({ records: 6000, limits: '600/1m', headers: 'ietf', latency: '100ms-800ms', faults: '5xx=0.02,reset=0.01,malformed=0.01', seed: 7 });
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
    say(`records: ${out}\nreport:  ${report} (open it in a browser)\n`);
    return code;
  } finally {
    await mock.close();
  }
}
