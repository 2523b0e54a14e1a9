import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/clock.js';
import { nullMonitor } from '../../../src/harvest/null-monitor.js';
import { parseSourceConfig } from '../../../src/harvest/source/parse-source.js';
import { SourceRun } from '../../../src/harvest/source/run-source.js';
import type { SourceActivity } from '../../../src/harvest/source/source-activity.js';
import type { FetchFn } from '../../../src/http/fetch-options.js';
import { existsSync } from 'node:fs';
import { tempDir as diskDir } from '../helpers.js';

// The logic is under test here, not the disk.
const tempDir = (): string => diskDir(existsSync('/dev/shm') ? '/dev/shm' : undefined);

const ORIGIN = 'https://api.test';
const REPOS = 6;

function source(rate?: string, concurrency: number | 'auto' = 2): ReturnType<typeof parseSourceConfig> {
  return parseSourceConfig(
    {
      client: { baseUrl: ORIGIN, concurrency, retries: 0, ...(rate === undefined ? {} : { rate }) },
      resources: {
        repos: { path: '/repos', pagination: { type: 'link', limitParam: 'per_page', limit: 100 } },
        issues: { path: '/repos/{resources.repos.name}/issues', pagination: { type: 'link', limitParam: 'per_page', limit: 100 } },
      },
    },
    {},
  );
}

