/**
 * Incremental sync at the server (issue 17's target): dlt's GitHub shape — repositories →
 * issues (incremental on `updated_at`, `since=`) → comments — harvested whole into Postgres,
 * then 1 % of the issues change at the mock, then the same command runs again. Prints the
 * second run's requests as a share of the first's (target ≤ 2 %), and compares the tables
 * with a fresh full harvest of the changed mock by id and content (target: equal).
 *
 *   node --import tsx bench/incremental.bench.ts [--repos 10] [--issues 1000] [--comments 2]
 *        [--change 0.01] [--pg postgres://postgres@127.0.0.1:5432/test]
 *
 * The share depends on the shape: every run asks each repository for its issues since the
 * cursor (one request per repository, changed or not), and then fetches the comments of the
 * changed issues only. `--repos 1000 --issues 10` shows that floor.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { runHarvestCommand } from '../src/cli/harvest.js';
import { startMockApi } from '../src/http/mock/index.js';
import { compareTables, postgresTables, type SinkTables } from './lib/sink-tables.js';

const { values } = parseArgs({
  options: {
    repos: { type: 'string', default: '10' },
    issues: { type: 'string', default: '1000' },
    comments: { type: 'string', default: '2' },
    change: { type: 'string', default: '0.01' },
    pg: { type: 'string', default: process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const shape = { repos: Number(values.repos), issuesPerRepo: Number(values.issues), commentsPerIssue: Number(values.comments) };
const RESOURCES = ['repos', 'issues', 'comments'];

const mock = await startMockApi({ tree: shape });
const dir = mkdtempSync(join(tmpdir(), 'sluice-incremental-bench-'));
const synced = postgresTables(values.pg, 'synced');
const fresh = postgresTables(values.pg, 'fresh');
try {
  const file = join(dir, 'github.json');
  writeFileSync(
    file,
    JSON.stringify({
      client: { baseUrl: mock.url },
      defaults: { pagination: { type: 'link', limitParam: 'per_page', limit: 100 }, primaryKey: 'id' },
      resources: {
        repos: { path: '/repos' },
        issues: { path: '/repos/{resources.repos.name}/issues', include: ['name'], incremental: { cursorPath: 'updated_at', param: 'since', initialValue: '2020-01-01T00:00:00Z' } },
        comments: { path: '/repos/{resources.issues._repos_name}/issues/{resources.issues.number}/comments', include: ['number'] },
      },
    }),
  );
  const harvest = async (tables: SinkTables, out: string): Promise<number> => {
    const before = mock.stats().requests;
    let err = '';
    const stderr = new Writable({ write: (c: Buffer, _e, done) => ((err += c.toString()), done()) });
    const code = await runHarvestCommand(['--config', file, '--out', join(dir, out), '--sink', tables.sink, '--quiet'], { stderr });
    if (code !== 0) throw new Error(`harvest exited ${code}: ${err.trim()}`);
    return mock.stats().requests - before;
  };
  const records = shape.repos * (1 + shape.issuesPerRepo * (1 + shape.commentsPerIssue));
  console.log(`incremental: ${shape.repos} repositories × ${shape.issuesPerRepo} issues × ${shape.commentsPerIssue} comments (${records.toLocaleString('en')} records), into Postgres, merged by id`);
  const first = await harvest(synced, 'synced');
  const changed = mock.changeRecords(Number(values.change));
  const second = await harvest(synced, 'synced');
  const full = await harvest(fresh, 'fresh');
  const share = second / first;
  console.log(`  first run ${first.toLocaleString('en')} requests; ${changed} issues changed (${((changed / (shape.repos * shape.issuesPerRepo)) * 100).toFixed(2)} %); second run ${second.toLocaleString('en')} requests = ${(share * 100).toFixed(2)} % of the first (target ≤ 2 %: ${share <= 0.02 ? 'MET' : 'MISSED'}); a fresh full harvest ${full.toLocaleString('en')}`);
  let equal = true;
  for (const resource of RESOURCES) {
    const diff = await compareTables(fresh, synced, resource);
    // Merged rows take a new place in commit order; position is not content.
    const same = diff.rows === diff.expected && diff.duplicates === 0 && diff.gaps === 0 && diff.extra === 0 && diff.differ === 0;
    equal &&= same;
    console.log(`  ${resource}: ${diff.rows} rows against the fresh harvest's ${diff.expected}; ${diff.duplicates} duplicates, ${diff.gaps} gaps, ${diff.extra} extra, ${diff.differ} differing — ${same ? 'equal' : 'NOT EQUAL'}`);
  }
  process.exitCode = equal && share <= 0.02 ? 0 : 1;
} finally {
  await mock.close();
  await synced.cleanup();
  await fresh.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
