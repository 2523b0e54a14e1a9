import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { runHarvestCommand } from '../../../src/cli/harvest.js';
import { ManualClock } from '../../../src/core/clock.js';
import { ConfigError } from '../../../src/core/errors.js';
import { nullMonitor } from '../../../src/harvest/null-monitor.js';
import { parseSourceConfig } from '../../../src/harvest/source/parse-source.js';
import { fillParentBody, ParentFieldError } from '../../../src/harvest/source/placeholders.js';
import { harvestTransport, type ReadBody } from '../../../src/harvest/transport.js';
import { startMockApi } from '../../../src/http/mock/index.js';
import { tempDir } from '../helpers.js';

async function harvest(dir: string, name: string, config: unknown): Promise<string> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  let err = '';
  const stderr = new Writable({ write: (chunk: Buffer, _e, done) => ((err += chunk.toString()), done()) });
  const out = join(dir, name);
  const code = await runHarvestCommand(['--config', file, '--out', out, '--quiet'], { stderr, env: {} });
  assert.equal(code, 0, err);
  return readFileSync(join(out, 'issues.ndjson'), 'utf8');
}

function source(baseUrl: string, issues: Record<string, unknown>): Record<string, unknown> {
  return {
    client: { baseUrl },
    defaults: { pagination: { type: 'link', limitParam: 'per_page', limit: 4 } },
    resources: { repos: { path: '/repos' }, issues: { include: ['name'], ...issues } },
  };
}

describe('a resource asked with POST and a JSON body', () => {
  it('children asked through a body with their parent\'s fields get what the same children asked by path get, page after page', async () => {
    const mock = await startMockApi({ tree: { repos: 3, issuesPerRepo: 10, commentsPerIssue: 0 } });
    const dir = tempDir();
    try {
      const byPath = await harvest(dir, 'get', source(mock.url, { path: '/repos/{resources.repos.name}/issues' }));
      const before = mock.stats().requests;
      const byBody = await harvest(dir, 'post', source(mock.url, { path: '/search/issues', method: 'POST', body: { repo: '{resources.repos.name}' } }));
      assert.equal(byBody, byPath);
      assert.equal(byBody.trim().split('\n').length, 30);
      assert.equal(mock.stats().requests - before, 1 + 3 * 3, 'one page of repositories, three of four issues for each');
    } finally {
      await mock.close();
    }
  });

  it('a string that is one placeholder takes the field as it is; others take its text; a missing field is named', () => {
    const parent = { id: 7, name: 'repo-7', labels: ['a', 'b'], owner: { login: 'x y' } };
    const body = { id: '{resources.repos.id}', labels: '{resources.repos.labels}', q: 'repo:{resources.repos.owner.login}/{resources.repos.name}', keep: [1, null, true] };
    assert.deepEqual(fillParentBody(body, parent), { id: 7, labels: ['a', 'b'], q: 'repo:x y/repo-7', keep: [1, null, true] });
    assert.throws(() => fillParentBody({ n: '{resources.repos.number}' }, parent), ParentFieldError);
  });

  it('refuses a body without POST, another method, and a placeholder that is not a parent field, naming the path in the file', () => {
    const check = (issues: Record<string, unknown>, field: RegExp): void => {
      assert.throws(
        () => parseSourceConfig({ client: { baseUrl: 'https://api.test' }, resources: { repos: { path: '/repos' }, issues } }, { KEY: 'k' }),
        (error: unknown) => error instanceof ConfigError && field.test(error.field),
      );
    };
    check({ path: '/search', body: { repo: 'x' } }, /^resources\.issues\.body$/);
    check({ path: '/search', method: 'PUT' }, /^resources\.issues\.method$/);
    check({ path: '/search', method: 'POST', body: { filter: [{ repo: '{page}' }] } }, /^resources\.issues\.body\.filter\[0\]\.repo$/);
    check({ path: '/search', method: 'POST', body: { key: '{env.MISSING}' } }, /^resources\.issues\.body\.key$/);
    const parsed = parseSourceConfig({ client: { baseUrl: 'https://api.test' }, resources: { repos: { path: '/repos' }, issues: { path: '/search', method: 'POST', body: { repo: '{resources.repos.name}', key: '{env.KEY}' } } } }, { KEY: 'k-secret' });
    const issues = parsed.resources.find((r) => r.name === 'issues')!;
    assert.equal(issues.parent, 'repos', 'a placeholder in the body makes the resource a child');
    assert.deepEqual(issues.body, { repo: '{resources.repos.name}', key: 'k-secret' });
    assert.ok(parsed.secrets.includes('k-secret'));
  });
});

describe('harvest transport: a POST through redirects', () => {
  it('keeps its method and body through 307 and 308, and becomes a bodiless GET after 301, 302 and 303', async () => {
    for (const [status, kept] of [[307, true], [308, true], [301, false], [302, false], [303, false]] as const) {
      const seen: Array<{ url: string; method: string; body: unknown; type: string | null }> = [];
      const transport = harvestTransport(
        {
          fetch: (input, init) => {
            const headers = new Headers(init.headers);
            seen.push({ url: String(input), method: init.method ?? 'GET', body: init.body, type: headers.get('content-type') });
            if (seen.length === 1) return Promise.resolve(new Response(null, { status, headers: { location: '/next' } }));
            return Promise.resolve(new Response('[]', { status: 200, headers: { 'content-type': 'application/json' } }));
          },
          clock: new ManualClock(),
          monitor: nullMonitor,
          maxBodyBytes: 1000,
          maxRedirects: 5,
          userHeaders: [],
          mayFollow: () => true,
        },
        new WeakMap<Response, ReadBody>(),
      );
      await transport('https://api.test/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"repo":"r"}' });
      assert.deepEqual(seen[0], { url: 'https://api.test/search', method: 'POST', body: '{"repo":"r"}', type: 'application/json' });
      assert.deepEqual(seen[1], kept ? { url: 'https://api.test/next', method: 'POST', body: '{"repo":"r"}', type: 'application/json' } : { url: 'https://api.test/next', method: 'GET', body: undefined, type: null }, `after ${status}`);
    }
  });
});
