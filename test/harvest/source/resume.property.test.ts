import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { systemClock } from '../../../src/core/clock.js';
import { CRASH_POINTS, type CrashPoint } from '../../../src/harvest/crash-points.js';
import { nullMonitor } from '../../../src/harvest/null-monitor.js';
import { parseSourceConfig } from '../../../src/harvest/source/parse-source.js';
import { SourceRun } from '../../../src/harvest/source/run-source.js';
import type { FetchFn } from '../../../src/http/fetch-options.js';
import { TreeData } from '../../../src/http/mock/tree.js';
import { tempDir as diskDir } from '../helpers.js';

// The logic is under test here, not the disk (crash.test.ts kills real processes on disk).
const tempDir = (): string => diskDir(existsSync('/dev/shm') ? '/dev/shm' : undefined);
const ORIGIN = 'https://api.test';
const RESOURCES = ['repos', 'issues', 'comments'];

const source = parseSourceConfig(
  {
    client: { baseUrl: ORIGIN, concurrency: 3 },
    defaults: { pagination: { type: 'link', limitParam: 'per_page', limit: 2 } },
    resources: {
      repos: '/repos',
      issues: { path: '/repos/{resources.repos.name}/issues', include: ['name'] },
      comments: { path: '/repos/{resources.issues._repos_name}/issues/{resources.issues.number}/comments' },
    },
  },
  {},
);

/** The mock's repositories → issues → comments, in process: answers at once, logs each path. */
function treeApi(): { fetch: FetchFn; paths: string[] } {
  const tree = new TreeData(3, { repos: 3, issuesPerRepo: 3, commentsPerIssue: 5 });
  const paths: string[] = [];
  const fetch: FetchFn = async (input) => {
    const url = new URL(input);
    paths.push(url.pathname);
    const reply = tree.reply(url)!;
    return new Response(JSON.stringify(reply.body), { status: reply.status, headers: { 'content-type': 'application/json', ...reply.headers } });
  };
  return { fetch, paths };
}

class Crash extends Error {}

async function run(out: string, api: { fetch: FetchFn }, crash?: (at: CrashPoint) => void): Promise<void> {
  await new SourceRun(source, out, { clock: systemClock, fetch: api.fetch, monitor: nullMonitor, signal: new AbortController().signal, crash }).run();
}

const files = (out: string): string[] => RESOURCES.map((r) => readFileSync(join(out, `${r}.ndjson`), 'utf8'));

/** The comment paths whose issue the comments' state counts as done. */
function committed(out: string): Set<string> {
  const state = join(out, 'comments.ndjson.state.json');
  if (!existsSync(state)) return new Set();
  const done = (JSON.parse(readFileSync(state, 'utf8')) as { sync: { parentsDone?: number } }).sync.parentsDone ?? 0;
  const issues = readFileSync(join(out, 'issues.ndjson'), 'utf8').split('\n').filter((l) => l !== '').slice(0, done);
  return new Set(issues.map((l) => JSON.parse(l) as { _repos_name: string; number: number }).map((i) => `/repos/${i._repos_name}/issues/${i.number}/comments`));
}

describe('a source resumes after a crash at any commit step: each record once, no committed parent\'s children fetched again', () => {
  it('property: up to three crashes, each at a random point of a random commit', async () => {
    const reference = tempDir();
    await run(reference, treeApi());
    const expected = files(reference);
    assert.deepEqual(expected.map((t) => t.split('\n').length - 1), [3, 9, 45]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ point: fc.constantFrom(...CRASH_POINTS), n: fc.integer({ min: 1, max: 30 }) }), { minLength: 1, maxLength: 3 }), async (crashes) => {
        const out = tempDir();
        for (const { point, n } of crashes) {
          const before = committed(out);
          const api = treeApi();
          let seen = 0;
          await run(out, api, (at) => {
            if (at === point && ++seen === n) throw new Crash(at);
          }).catch((error: unknown) => {
            if (!(error instanceof Crash)) throw error;
          });
          assert.deepEqual(api.paths.filter((p) => before.has(p)), []);
        }
        const before = committed(out);
        const api = treeApi();
        await run(out, api);
        assert.deepEqual(api.paths.filter((p) => before.has(p)), []);
        assert.deepEqual(files(out), expected);
      }),
      { numRuns: 25 },
    );
  });

  it('property: an incremental cursor is always the largest among the records committed, whatever instant a crash came', async () => {
    const inc = parseSourceConfig(
      {
        client: { baseUrl: ORIGIN },
        resources: { issues: { path: '/repos/repo-2/issues', pagination: { type: 'link', limitParam: 'per_page', limit: 2 }, incremental: { cursorPath: 'updated_at', param: 'since', initialValue: '2020-01-01T00:00:00Z' } } },
      },
      {},
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CRASH_POINTS), fc.integer({ min: 1, max: 6 }), async (point, n) => {
        const out = tempDir();
        let seen = 0;
        const api = treeApi();
        await new SourceRun(inc, out, {
          clock: systemClock,
          fetch: api.fetch,
          monitor: nullMonitor,
          signal: new AbortController().signal,
          crash: (at) => {
            if (at === point && ++seen === n) throw new Crash(at);
          },
        })
          .run()
          .catch((error: unknown) => {
            if (!(error instanceof Crash)) throw error;
          });
        const statePath = join(out, 'issues.ndjson.state.json');
        if (!existsSync(statePath)) return;
        const state = JSON.parse(readFileSync(statePath, 'utf8')) as { bytes: number; cursor?: string };
        const records = readFileSync(join(out, 'issues.ndjson')).subarray(0, state.bytes).toString('utf8').split('\n').filter((l) => l !== '');
        const times = records.map((l) => (JSON.parse(l) as { updated_at: string }).updated_at).sort();
        assert.equal(state.cursor, times.at(-1));
      }),
      { numRuns: 25 },
    );
  });
});
