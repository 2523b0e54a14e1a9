import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/clock.js';
import { nullMonitor } from '../../../src/harvest/null-monitor.js';
import { parseSourceConfig } from '../../../src/harvest/source/parse-source.js';
import { SourceRun } from '../../../src/harvest/source/run-source.js';
import type { FetchFn } from '../../../src/http/fetch-options.js';
import { tempDir as diskDir } from '../helpers.js';

// The logic is under test here, not the disk.
const tempDir = (): string => diskDir(existsSync('/dev/shm') ? '/dev/shm' : undefined);
const ORIGIN = 'https://api.test';
const PAGES = 3;

/** Six repositories, two a page over three pages linked by `Link: rel="next"`; one issue each. Answers at once. */
function pagedApi(): { fetch: FetchFn; asked: string[] } {
  const asked: string[] = [];
  const fetch: FetchFn = (input) => {
    const url = new URL(input);
    asked.push(`${url.pathname}${url.search}`);
    const json = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
      Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json', ...headers } }));
    if (url.pathname !== '/repos') return json([{ id: 1, number: 1 }]);
    const page = Number(url.searchParams.get('page') ?? '1');
    const repos = [0, 1].map((i) => ({ id: 2 * (page - 1) + i, name: `repo-${2 * (page - 1) + i}` }));
    return json(repos, page < PAGES ? { link: `<${ORIGIN}/repos?per_page=2&page=${page + 1}>; rel="next"` } : {});
  };
  return { fetch, asked };
}

/** Turns of the event loop (file I/O included, no timer) until `ready`; fails after many. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    if (ready()) return;
    await turn();
  }
  assert.fail(`never: ${what}`);
}

describe('a source in its shared rate limiter', () => {
  it("sends a parent's next page ahead of the children already queued: they are waiting for what it brings", async () => {
    const source = parseSourceConfig(
      {
        client: { baseUrl: ORIGIN, rate: '1/1s', concurrency: 4, retries: 0 },
        resources: {
          repos: { path: '/repos', pagination: { type: 'link', limitParam: 'per_page', limit: 2 } },
          issues: { path: '/repos/{resources.repos.name}/issues', pagination: { type: 'link', limitParam: 'per_page', limit: 2 } },
        },
      },
      {},
    );
    const api = pagedApi();
    const clock = new ManualClock();
    const run = new SourceRun(source, tempDir(), { clock, fetch: api.fetch, monitor: nullMonitor, signal: new AbortController().signal });
    const done = run.run();
    // One request a second: step the clock a second at a time, each time until the next request is asked.
    await until(() => api.asked.length === 1, 'the first page of repositories');
    // Who waits before each of the first two steps: the second page of repositories and the
    // children of the first (3); then the children of the first two pages and the third page (5).
    const queued = [3, 5];
    for (let n = 2; n <= 3 * 2 + PAGES; n++) {
      // Whoever may ask next must be queued before time moves.
      const expected = queued[n - 2];
      await until(() => (expected === undefined ? run.activity().limiterWaiting > 0 : run.activity().limiterWaiting === expected), `${expected ?? 'someone'} queued before request ${n}`);
      clock.advance(1000);
      await until(() => api.asked.length === n, `request ${n}`);
    }
    const outcomes = await done;
    assert.deepEqual(outcomes.map((o) => [o.name, o.records]), [['repos', 6], ['issues', 6]]);
    const repoPages = api.asked.map((path, i) => [path, i] as const).filter(([path]) => path.startsWith('/repos?'));
    // Each page of repositories goes at the next free slot, ahead of the children queued before it.
    assert.deepEqual(repoPages.map(([, i]) => i), [0, 1, 2], api.asked.join('\n'));
  });
});
