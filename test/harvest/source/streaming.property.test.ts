import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { systemClock } from '../../../src/core/clock.js';
import { CRASH_POINTS, type CrashPoint } from '../../../src/harvest/crash-points.js';
import { nullMonitor } from '../../../src/harvest/null-monitor.js';
import { parseSourceConfig } from '../../../src/harvest/source/parse-source.js';
import { SourceRun, type ResourceOutcome } from '../../../src/harvest/source/run-source.js';
import type { FetchFn } from '../../../src/http/fetch-options.js';
import { TreeData } from '../../../src/http/mock/tree.js';
import { tempDir as diskDir } from '../helpers.js';

// The logic is under test here, not the disk (crash.test.ts kills real processes on disk).
const tempDir = (): string => diskDir(existsSync('/dev/shm') ? '/dev/shm' : undefined);
const ORIGIN = 'https://api.test';
const RESOURCES = ['repos', 'issues', 'comments'];
const SHAPE = { repos: 5, issuesPerRepo: 3, commentsPerIssue: 5 };

const source = parseSourceConfig(
  {
    client: { baseUrl: ORIGIN, concurrency: 3, retries: 0 },
    defaults: { pagination: { type: 'link', limitParam: 'per_page', limit: 2 } },
    resources: {
      repos: '/repos',
      issues: { path: '/repos/{resources.repos.name}/issues', include: ['name'] },
      comments: { path: '/repos/{resources.issues._repos_name}/issues/{resources.issues.number}/comments' },
    },
  },
  {},
);

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A resource's records that its state counts as committed, read from disk now. */
function committedRecords(out: string, resource: string): Record<string, unknown>[] {
  const statePath = join(out, `${resource}.ndjson.state.json`);
  if (!existsSync(statePath)) return [];
  const { bytes } = JSON.parse(readFileSync(statePath, 'utf8')) as { bytes: number };
  return readFileSync(join(out, `${resource}.ndjson`)).subarray(0, bytes).toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

interface TreeApi {
  fetch: FetchFn;
  paths: string[];
  /** Child requests made for a parent record its resource had not committed when asked. */
  uncommitted: string[];
  /** What happened, in order: `ask PATH?QUERY` and `answer PATH?QUERY`. */
  events: string[];
}

/**
 * The mock's repositories → issues → comments, in process, writing into `out`: each answer
 * comes once `wait(url)` resolves (turns of the event loop: no time passes), so answers
 * overtake one another; `fail(url)` answers 404. Every child request is checked against what
 * its parent has committed on disk at that moment.
 */
function treeApi(out: string, wait?: (url: URL, api: TreeApi) => Promise<void>, fail?: (url: URL) => boolean): TreeApi {
  const tree = new TreeData(3, SHAPE);
  const paths: string[] = [];
  const uncommitted: string[] = [];
  const events: string[] = [];
  const fetch: FetchFn = async (input) => {
    const url = new URL(input);
    const parts = url.pathname.split('/').filter((p) => p !== '');
    paths.push(url.pathname);
    events.push(`ask ${url.pathname}${url.search}`);
    if (parts.length === 3 && !committedRecords(out, 'repos').some((r) => r.name === parts[1])) uncommitted.push(url.pathname);
    if (parts.length === 5 && !committedRecords(out, 'issues').some((i) => i._repos_name === parts[1] && i.number === Number(parts[3]))) uncommitted.push(url.pathname);
    await wait?.(url, api);
    events.push(`answer ${url.pathname}${url.search}`);
    if (fail?.(url) === true) return new Response(JSON.stringify({ message: 'gone for now' }), { status: 404, headers: { 'content-type': 'application/json' } });
    const reply = tree.reply(url)!;
    return new Response(JSON.stringify(reply.body), { status: reply.status, headers: { 'content-type': 'application/json', ...reply.headers } });
  };
  const api: TreeApi = { fetch, paths, uncommitted, events };
  return api;
}

class Crash extends Error {}

async function run(out: string, api: { fetch: FetchFn }, crash?: (at: CrashPoint) => void, signal = new AbortController().signal): Promise<ResourceOutcome[]> {
  return new SourceRun(source, out, { clock: systemClock, fetch: api.fetch, monitor: nullMonitor, signal, crash }).run();
}

const files = (out: string): string[] => RESOURCES.map((r) => readFileSync(join(out, `${r}.ndjson`), 'utf8'));

/** The child paths whose parent record the child's state counts as done: never to be asked again. */
function committedChildren(out: string): Set<string> {
  const done = (resource: string): number => {
    const state = join(out, `${resource}.ndjson.state.json`);
    return existsSync(state) ? ((JSON.parse(readFileSync(state, 'utf8')) as { sync: { parentsDone?: number } }).sync.parentsDone ?? 0) : 0;
  };
  const repos = committedRecords(out, 'repos').slice(0, done('issues')).map((r) => `/repos/${String(r.name)}/issues`);
  const issues = committedRecords(out, 'issues').slice(0, done('comments')).map((i) => `/repos/${String(i._repos_name)}/issues/${String(i.number)}/comments`);
  return new Set([...repos, ...issues]);
}

describe('streaming fan-out: children follow their parent\'s commits while it still paginates', () => {
  it('children start before their parent\'s last page is answered, and never for a parent record not yet committed', async () => {
    const out = tempDir();
    // The repositories' last page is held until a comment is asked for (or for 10,000 turns): a run that waits for a parent's whole sync asks none before it.
    const api = treeApi(out, async (url, self) => {
      if (url.pathname !== '/repos' || url.searchParams.get('page') !== '3') return;
      for (let n = 0; n < 10_000 && !self.events.some((e) => e.endsWith('/comments?per_page=2')); n++) await turn();
    });
    await run(out, api);
    const lastRepos = api.events.indexOf('answer /repos?per_page=2&page=3');
    const firstIssues = api.events.findIndex((e) => e.startsWith('ask /repos/repo-1/issues'));
    const firstComments = api.events.findIndex((e) => e.startsWith('ask /repos/repo-1/issues/1/comments'));
    assert.ok(lastRepos > 0, api.events.join('\n'));
    assert.ok(firstIssues >= 0 && firstIssues < lastRepos, 'the issues of the first repositories are asked while the last page of repositories is out');
    assert.ok(firstComments >= 0 && firstComments < lastRepos, 'and so are the comments of their issues (grandchildren stream too)');
    assert.deepEqual(api.uncommitted, []);
    assert.deepEqual(files(out).map((t) => t.split('\n').length - 1), [5, 15, 75]);
  });

  it('property: answers in a random order, crashes at random commit points: the resumed result equals a clean run, no committed parent\'s children are asked again, no child is asked before its parent record is committed', async () => {
    const reference = tempDir();
    await run(reference, treeApi(reference));
    const expected = files(reference);
    assert.deepEqual(expected.map((t) => t.split('\n').length - 1), [5, 15, 75]);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 }), fc.array(fc.record({ point: fc.constantFrom(...CRASH_POINTS), n: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 3 }), async (seed, crashes) => {
        const random = lcg(seed);
        const delay = async (): Promise<void> => {
          for (let n = Math.floor(random() * 8); n > 0; n--) await turn();
        };
        const out = tempDir();
        for (const { point, n } of crashes) {
          const before = committedChildren(out);
          const api = treeApi(out, delay);
          let seen = 0;
          await run(out, api, (at) => {
            if (at === point && ++seen === n) throw new Crash(at);
          }).catch((error: unknown) => {
            if (!(error instanceof Crash)) throw error;
          });
          assert.deepEqual(api.paths.filter((p) => before.has(p)), [], 'committed children asked again');
          assert.deepEqual(api.uncommitted, [], 'a child asked for a parent record not committed');
        }
        const before = committedChildren(out);
        const api = treeApi(out, delay);
        await run(out, api);
        assert.deepEqual(api.paths.filter((p) => before.has(p)), []);
        assert.deepEqual(api.uncommitted, []);
        assert.deepEqual(files(out), expected);
      }),
      { numRuns: 40 },
    );
  });

  it('an abort while parent and children run stops them all with its reason; the next run finishes each record once, no committed parent\'s children asked again', async () => {
    const reference = tempDir();
    await run(reference, treeApi(reference));
    for (const after of [3, 9, 20, 40]) {
      const out = tempDir();
      const controller = new AbortController();
      const reason = new Error('interrupted');
      const api = treeApi(out, async () => {
        if (api.paths.length >= after) controller.abort(reason);
        await turn();
      });
      await assert.rejects(run(out, api, undefined, controller.signal), (error) => error === reason);
      const done = committedChildren(out);
      const again = treeApi(out);
      await run(out, again);
      assert.deepEqual(again.paths.filter((p) => done.has(p)), [], `after ${after}`);
      assert.deepEqual(files(out), files(reference), `after ${after}`);
    }
  });

  it('a parent stopped at a page: its child does the children of what the parent committed and stays open; the next run finishes both, each record once', async () => {
    const reference = tempDir();
    await run(reference, treeApi(reference));
    const out = tempDir();
    const first = treeApi(out, undefined, (url) => url.pathname === '/repos' && url.searchParams.get('page') === '2');
    const stopped = await run(out, first);
    assert.deepEqual(stopped.map((o) => [o.name, o.complete, o.records]), [['repos', false, 2], ['issues', false, 6], ['comments', false, 30]]);
    assert.match(stopped[0]!.incomplete.join('\n'), /stopped at/);
    const done = committedChildren(out);
    const second = treeApi(out);
    const resumed = await run(out, second);
    assert.deepEqual(resumed.map((o) => [o.name, o.complete, o.added]), [['repos', true, 3], ['issues', true, 9], ['comments', true, 45]]);
    assert.deepEqual(second.paths.filter((p) => done.has(p)), []);
    assert.deepEqual(files(out), files(reference));
  });
});
