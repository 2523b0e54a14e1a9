// Pagination parameters that look like secrets are the harvest's to follow, exactly; the
// user's own secrets are kept out of every file people share (state, failed pages, report)
// and out of what is printed — in every case style.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../../src/cli/harvest-exit.js';
import { tempDir } from '../helpers.js';
import { harvest, hostile, recs, upTo, type Handler } from './hostile.js';

/** A cursor API whose cursor travels in `?<name>=`. */
function cursorIn(name: string): Handler {
  return (url) => {
    const at = Number(url.searchParams.get(name) || 0);
    return { json: { data: recs(at, at + 10), next: at < 30 ? String(at + 10) : null } };
  };
}

/** A Link header naming `next`, when there is one. */
function linkIf(more: boolean, next: string): Record<string, string> {
  return more ? { link: `<${next}>; rel="next"` } : {};
}

describe('hostile: pagination parameters named like secrets', () => {
  for (const name of ['sig', 'token', 'access_token']) {
    it(`a cursor in ?${name}= is followed exactly, not redacted into the first page again`, async () => {
      const api = await hostile(cursorIn(name));
      const run = await harvest([`${api.origin}/x?${name}={cursor}`, '--next', 'next']);
      assert.equal(run.code, EXIT.complete, run.stderr);
      assert.deepEqual(run.ids, upTo(40));
      assert.equal(api.requests.length, 4);
    });
  }

  it('cursor names that are cursors (page_token, pagination_token, next_token, nextPageToken) are followed', async () => {
    for (const name of ['page_token', 'pagination_token', 'next_token', 'nextPageToken']) {
      const api = await hostile(cursorIn(name));
      const run = await harvest([`${api.origin}/x?${name}={cursor}`, '--next', 'next']);
      assert.deepEqual([run.code, run.ids.length], [EXIT.complete, 40], name);
    }
  });

  it('link pagination through presigned next URLs (?sig=…&token=…) reaches the last page on the first run', async () => {
    const api = await hostile((url) => {
      const page = Number(url.searchParams.get('page') ?? 1);
      if (page > 1 && url.searchParams.get('sig') !== `s${page}`) return { status: 403, json: { error: 'bad signature' } };
      return { json: recs((page - 1) * 5, page * 5), headers: linkIf(page < 4, `/x?page=${page + 1}&sig=s${page + 1}&token=t${page + 1}`) };
    });
    const run = await harvest([`${api.origin}/x?page=1`, '--paginate', 'link']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(20));
  });

  it('a presigned next URL survives a stop: the state keeps the server\'s signature and the resume follows it', async () => {
    let down = true;
    const api = await hostile((url) => {
      const page = Number(url.searchParams.get('page') ?? 1);
      if (page === 3 && down) return { status: 500, json: { error: 'down' } };
      if (page > 1 && url.searchParams.get('sig') !== `s${page}`) return { status: 403, json: { error: 'bad signature' } };
      return { json: recs((page - 1) * 5, page * 5), headers: linkIf(page < 4, `/x?page=${page + 1}&sig=s${page + 1}`) };
    });
    const args = [`${api.origin}/x?page=1`, '--paginate', 'link', '--retries', '0'];
    const first = await harvest(args);
    assert.equal(first.code, EXIT.incomplete);
    assert.match(first.state!, /sig=s3/);
    down = false;
    const rest = await harvest(args, { out: first.out! });
    assert.equal(rest.code, EXIT.complete, rest.stderr);
    assert.deepEqual(rest.ids, upTo(20));
  });

  it('the template\'s own api_key, echoed in every next link, is kept out of the state and put back on resume', async () => {
    const key = 'k3y-canary-5521';
    let down = true;
    const api = await hostile((url) => {
      if (url.searchParams.get('api_key') !== key) return { status: 401, json: { error: 'no key' } };
      const page = Number(url.searchParams.get('page') ?? 1);
      if (page === 2 && down) return { status: 500, json: {} };
      return { json: recs((page - 1) * 5, page * 5), headers: linkIf(page < 3, `/x?page=${page + 1}&api_key=${key}`) };
    });
    const args = [`${api.origin}/x?page=1&api_key=${key}`, '--paginate', 'link', '--retries', '0'];
    const first = await harvest(args);
    assert.doesNotMatch(first.state!, new RegExp(key));
    assert.match(first.state!, /page=2&api_key=\[redacted\]/);
    down = false;
    const rest = await harvest(args, { out: first.out! });
    assert.equal(rest.code, EXIT.complete, rest.stderr);
    assert.deepEqual(rest.ids, upTo(15));
  });

  it('a --header value the server echoes into its next link is kept out of the state and put back on resume', async () => {
    const token = 'hdr-canary-77aa11';
    let down = true;
    const api = await hostile((url, _n, req) => {
      if (req.headers['x-api-key'] !== token) return { status: 401, json: {} };
      const page = Number(url.searchParams.get('page') ?? 1);
      if (page === 2 && down) return { status: 500, json: {} };
      return { json: recs((page - 1) * 5, page * 5), headers: linkIf(page < 3, `/x?page=${page + 1}&key=${token}`) };
    });
    const args = [`${api.origin}/x?page=1`, '--paginate', 'link', '--header', 'X-Api-Key: $TOKEN', '--retries', '0'];
    const first = await harvest(args, { env: { TOKEN: token } });
    assert.doesNotMatch(first.state!, new RegExp(token));
    assert.match(first.state!, /key=\[redacted:header:x-api-key\]/);
    down = false;
    const rest = await harvest(args, { out: first.out!, env: { TOKEN: token } });
    assert.equal(rest.code, EXIT.complete, rest.stderr);
    assert.deepEqual(rest.ids, upTo(15));
    assert.match(api.requests.at(-1)!, new RegExp(`key=${token}`));
  });
});

describe('hostile: secrets in every case style stay out of shared files', () => {
  const styles: Record<string, string[]> = {
    camelCase: ['accessToken', 'apiToken', 'clientSecret'],
    'kebab-case': ['x-api-key', 'client-secret', 'auth-token'],
    snake_case: ['api_key', 'client_secret', 'private_key'],
  };
  for (const [style, names] of Object.entries(styles)) {
    it(`${style}: ${names.join(', ')} in the template appear in no state, failed-pages file, report or message`, async () => {
      const canary = `cnry-${style.length}-4f0e9d`;
      const api = await hostile(() => ({ status: 500, json: { error: 'down' } }));
      const dir = tempDir();
      const report = join(dir, 'report.html');
      const query = names.map((n, i) => `${n}=${canary}${i}`).join('&');
      const run = await harvest([`${api.origin}/x?offset={offset}&${query}`, '--retries', '0', '--report', report], { out: join(dir, 'out.ndjson') });
      assert.equal(run.code, EXIT.incomplete);
      const texts = { state: run.state ?? '', failed: run.failed ?? '', report: existsSync(report) ? readFileSync(report, 'utf8') : '', stderr: run.stderr, stdout: run.stdout };
      assert.ok(texts.failed.length > 0 && texts.report.length > 0);
      for (const [where, text] of Object.entries(texts)) assert.doesNotMatch(text, new RegExp(canary), `${where} shows a ${style} secret`);
    });
  }
});
