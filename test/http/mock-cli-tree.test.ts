import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getJson, runMockCli } from './mock-helpers.js';

const run = runMockCli;

describe('sluice mock: the tree, OAuth2 and costs from the command line', () => {
  it('--tree, --oauth, --token-ttl and --cost shape what it serves', async () => {
    const { code, out } = await run(['--tree', '2,3,1', '--oauth', 'app:s3cret', '--token-ttl', '30s', '--rate', '10/1s', '--cost', '/repos/*/issues=4'], async (mock) => {
      assert.equal((await getJson(`${mock.url}/repos`)).status, 401);
      const token = await getJson(mock.endpoints.token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=app&client_secret=s3cret' });
      const bearer = { authorization: `Bearer ${(token.body as { access_token: string }).access_token}` };
      assert.equal((token.body as { expires_in: number }).expires_in, 30);
      assert.equal(((await getJson(`${mock.url}/repos`, { headers: bearer })).body as unknown[]).length, 2);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await getJson(`${mock.url}/repos/repo-1/issues`, { headers: bearer })).status);
      assert.deepEqual(statuses, [200, 200, 429], '1 + 4 + 4 of 10, then no room for 4 more');
    });
    assert.equal(code, 0);
    assert.match(out, /\/oauth\/token/);
    assert.match(out, /\/repos\?page=1/);
  });

  it('names the flag of a bad value', async () => {
    for (const [argv, flag] of [[['--tree', '2,3'], '--tree'], [['--oauth', 'nocolon'], '--oauth'], [['--token-ttl', '1m'], '--token-ttl'], [['--cost', 'repos=2'], '--cost']] as const) {
      const { code, err } = await run([...argv]);
      assert.equal(code, 2, `${argv.join(' ')}: ${err}`);
      assert.match(err, new RegExp(`^sluice mock: ${flag}`), err);
    }
  });
});
