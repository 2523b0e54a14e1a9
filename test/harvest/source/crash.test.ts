import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CRASH_POINTS, SINK_CRASH_POINTS, type CrashPoint } from '../../../src/harvest/crash-points.js';
import { startMockApi, type MockApi } from '../../../src/http/mock/index.js';
import { tempDir } from '../helpers.js';
import { runCli, type CliRun } from '../spawn-cli.js';
import { duckdbRecords } from '../sinks/read-back.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
const RESOURCES = ['repos', 'issues', 'comments'];

/**
 * kill -9 at random instants of a two-level source (repositories → issues → comments, the
 * children fetched four parents at once): each chain is killed again and again — at a point
 * of a commit, or after a random delay — then runs to the end, and every resource's file must
 * equal an uninterrupted run's byte for byte: no child record lost or written twice. (Not
 * incremental here: each run of an incremental resource is a new sync that re-reads the
 * record at its cursor, by design — run-source.test.ts covers that.)
 */
describe(`harvest --config survives kill -9 (seed ${SEED})`, () => {
  let mock: MockApi;
  let file: string;
  before(async () => {
    mock = await startMockApi({ tree: { repos: 6, issuesPerRepo: 8, commentsPerIssue: 30 }, latency: '2ms-10ms' });
    file = join(tempDir(), 'source.json');
    writeFileSync(
      file,
      JSON.stringify({
        client: { baseUrl: mock.url, concurrency: 4 },
        defaults: { pagination: { type: 'link', limitParam: 'per_page' } },
        resources: {
          repos: { path: '/repos', pagination: { limit: 2 } },
          issues: { path: '/repos/{resources.repos.name}/issues', pagination: { limit: 5 }, include: ['name'] },
          comments: { path: '/repos/{resources.issues._repos_name}/issues/{resources.issues.number}/comments', pagination: { limit: 10 } },
        },
      }),
    );
  });
  after(() => mock.close());

  /** Every resource's records as parsed JSON, in commit order, from its NDJSON file or its DuckDB table. */
  const read = async (out: string, duckdb: boolean): Promise<unknown[][]> =>
    Promise.all(RESOURCES.map(async (r) => (duckdb ? await duckdbRecords(join(out, 'source.duckdb'), r) : readFileSync(join(out, `${r}.ndjson`), 'utf8').split('\n').filter((l) => l !== '')).map((l) => JSON.parse(l) as unknown)));

  async function chains(count: number, killsPerChain: number, duckdb: boolean, points: readonly CrashPoint[]): Promise<string[]> {
    const args = (out: string): string[] => ['harvest', '--config', file, '--out', out, '--quiet', ...(duckdb ? ['--sink', `duckdb:${join(out, 'source.duckdb')}`] : [])];
    const reference = join(tempDir(), 'reference');
    const clean = await runCli(args(reference));
    assert.equal(clean.code, 0, clean.stderr);
    const expected = await read(reference, duckdb);
    assert.deepEqual(expected.map((t) => t.length), [6, 48, 1440]);
    const random = lcg(SEED + (duckdb ? 1 : 0));
    const all = Array.from({ length: count }, async (_, chain) => {
      let out = join(tempDir(), `chain-${chain}`);
      const kills: string[] = [];
      let killed = 0;
      for (let attempt = 0; killed < killsPerChain && attempt < 2 * killsPerChain + 2; attempt++) {
        let run: CliRun;
        if ((attempt + chain) % 3 !== 2) {
          const point = points[Math.floor(random() * points.length)]!;
          const n = 1 + Math.floor(random() * 40);
          run = await runCli(args(out), { env: { SLUICE_HARVEST_CRASH: `${point}:${n}` } });
          kills.push(`${point}:${n}→${run.signal ?? run.code}`);
        } else {
          const delay = 500 + Math.floor(random() * 1000);
          run = await runCli(args(out), { killAfterMs: delay });
          kills.push(`after ${delay} ms→${run.signal ?? run.code}`);
        }
        assert.ok(run.signal === 'SIGKILL' || run.code === 0, `chain ${chain}: ${kills.join(', ')}: ${run.stderr}`);
        if (run.signal === 'SIGKILL') killed++;
        else {
          assert.deepEqual(await read(out, duckdb), expected, `chain ${chain} differs after ${kills.join(', ')}`);
          out = join(tempDir(), `chain-${chain}-${attempt}`);
        }
      }
      const last = await runCli(args(out));
      assert.equal(last.code, 0, `chain ${chain}: ${kills.join(', ')}: ${last.stderr}`);
      assert.deepEqual(await read(out, duckdb), expected, `chain ${chain} differs after ${kills.join(', ')}`);
      return kills;
    });
    return (await Promise.all(all)).flat();
  }

  it('NDJSON: 10 crashes over two chains, then every resource equals the uninterrupted run', async () => {
    const kills = await chains(2, 5, false, CRASH_POINTS);
    assert.ok(kills.filter((k) => k.endsWith('SIGKILL')).length >= 8, kills.join(', '));
  });

  it('DuckDB: 4 crashes (in its commit, in the parents\' log, or at any time), then every table equals the uninterrupted run', async () => {
    const kills = await chains(1, 4, true, [...SINK_CRASH_POINTS, 'output-partial', 'output-written']);
    assert.ok(kills.filter((k) => k.endsWith('SIGKILL')).length >= 3, kills.join(', '));
  });
});