/** Six repositories on one page, one issue each; every answer waits until `release` lets its path through (a path ending in `/`: every path under it). */
function heldApi(repos = REPOS): { fetch: FetchFn; release: (prefix: string) => void; asked: string[] } {
  const open = new Set<string>();
  const waiting: { path: string; go: () => void }[] = [];
  const asked: string[] = [];
  const fetch: FetchFn = async (input) => {
    const { pathname } = new URL(input);
    asked.push(pathname);
    if (![...open].some((p) => matches(p, pathname))) await new Promise<void>((go) => waiting.push({ path: pathname, go }));
    const body = pathname === '/repos' ? Array.from({ length: repos }, (_, i) => ({ id: i, name: `repo-${i}` })) : [{ id: 1, number: 1 }];
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const release = (prefix: string): void => {
    open.add(prefix);
    for (const w of waiting.filter((x) => matches(prefix, x.path))) w.go();
  };
  return { fetch, release, asked };
}

const matches = (released: string, path: string): boolean => (released.endsWith('/') ? path.startsWith(released) : path === released);

/** Turns of the event loop (file I/O included, no timer) until `ready`; fails after many. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    if (ready()) return;
    await turn();
  }
  assert.fail(`never: ${what}`);
}

describe('SourceRun.activity: what a source run waits on, for an account of idle rate slots', () => {
  it('names a child waiting for its parent page, then its parents at the concurrency cap, then nothing running', async () => {
    const api = heldApi();
    const run = new SourceRun(source(), tempDir(), { clock: new ManualClock(), fetch: api.fetch, monitor: nullMonitor, signal: new AbortController().signal });
    const done = run.run();
    await until(() => api.asked.length > 0, 'the first request');
    await until(() => run.activity().children[0]?.awaitingParent === true, 'the child following its parent');
    // The first page of repositories is in flight: no repository is committed, so the child has nothing to fetch for.
    let now = run.activity();
    assert.deepEqual(api.asked, ['/repos']);
    assert.equal(now.children.length, 1);
    assert.equal(now.children[0]!.name, 'issues');
    assert.equal(now.children[0]!.awaitingParent, true);
    assert.equal(now.children[0]!.parentRunning, true);
    assert.equal(now.children[0]!.flow.inFlight, 0);
    assert.equal(now.limiterWaiting, 0);
    api.release('/repos');
    await until(() => api.asked.length === 3, 'two children asked');
    // Six repositories committed, two fetched at once: the cap holds the other four back.
    await until(() => !run.activity().children[0]!.parentRunning, 'the parent sync ended with its one page');
    now = run.activity();
    assert.equal(api.asked.filter((p) => p.endsWith('/issues')).length, 2);
    assert.equal(now.children[0]!.flow.concurrency, 2);
    assert.equal(now.children[0]!.flow.inFlight, 2);
    assert.equal(now.children[0]!.awaitingParent, false);
    api.release('/repos/');
    const outcomes = await done;
    assert.deepEqual(outcomes.map((o) => [o.name, o.records, o.complete]), [['repos', REPOS, true], ['issues', REPOS, true]]);
    assert.deepEqual(run.activity(), { limiterWaiting: 0, parentsCommitting: 0, children: [] });
  });

  it('counts the parent commit the children wait on, and the callers queued in the shared rate limiter', async () => {
    const api = heldApi();
    api.release('/');
    const clock = new ManualClock();
    const seen: SourceActivity[] = [];
    // The crash hook is called at each instant of a commit: what the run is doing then.
    const crash = (): void => void seen.push(run.activity());
    const run: SourceRun = new SourceRun(source('1/1s'), tempDir(), { clock, fetch: api.fetch, monitor: nullMonitor, signal: new AbortController().signal, crash });
    const done = run.run();
    await until(() => api.asked.length > 0 && seen.length > 2, 'the first commits');
    await until(() => run.activity().limiterWaiting > 0 || api.asked.length > 1, 'a child asking');
    assert.ok(seen.some((a) => a.parentsCommitting === 1 && a.children[0]?.awaitingParent === true), 'a commit of repositories seen with the child waiting for it');
    // 1 a second: the repositories' page took the first slot, and both children fetched at once queue for the next ones.
    await until(() => run.activity().limiterWaiting === 2, 'two children queued in the limiter');
    assert.deepEqual(api.asked, ['/repos']);
    for (let i = 1; i <= REPOS; i++) {
      clock.advance(1000);
      await until(() => api.asked.length === 1 + i, `child ${i} asked`);
    }
    const outcomes = await done;
    assert.equal(outcomes[1]!.records, REPOS);
    assert.equal(run.activity().limiterWaiting, 0);
  });

  it("sizes an auto concurrency by what the rate starts in 6 s, so the last parents' pages do not leave the budget idle at the end", async () => {
    /** The children's concurrency a source with `rate` and `auto` runs at: read from the child flow, then the run is stopped. */
    const concurrencyAt = async (rate: string): Promise<number> => {
      const stop = new AbortController();
      const run = new SourceRun(source(rate, 'auto'), tempDir(), { clock: new ManualClock(), fetch: heldApi().fetch, monitor: nullMonitor, signal: stop.signal });
      const done = run.run().catch(() => undefined);
      await until(() => run.activity().children.length === 1, 'the child flow');
      const { concurrency } = run.activity().children[0]!.flow;
      stop.abort(new Error('enough'));
      await done;
      return concurrency;
    };
    assert.equal(await concurrencyAt('50/1s'), 256, '300 parents would start in 6 s: the most, 256 (4 s gave 200)');
    assert.equal(await concurrencyAt('10/1s'), 60, '60 parents start in 6 s (4 s gave 40)');
  });

  it('keeps starting parents while the first is slow: up to three times the concurrency started and not yet committed', async () => {
    // 8 at once: the flow's own window would be 16 (twice that); the source's is 24.
    const many = 30;
    const api = heldApi(many);
    api.release('/repos');
    for (let i = 1; i < many; i++) api.release(`/repos/repo-${i}/`);
    const stop = new AbortController();
    const run = new SourceRun(source(undefined, 8), tempDir(), { clock: new ManualClock(), fetch: api.fetch, monitor: nullMonitor, signal: stop.signal });
    const done = run.run().catch(() => undefined);
    // repo-0's children never answer: every later parent finishes and waits its turn behind it.
    await until(() => api.asked.filter((p) => p.endsWith('/issues')).length === 24, '24 parents started');
    for (let i = 0; i < 500; i++) await turn();
    assert.equal(api.asked.filter((p) => p.endsWith('/issues')).length, 24, 'no more than 24');
    assert.equal(run.activity().children[0]!.flow.waiting, 23, 'the others done, held for their turn behind repo-0');
    stop.abort(new Error('enough'));
    await done;
  });
});
