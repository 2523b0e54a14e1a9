/**
 * A two-level source at its shared budget: 200 repositories, 3 pages of issues each (one
 * issue a page), 602 requests under one `50/1s` budget, answers taking 0.2–1.5 s, against a
 * mock that counts every request over 50 in any second. Prints the wall time against what
 * the budget allows (requests ÷ rate) and the violations.
 *
 *   node --import tsx bench/source.bench.ts [--rate 50] [--repos 200]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { runHarvestCommand } from '../src/cli/harvest.js';
import { startMockApi } from '../src/http/mock/index.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '50' }, repos: { type: 'string', default: '200' }, rounds: { type: 'string', default: '1' } }, strict: false });
const rate = Number(values.rate);
const repos = Number(values.repos);
const mock = await startMockApi({ tree: { repos, issuesPerRepo: 3, commentsPerIssue: 0 }, limits: `${rate}/1s`, latency: '200ms-1.5s' });
const dir = mkdtempSync(join(tmpdir(), 'sluice-source-bench-'));
try {
  const file = join(dir, 'source.json');
  writeFileSync(
    file,
    JSON.stringify({
      client: { baseUrl: mock.url, rate: `${rate}/1s` },
      resources: {
        repos: { path: '/repos', pagination: { type: 'link', limitParam: 'per_page', limit: 100 } },
        issues: { path: '/repos/{resources.repos.name}/issues', pagination: { type: 'link', limitParam: 'per_page', limit: 1 } },
      },
    }),
  );
  const started = performance.now();
  let err = '';
  const code = await runHarvestCommand(['--config', file, '--out', join(dir, 'out'), '--quiet'], { stderr: new Writable({ write: (c: Buffer, _e, done) => ((err += c.toString()), done()) }) });
  const wallMs = performance.now() - started;
  const stats = mock.stats();
  const allowedMs = ((stats.requests - 1) / rate) * 1000; // the first start is free: n starts span (n - 1) / rate
  console.log(`source: exit ${code}${err ? ` (${err.trim()})` : ''}; ${stats.requests} requests at ${rate}/s, answers 0.2–1.5 s`);
  console.log(`  wall ${(wallMs / 1000).toFixed(2)} s against ${(allowedMs / 1000).toFixed(2)} s the budget allows (+${((wallMs / allowedMs - 1) * 100).toFixed(1)} %, the last answer's latency included); ${stats.violations.total} requests over the limit, ${stats.throttled} 429s`);
} finally {
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
}
