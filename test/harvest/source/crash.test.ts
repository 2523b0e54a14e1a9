import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
 * equal an uninterrupted run's byte for byte: no child record lost or written twice — and,
 * through a proxy that logs each chain's requests, no issue whose comments a commit holds has
 * them asked for again (NDJSON, where the state is read from its file). (Not
 * incremental here: each run of an incremental resource is a new sync that re-reads the
 * record at its cursor, by design — run-source.test.ts covers that.)
 */
describe(`harvest --config survives kill -9 (seed ${SEED})`, () => {
  let mock: MockApi;
  const proxies: Proxy[] = [];
  before(async () => {
    mock = await startMockApi({ tree: { repos: 6, issuesPerRepo: 8, commentsPerIssue: 20 }, latency: '2ms-10ms' });
  });
  after(async () => {
    for (const proxy of proxies) await proxy.close();
    await mock.close();
  });

  /** A source file for a chain, through a proxy of its own that logs what the chain asks for. */
  async function sourceFor(): Promise<{ file: string; proxy: Proxy }> {
    const proxy = await recordingProxy(mock.url);
    proxies.push(proxy);
    const file = join(tempDir(), 'source.json');
    writeFileSync(
      file,
      JSON.stringify({
        client: { baseUrl: proxy.url, concurrency: 4 },
        defaults: { pagination: { type: 'link', limitParam: 'per_page' } },
        resources: {
          repos: { path: '/repos', pagination: { limit: 2 } },
          issues: { path: '/repos/{resources.repos.name}/issues', pagination: { limit: 5 }, include: ['name'] },
          comments: { path: '/repos/{resources.issues._repos_name}/issues/{resources.issues.number}/comments', pagination: { limit: 10 } },
        },
      }),
    );
    return { file, proxy };
  }

  /** Every resource's records as parsed JSON, in commit order, from its NDJSON file or its DuckDB table. */
  const read = async (out: string, duckdb: boolean): Promise<unknown[][]> =>
    Promise.all(RESOURCES.map(async (r) => (duckdb ? await duckdbRecords(join(out, 'source.duckdb'), r) : readFileSync(join(out, `${r}.ndjson`), 'utf8').split('\n').filter((l) => l !== '')).map((l) => JSON.parse(l) as unknown)));

  async function chains(count: number, killsPerChain: number, duckdb: boolean, points: readonly CrashPoint[]): Promise<string[]> {
    const argsOf = (file: string) => (out: string): string[] => ['harvest', '--config', file, '--out', out, '--quiet', ...(duckdb ? ['--sink', `duckdb:${join(out, 'source.duckdb')}`] : [])];
    const reference = join(tempDir(), 'reference');
    const clean = await runCli(argsOf((await sourceFor()).file)(reference));
    assert.equal(clean.code, 0, clean.stderr);
    const expected = await read(reference, duckdb);
    assert.deepEqual(expected.map((t) => t.length), [6, 48, 960]);
    const random = lcg(SEED + (duckdb ? 1 : 0));
    const all = Array.from({ length: count }, async (_, chain) => {
      const { file, proxy } = await sourceFor();
      const args = argsOf(file);
      let out = join(tempDir(), `chain-${chain}`);
      const kills: string[] = [];
      let killed = 0;
      // The issues whose comments a commit holds: never asked for again (NDJSON: read from its state).
      let committed = new Set<string>();
      const noCommittedRefetch = (): void => {
        const again = proxy.take().filter((path) => committed.has(path));
        assert.deepEqual(again, [], `chain ${chain}: committed children fetched again after ${kills.join(', ')}`);
        if (!duckdb) committed = committedComments(out);
      };
      for (let attempt = 0; killed < killsPerChain && attempt < 2 * killsPerChain + 2; attempt++) {
        let run: CliRun;
        if ((attempt + chain) % 3 !== 2) {
          const point = points[Math.floor(random() * points.length)]!;
          const n = 1 + Math.floor(random() * 15); // parents done together commit together: few commits a run
          run = await runCli(args(out), { env: { SLUICE_HARVEST_CRASH: `${point}:${n}` } });
          kills.push(`${point}:${n}→${run.signal ?? run.code}`);
        } else {
          const delay = 500 + Math.floor(random() * 700);
          run = await runCli(args(out), { killAfterMs: delay });
          kills.push(`after ${delay} ms→${run.signal ?? run.code}`);
        }
        assert.ok(run.signal === 'SIGKILL' || run.code === 0, `chain ${chain}: ${kills.join(', ')}: ${run.stderr}`);
        noCommittedRefetch();
        if (run.signal === 'SIGKILL') killed++;
        else {
          assert.deepEqual(await read(out, duckdb), expected, `chain ${chain} differs after ${kills.join(', ')}`);
          out = join(tempDir(), `chain-${chain}-${attempt}`);
          committed = new Set();
        }
      }
      const last = await runCli(args(out));
      noCommittedRefetch();
      assert.equal(last.code, 0, `chain ${chain}: ${kills.join(', ')}: ${last.stderr}`);
      assert.deepEqual(await read(out, duckdb), expected, `chain ${chain} differs after ${kills.join(', ')}`);
      return kills;
    });
    return (await Promise.all(all)).flat();
  }

  it('NDJSON: 8 crashes over two chains, then every resource equals the uninterrupted run', async () => {
    const kills = await chains(2, 4, false, CRASH_POINTS);
    assert.ok(kills.filter((k) => k.endsWith('SIGKILL')).length >= 6, kills.join(', '));
  });

  it('DuckDB: 3 crashes (in its commit, in the parents\' log, or at any time), then every table equals the uninterrupted run', async () => {
    const kills = await chains(1, 3, true, [...SINK_CRASH_POINTS, 'output-partial', 'output-written']);
    assert.ok(kills.filter((k) => k.endsWith('SIGKILL')).length >= 3, kills.join(', '));
  });
});

interface Proxy {
  url: string;
  /** The paths asked for since the last take (each page's path, query dropped). */
  take(): string[];
  close(): Promise<void>;
}

/** An HTTP proxy to `target` that logs every path asked for; Link headers are rewritten to lead back through it. */
async function recordingProxy(target: string): Promise<Proxy> {
  let log: string[] = [];
  let self = '';
  const server = createServer((req, res) => {
    log.push(new URL(req.url ?? '/', target).pathname);
    void fetch(`${target}${req.url ?? '/'}`, { headers: { authorization: req.headers.authorization ?? '' } }).then(async (answer) => {
      const headers: Record<string, string> = { 'content-type': answer.headers.get('content-type') ?? 'application/json' };
      const link = answer.headers.get('link');
      if (link !== null) headers.link = link.replaceAll(target, self);
      res.writeHead(answer.status, headers).end(Buffer.from(await answer.arrayBuffer()));
    }, () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: self,
    take: () => {
      const taken = log;
      log = [];
      return taken;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The comment paths of the issues whose children the comments' state says are committed. */
function committedComments(out: string): Set<string> {
  const statePath = join(out, 'comments.ndjson.state.json');
  if (!existsSync(statePath)) return new Set();
  const done = (JSON.parse(readFileSync(statePath, 'utf8')) as { sync: { parentsDone?: number } }).sync.parentsDone ?? 0;
  const issues = readFileSync(join(out, 'issues.ndjson'), 'utf8').split('\n').filter((l) => l !== '').slice(0, done);
  return new Set(issues.map((l) => JSON.parse(l) as { _repos_name: string; number: number }).map((i) => `/repos/${i._repos_name}/issues/${i.number}/comments`));
}
