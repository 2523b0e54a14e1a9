import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { getJson, nextLink, withMock } from './mock-helpers.js';

const EPOCH = Date.parse('2026-11-23T12:00:00Z');
type Row = Record<string, unknown>;

/** Every record of a GitHub-style listing, following Link headers. */
async function all(url: string, init?: RequestInit): Promise<Row[]> {
  const out: Row[] = [];
  for (let next: string | undefined = url; next !== undefined; ) {
    const page = await getJson(next, init);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    out.push(...(page.body as Row[]));
    next = nextLink(page.headers.get('link'));
  }
  return out;
}

describe('mock API: repositories → issues → comments', () => {
  it('serves every level, linked by name and number, the same in every run', async () => {
    const tree = { repos: 3, issuesPerRepo: 7, commentsPerIssue: 2 };
    const first = await withMock({ tree }, async (mock) => {
      const repos = await all(`${mock.url}/repos?per_page=2`);
      assert.deepEqual(repos.map((r) => r.name), ['repo-1', 'repo-2', 'repo-3']);
      const issues = await all(`${mock.url}/repos/repo-2/issues?per_page=3`);
      assert.deepEqual(issues.map((i) => i.number), [1, 2, 3, 4, 5, 6, 7]);
      const comments = await all(`${mock.url}/repos/repo-2/issues/5/comments`);
      assert.equal(comments.length, 2);
      assert.ok(comments.every((c) => c.issue_number === 5));
      assert.equal((await getJson(`${mock.url}/repos/repo-4/issues`)).status, 404);
      assert.equal((await getJson(`${mock.url}/repos/repo-1/issues/8/comments`)).status, 404);
      return issues;
    });
    const again = await withMock({ tree }, (mock) => all(`${mock.url}/repos/repo-2/issues?per_page=3`));
    assert.deepEqual(again, first);
  });

  it('POST /search/issues with { repo } in its body lists what GET /repos/:repo/issues does, page by page; a GET or a bad body is refused', async () => {
    await withMock({ tree: { repos: 2, issuesPerRepo: 7, commentsPerIssue: 0 } }, async (mock) => {
      const post = (body: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const byGet = await all(`${mock.url}/repos/repo-2/issues?per_page=3`);
      assert.deepEqual(await all(`${mock.url}/search/issues?per_page=3`, post('{"repo":"repo-2"}')), byGet);
      assert.equal((await getJson(`${mock.url}/search/issues`)).status, 405);
      assert.equal((await getJson(`${mock.url}/search/issues`, post('{"repo":'))).status, 400);
      assert.equal((await getJson(`${mock.url}/search/issues`, post('{"name":"repo-2"}'))).status, 400);
      assert.equal((await getJson(`${mock.url}/search/issues`, post('{"repo":"repo-9"}'))).status, 404);
    });
  });

  it('since= returns only the issues updated from then on, and change() updates a share of them now', async () => {
    const clock = new ManualClock();
    await withMock({ tree: { repos: 4, issuesPerRepo: 50, commentsPerIssue: 0 }, clock, startEpochMs: EPOCH }, async (mock) => {
      const before = new Date(EPOCH).toISOString();
      const none = await Promise.all([1, 2, 3, 4].map((r) => all(`${mock.url}/repos/repo-${r}/issues?since=${before}&per_page=100`)));
      assert.equal(none.flat().length, 0, 'nothing changed since the mock started');
      await clock.advance(60_000);
      assert.equal(mock.changeRecords(0.05), 10);
      const changed = (await Promise.all([1, 2, 3, 4].map((r) => all(`${mock.url}/repos/repo-${r}/issues?since=${before}&per_page=100`)))).flat();
      assert.equal(changed.length, 10);
      for (const issue of changed) {
        assert.equal(issue.updated_at, new Date(EPOCH + 60_000).toISOString());
        assert.equal(issue.revision, 1);
      }
      const over = await fetch(`${mock.url}/change?fraction=0.01`, { method: 'POST' }).then((r) => r.json());
      assert.deepEqual(over, { changed: 2 });
      assert.equal((await getJson(`${mock.url}/repos/repo-1/issues?since=yesterday`)).status, 400);
    });
  });

  it('charges a path its cost in every limit', async () => {
    const clock = new ManualClock();
    await withMock({ limits: '5/1s', costs: { '/repos/*/issues': 2 }, clock }, async (mock) => {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await getJson(`${mock.url}/repos/repo-1/issues`)).status);
      assert.deepEqual(statuses, [200, 200, 429], 'two issues requests use 4 of 5');
      assert.equal((await getJson(`${mock.url}/repos`)).status, 200, 'the repositories cost 1: the fifth unit');
      assert.equal((await getJson(`${mock.url}/repos`)).status, 429);
    });
  });
});

describe('mock API: OAuth2 client credentials', () => {
  const oauth = { clientId: 'app', clientSecret: 's3cret-value', tokenTtl: '10s' };
  const basic = `Basic ${Buffer.from('app:s3cret-value').toString('base64')}`;
  const form = { 'content-type': 'application/x-www-form-urlencoded' };

  it('issues tokens that open the data endpoints until they expire', async () => {
    const clock = new ManualClock();
    await withMock({ oauth, clock }, async (mock) => {
      assert.equal((await getJson(`${mock.url}/repos`)).status, 401);
      const refused = await getJson(mock.endpoints.token, { method: 'POST', headers: { ...form, authorization: `Basic ${Buffer.from('app:wrong').toString('base64')}` }, body: 'grant_type=client_credentials' });
      assert.equal(refused.status, 401);
      const granted = await getJson(mock.endpoints.token, { method: 'POST', headers: { ...form, authorization: basic }, body: 'grant_type=client_credentials' });
      const token = (granted.body as { access_token: string; expires_in: number }).access_token;
      assert.equal((granted.body as { expires_in: number }).expires_in, 10);
      const bearer = { authorization: `Bearer ${token}` };
      assert.equal((await getJson(`${mock.url}/repos`, { headers: bearer })).status, 200);
      await clock.advance(9_999);
      assert.equal((await getJson(`${mock.url}/records/1`, { headers: bearer })).status, 200);
      await clock.advance(1);
      assert.equal((await getJson(`${mock.url}/repos`, { headers: bearer })).status, 401, 'expired');
      assert.equal(mock.tokensIssued(), 1);
    });
  });

  it('revokeTokens() ends every token at once', async () => {
    await withMock({ oauth }, async (mock) => {
      const granted = await getJson(mock.endpoints.token, { method: 'POST', headers: form, body: 'grant_type=client_credentials&client_id=app&client_secret=s3cret-value' });
      const bearer = { authorization: `Bearer ${(granted.body as { access_token: string }).access_token}` };
      assert.equal((await getJson(`${mock.url}/repos`, { headers: bearer })).status, 200);
      mock.revokeTokens();
      assert.equal((await getJson(`${mock.url}/repos`, { headers: bearer })).status, 401);
    });
  });
});
