// Cursors as servers make them — base64 with /, + and =, numbers past 2^53, whole URLs — go
// back to the server exactly; a next link the harvest may not follow stops it with advice
// that, followed, never writes a page twice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../../src/cli/harvest-exit.js';
import { harvest, hostile, recs, upTo } from './hostile.js';

describe('hostile: cursors', () => {
  it('a base64 cursor starting with / is a cursor, not a path', async () => {
    const cursors = ['', '/9j+Qw==', '/a/b?c&d#e'];
    const api = await hostile((url) => {
      if (url.pathname !== '/x') return { status: 404, json: {} };
      const at = cursors.indexOf(url.searchParams.get('c') ?? '');
      return { json: { data: recs(at * 2, at * 2 + 2), next: cursors[at + 1] ?? null } };
    });
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(6));
  });

  it('a cursor with + = & ? # % and spaces round-trips exactly', async () => {
    const odd = 'a+b=c&d?e#f%20g h/ü';
    const api = await hostile((url) => {
      const c = url.searchParams.get('c') ?? '';
      return { json: { data: recs(c === '' ? 0 : 1, c === '' ? 1 : 2), next: c === '' ? odd : null } };
    });
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(2));
    assert.equal(new URL(api.requests[1]!, api.origin).searchParams.get('c'), odd);
  });

  it('a numeric cursor past 2^53 is sent exactly as the server wrote it', async () => {
    const big = '12345678901234567891';
    const api = await hostile((url) => {
      const c = url.searchParams.get('c') ?? '';
      return { raw: `{"data":${JSON.stringify(recs(c === '' ? 0 : 1, c === '' ? 1 : 2))},"next":${c === '' ? big : 'null'}}` };
    });
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.equal(api.requests[1], `/x?c=${big}`);
  });

  it('with {cursor} in the template, an absolute next URL on the same origin is followed as a URL', async () => {
    const api = await hostile((url, _n, req) => (url.pathname === '/x' ? { json: { data: recs(0, 2), next: `http://${req.headers.host}/y?p=2` } } : { json: { data: recs(2, 4), next: null } }));
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(api.requests, ['/x?c=', '/y?p=2']);
  });

  it('without {cursor}, a relative next path is followed against the page', async () => {
    const api = await hostile((url) => (url.pathname === '/v1/items' && !url.search ? { json: { items: recs(0, 2), meta: { next: '/v1/items?after=2' } } } : { json: { items: recs(2, 3), meta: { next: null } } }));
    const run = await harvest([`${api.origin}/v1/items`, '--paginate', 'link', '--next', 'meta.next']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(3));
  });

  it('without {cursor}, a bare cursor has nowhere to go: the harvest stops after the page, saying so', async () => {
    const api = await hostile(() => ({ json: { items: recs(0, 2), next: 'opaque123' } }));
    const run = await harvest([`${api.origin}/v1/items`, '--paginate', 'link', '--next', 'next']);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.incomplete[0]!, /--next gave a cursor, but the URL template has no \{cursor\}/);
  });
});

describe('hostile: refused next links and the advice that follows them', () => {
  /** Page 1 on this origin links to page 2 on another one (port 1: nothing is fetched there unless allowed). */
  async function crossOrigin() {
    const other = await hostile(() => ({ json: { data: recs(2, 4), next: null } }));
    const api = await hostile(() => ({ json: { data: recs(0, 2), next: `${other.origin}/p2` } }));
    return { api, other };
  }

  it('a next link to another origin stops the harvest after the page, naming --allow-origin; exit 3', async () => {
    const { api, other } = await crossOrigin();
    const run = await harvest([`${api.origin}/x?c={cursor}`, '--next', 'next']);
    assert.equal(run.code, EXIT.incomplete);
    assert.deepEqual(run.ids, upTo(2));
    assert.match(run.incomplete[0]!, new RegExp(`refused; allow it with --allow-origin ${other.origin.replaceAll('.', '\\.')}; then run the same command again`));
    assert.equal(other.requests.length, 0);
  });

  it('running the same command again after the refusal writes nothing twice', async () => {
    const { api } = await crossOrigin();
    const args = [`${api.origin}/x?c={cursor}`, '--next', 'next'];
    const first = await harvest(args);
    const again = await harvest(args, { out: first.out! });
    assert.equal(again.code, EXIT.incomplete);
    assert.deepEqual(again.ids, upTo(2));
  });

  it('following the advice (--allow-origin) goes on from the refused link, each record once', async () => {
    const { api, other } = await crossOrigin();
    const args = [`${api.origin}/x?c={cursor}`, '--next', 'next'];
    const first = await harvest(args);
    const allowed = await harvest([...args, '--allow-origin', other.origin], { out: first.out! });
    assert.equal(allowed.code, EXIT.complete, allowed.stderr);
    assert.deepEqual(allowed.ids, upTo(4));
  });

  it('a failed cursor page: the advice is to run again, and that resumes at the failed page, not before it', async () => {
    let down = true;
    const api = await hostile((url) => {
      const at = Number(url.searchParams.get('c') || 0);
      if (at === 4 && down) return { status: 503, json: {} };
      return { json: { data: recs(at, at + 2), next: at < 6 ? String(at + 2) : null } };
    });
    const args = [`${api.origin}/x?c={cursor}`, '--next', 'next', '--retries', '0'];
    const first = await harvest(args);
    assert.equal(first.code, EXIT.incomplete);
    assert.match(first.incomplete[0]!, /HTTP 503.*run the same command again to resume from it/);
    down = false;
    const rest = await harvest(args, { out: first.out! });
    assert.equal(rest.code, EXIT.complete, rest.stderr);
    assert.deepEqual(rest.ids, upTo(8));
  });

  it('a next link from https down to http, or to another scheme, is refused', async () => {
    const api = await hostile((url) => ({ json: { data: recs(0, 1), next: url.searchParams.get('c') === '' ? 'ftp://example.test/x' : null } }));
    const run = await harvest([`${api.origin}/x?c=`, '--paginate', 'link', '--next', 'next']);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.incomplete[0]!, /ftp: URL refused/);
  });
});
