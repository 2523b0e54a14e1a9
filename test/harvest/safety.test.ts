import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Harvest } from '../../src/harvest/engine.js';
import { nullMonitor } from '../../src/harvest/null-monitor.js';
import { urlForState, urlFromState } from '../../src/harvest/saved-url.js';
import { redactTemplate, splitCredentials } from '../../src/harvest/secrets.js';
import { configOf, expectedNdjson, fakeApi, memoryStream, ORIGIN, record } from './helpers.js';

const SECRET = 'canary-5e3c7a1f';

async function run(args: string[], api: ReturnType<typeof fakeApi>, env: Record<string, string> = { TOKEN: SECRET }) {
  const stdout = memoryStream();
  const harvest = await Harvest.open(configOf(args, env), { fetch: api.fetch, stdout });
  const outcome = await harvest.run(nullMonitor);
  await harvest.close();
  return { outcome, text: stdout.text() };
}

describe('harvest safety', () => {
  it('a redirect from https to http is refused, not followed, and not retried', async () => {
    const api = fakeApi(10, (url) => (url.protocol === 'https:' ? { status: 302, headers: { location: 'http://api.test/records?offset=0&limit=10' } } : undefined));
    const { outcome } = await run([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--page-size', '10'], api);
    assert.equal(api.requests.length, 1);
    assert.match(outcome.failed[0]!.reason, /https to http refused/);
  });

  it('a redirect to another origin allowed with --allow-origin drops every --header and credentials; the same origin keeps them', async () => {
    const api = fakeApi(5, (url) => {
      if (url.pathname === '/moved') return { status: 301, headers: { location: 'https://other.test/records?offset=0&limit=10' } };
      if (url.pathname === '/same') return { status: 307, headers: { location: '/moved' } };
      if (url.host === 'other.test') return { body: { count: 5, results: [0, 1, 2, 3, 4].map(record) } };
      return undefined;
    });
    const { text } = await run([`${ORIGIN}/same?offset={offset}`, '--header', 'Authorization: Bearer $TOKEN', '--header', 'X-Custom: ${TOKEN}', '--allow-origin', 'https://other.test'], api);
    assert.equal(text, expectedNdjson(5));
    assert.equal(api.headers[0]!.authorization, `Bearer ${SECRET}`);
    assert.equal(api.headers[1]!['x-custom'], SECRET); // /moved is on the same origin
    assert.equal(api.headers[2]!.authorization, undefined);
    assert.equal(api.headers[2]!['x-custom'], undefined);
  });

  it('a redirect to a non-http scheme is refused', async () => {
    const api = fakeApi(5, () => ({ status: 302, headers: { location: 'file:///etc/passwd' } }));
    const { outcome } = await run([`${ORIGIN}/records?offset={offset}`], api);
    assert.match(outcome.failed[0]!.reason, /only http and https/);
    assert.equal(api.requests.length, 1);
  });

  it('a next link to another origin is refused unless --allow-origin allows it', async () => {
    const override = (url: URL) => (url.host === 'api.test' ? { body: { data: [record(0)], next: 'https://elsewhere.test/p2' } } : { body: { data: [record(1)], next: null } });
    const refused = fakeApi(0, override);
    const first = await run([`${ORIGIN}/p1?c={cursor}`, '--next', 'next'], refused);
    assert.equal(refused.requests.length, 1);
    assert.equal(first.text, expectedNdjson(1));
    assert.match(first.outcome.failed[0]!.reason, /another origin \(https:\/\/elsewhere\.test\) refused; allow it with --allow-origin/);
    const allowed = fakeApi(0, override);
    const second = await run([`${ORIGIN}/p1?c={cursor}`, '--next', 'next', '--allow-origin', 'https://elsewhere.test'], allowed);
    assert.equal(second.text, expectedNdjson(2));
    assert.deepEqual(second.outcome.failed, []);
  });

  it('a body over --max-body fails its page without a retry', async () => {
    const api = fakeApi(1000);
    const { outcome } = await run([`${ORIGIN}/records?offset={offset}&limit={limit}`, '--max-body', '200b', '--page-size', '50'], api);
    assert.equal(api.requests.length, 1);
    assert.match(outcome.failed[0]!.reason, /over the cap of 200/);
  });

  it('URL credentials become a Basic Authorization header and never appear in a URL sent, shown or saved', async () => {
    const api = fakeApi(3);
    const template = `https://user:${SECRET}@api.test/records?offset={offset}&api_key=${SECRET}`;
    const config = configOf([template]);
    assert.doesNotMatch(config.source, new RegExp(SECRET));
    assert.equal(config.source, 'https://[redacted]:[redacted]@api.test/records?offset={offset}&api_key=[redacted]');
    await run([template], api);
    assert.equal(api.requests[0]!.includes('user:'), false);
    assert.equal(api.headers[0]!.authorization, `Basic ${Buffer.from(`user:${SECRET}`).toString('base64')}`);
  });

  it('a failure whose message echoes a header value is saved redacted', async () => {
    const api = fakeApi(0);
    const throwing = { ...api, fetch: async () => Promise.reject(new Error(`upstream said: bad token Bearer ${SECRET}`)) };
    const { outcome } = await run([`${ORIGIN}/records?offset={offset}`, '--header', 'Authorization: Bearer $TOKEN', '--retries', '0'], throwing);
    assert.doesNotMatch(outcome.failed[0]!.reason, new RegExp(SECRET));
    assert.match(outcome.failed[0]!.reason, /\[redacted\]/);
  });

  it("a saved next URL hides the template's secret values and --header values, and gets them back from the options on resume; cursors stay", () => {
    const config = configOf([`https://api.test/items?cursor={cursor}&api_key=${SECRET}`, '--next', 'next', '--header', 'X-Key: $TOKEN'], { TOKEN: 'header-secret-9f' });
    const real = `https://api.test/items?cursor=abc&api_key=${SECRET}&token=server-token&echo=header-secret-9f`;
    const saved = urlForState(real, config);
    assert.equal(saved, 'https://api.test/items?cursor=abc&api_key=[redacted]&token=server-token&echo=[redacted:header:x-key]');
    assert.equal(urlFromState(saved, config), real);
    assert.throws(() => urlFromState(saved, configOf(['https://api.test/items?cursor={cursor}', '--next', 'next'])), /query parameter 'api_key'/);
    assert.deepEqual(splitCredentials('https://api.test/x'), { template: 'https://api.test/x', authorization: undefined });
    assert.equal(redactTemplate('https://api.test/x?page={page}&token=t0k'), 'https://api.test/x?page={page}&token=[redacted]');
  });
});
