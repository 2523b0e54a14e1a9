import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { runHarvestCommand } from '../../../src/cli/harvest.js';
import { startMockApi, type MockApi } from '../../../src/http/mock/index.js';
import { tempDir } from '../helpers.js';
import { githubSource } from './github-source.js';
import { writeFileSync } from 'node:fs';

const TOKEN = 'ghp_test-token-value';

function sinkText(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (chunk: Buffer, _e, done) => ((text += chunk.toString()), done()) }), text: () => text };
}

async function harvest(mock: MockApi, dir: string, config: Record<string, unknown>, env: Record<string, string> = { GITHUB_TOKEN: TOKEN }): Promise<{ code: number; err: string; out: string }> {
  const file = join(dir, 'source.json');
  writeFileSync(file, JSON.stringify(config));
  const err = sinkText();
  const out = sinkText();
  const code = await runHarvestCommand(['--config', file, '--out', join(dir, 'out'), '--quiet'], { stdout: out.stream, stderr: err.stream, env });
  return { code, err: err.text(), out: out.text() };
}

function lines(dir: string, resource: string): Record<string, unknown>[] {
  return readFileSync(join(dir, 'out', `${resource}.ndjson`), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('harvest --config: a source of several resources', () => {
  it('fetches repositories → issues → comments, copying parent fields, and a second run fetches only what changed', async () => {
    const mock = await startMockApi({ tree: { repos: 5, issuesPerRepo: 12, commentsPerIssue: 3 } });
    const dir = tempDir();
    try {
      const first = await harvest(mock, dir, githubSource(mock.url));
      assert.equal(first.code, 0, first.err);
      const repos = lines(dir, 'repos');
      const issues = lines(dir, 'issues');
      const comments = lines(dir, 'comments');
      assert.equal(repos.length, 5);
      assert.equal(issues.length, 60);
      assert.equal(comments.length, 180);
      assert.deepEqual(issues.slice(0, 2).map((i) => [i._repos_name, i.number]), [['repo-1', 1], ['repo-1', 2]]);
      assert.ok(comments.every((c) => c._issues_number === c.issue_number));
      const requests = mock.stats().requests;
      assert.equal(requests, 1 + 5 + 60, 'one page of repositories, one of issues per repository, one of comments per issue');

      assert.equal(mock.changeRecords(0.05), 3);
      const second = await harvest(mock, dir, githubSource(mock.url));
      assert.equal(second.code, 0, second.err);
      const again = mock.stats().requests - requests;
      // `since` is inclusive: the issue that set the cursor comes again with the 3 changed.
      const changed = lines(dir, 'issues').slice(60);
      assert.equal(changed.filter((i) => i.revision === 1).length, 3);
      assert.equal(changed.length, 4);
      assert.equal(again, 5 + changed.length, 'issues since the cursor for each repository, comments of the issues that came; the repositories are done');
      assert.equal(lines(dir, 'comments').length, 180 + 3 * changed.length);
    } finally {
      await mock.close();
    }
  });

  it('authenticates with OAuth2 client credentials: one token a run; a wrong secret fails the pages, named, never shown', async () => {
    const mock = await startMockApi({ tree: { repos: 2, issuesPerRepo: 3, commentsPerIssue: 1 }, oauth: { clientId: 'app', clientSecret: 'oauth-secret-value' } });
    const dir = tempDir();
    try {
      const config = githubSource(mock.url);
      (config.client as Record<string, unknown>).auth = { type: 'oauth2', tokenUrl: mock.endpoints.token, clientId: 'app', clientSecret: '{env.CLIENT_SECRET}' };
      const env = { CLIENT_SECRET: 'oauth-secret-value' };
      const first = await harvest(mock, dir, config, env);
      assert.equal(first.code, 0, first.err);
      assert.equal(mock.tokensIssued(), 1, 'one token for every request');
      assert.equal(mock.stats().statuses['401'], undefined);
      const wrong = await harvest(mock, tempDir(), config, { CLIENT_SECRET: 'wrong-secret-value' });
      assert.equal(wrong.code, 3, wrong.err);
      assert.match(wrong.err, /token endpoint answered HTTP 401/);
      assert.ok(!wrong.err.includes('wrong-secret-value'));
    } finally {
      await mock.close();
    }
  });

  it('keeps one server quota where a path costs more, shared by parents and children: no request over it', async () => {
    const mock = await startMockApi({ tree: { repos: 12, issuesPerRepo: 2, commentsPerIssue: 0 }, limits: '12/1s', costs: { '/repos/*/issues': 3 } });
    const dir = tempDir();
    try {
      const config = githubSource(mock.url);
      config.client = { baseUrl: mock.url, auth: { type: 'bearer', token: '{env.GITHUB_TOKEN}' }, concurrency: 4, budgets: [{ name: 'api', rate: '12/1s', weights: { '/repos/*/issues': 3 } }] };
      delete (config.resources as Record<string, unknown>).comments;
      const run = await harvest(mock, dir, config);
      assert.equal(run.code, 0, run.err);
      assert.equal(lines(dir, 'issues').length, 24);
      const stats = mock.stats();
      assert.equal(stats.requests, 13);
      assert.equal(stats.violations.total, 0, JSON.stringify(stats.violations));
    } finally {
      await mock.close();
    }
  });

  it('refuses a file with a mistake before any request, naming the path in the file', async () => {
    const mock = await startMockApi({});
    const dir = tempDir();
    try {
      const config = githubSource(mock.url);
      (config.resources as Record<string, Record<string, unknown>>).comments!.pagination = { type: 'cursor' };
      const bad = await harvest(mock, dir, config);
      assert.equal(bad.code, 2);
      assert.match(bad.err, /resources\.comments\.pagination\.cursorPath: is required/);
      const noEnv = await harvest(mock, dir, githubSource(mock.url), {});
      assert.equal(noEnv.code, 2);
      assert.match(noEnv.err, /client\.auth\.token: uses \{env\.GITHUB_TOKEN\}, which is not set/);
      assert.equal(mock.stats().requests, 0);
    } finally {
      await mock.close();
    }
  });
});
