// What a body holds is written as the server sent it — numbers past 2^53, 1.0, escapes — in
// whatever charset it declares; bodies that lie, stall, reset, bomb or redirect elsewhere
// fail their page with a reason (exit 3), or are asked again when asking again can help.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { EXIT } from '../../../src/cli/harvest-exit.js';
import { harvest, hostile, offsetApi, recs, upTo } from './hostile.js';

const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

describe('hostile: bodies written as sent', () => {
  it('integers past 2^53 in records are written exactly as the server sent them', async () => {
    const api = await hostile(() => ({ raw: '{"count":2,"results":[{"id":12345678901234567891,"n":-9007199254740993},{"id":2,"big":[18446744073709551615]}]}' }));
    const run = await harvest([`${api.origin}/x?offset={offset}`]);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.equal(run.text, '{"id":12345678901234567891,"n":-9007199254740993}\n{"id":2,"big":[18446744073709551615]}\n');
  });

  it('1.0, 1e3, -0 and \\u escapes stay as written', async () => {
    const api = await hostile(() => ({ raw: '{"count":1,"results":[{"id":1,"a":1.0,"b":1e3,"c":-0,"d":"caf\\u00e9 \\"q\\""}]}' }));
    const run = await harvest([`${api.origin}/x?offset={offset}`]);
    assert.equal(run.text, '{"id":1,"a":1.0,"b":1e3,"c":-0,"d":"caf\\u00e9 \\"q\\""}\n');
  });

  it('a pretty-printed body: each record on one line, its strings untouched', async () => {
    const body = JSON.stringify({ count: 2, results: [{ id: 1, text: 'two  spaces\tand a tab' }, { id: 2, nested: { list: [1, 2] } }] }, null, 2);
    const api = await hostile(() => ({ raw: body }));
    const run = await harvest([`${api.origin}/x?offset={offset}`]);
    assert.equal(run.text, '{"id":1,"text":"two  spaces\\tand a tab"}\n{"id":2,"nested":{"list":[1,2]}}\n');
  });

  it('duplicate keys: the records are where JSON.parse finds them (the last key wins)', async () => {
    const api = await hostile(() => ({ raw: '{"results":[{"id":99}],"count":1,"results":[{"id":1}]}' }));
    const run = await harvest([`${api.origin}/x?offset={offset}`]);
    assert.deepEqual(run.ids, [1]);
  });

  it('a UTF-8 byte order mark before the JSON is dropped', async () => {
    const api = await hostile(() => ({ raw: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"count":1,"results":[{"id":1,"s":"ü"}]}')]) }));
    const run = await harvest([`${api.origin}/x?offset={offset}`]);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.equal(run.text, '{"id":1,"s":"ü"}\n');
  });

  it('a declared ISO-8859-1 body is decoded by its charset and written as UTF-8', async () => {
    const api = await hostile(() => ({ raw: latin1('{"count":1,"results":[{"id":1,"city":"Zürich","e":"é"}]}'), headers: { 'content-type': 'application/json; charset=ISO-8859-1' } }));
    const run = await harvest([`${api.origin}/x?offset={offset}`]);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.equal(run.text, '{"id":1,"city":"Zürich","e":"é"}\n');
  });

  it('a UTF-16 body with its byte order mark is decoded', async () => {
    const text = '{"count":1,"results":[{"id":1,"s":"ß"}]}';
    const api = await hostile(() => ({ raw: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), headers: { 'content-type': 'application/json' } }));
    const run = await harvest([`${api.origin}/x?offset={offset}`]);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.equal(run.text, '{"id":1,"s":"ß"}\n');
  });

  it('bytes that are not UTF-8, with no charset declared: the page fails (not U+FFFD in the output), exit 3', async () => {
    const api = await hostile(() => ({ raw: latin1('{"count":1,"results":[{"id":1,"city":"Zürich"}]}') }));
    const run = await harvest([`${api.origin}/x?offset={offset}`]);
    assert.equal(run.code, EXIT.incomplete);
    assert.equal(run.text, '');
    assert.match(run.incomplete[0]!, /the body is not valid utf-8 \(the server declared no charset\)/);
    assert.equal(api.requests.length, 1, 'not asked again: the same bytes would come');
  });

  it('a charset this runtime cannot decode: the page fails naming it', async () => {
    const api = await hostile(() => ({ raw: '{"count":1,"results":[{"id":1}]}', headers: { 'content-type': 'application/json; charset=x-martian' } }));
    const run = await harvest([`${api.origin}/x?offset={offset}`]);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.incomplete[0]!, /charset "x-martian" cannot be decoded/);
  });
});

describe('hostile: bodies that lie, stall, reset or bomb', () => {
  it('a gzip bomb (1 KB that inflates past --max-body) fails its page unretried', async () => {
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x20));
    const api = await hostile(() => ({ raw: bomb, headers: { 'content-encoding': 'gzip' } }));
    const run = await harvest([`${api.origin}/x?offset={offset}`, '--max-body', '1mb']);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.incomplete[0]!, /over the cap of 1048576 bytes \(--max-body\)/);
    assert.equal(api.requests.length, 1);
  });

  it('a chunked body with no length that runs past --max-body is cut off and fails its page', async () => {
    const api = await hostile((_url, _n, _req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"count":1,"results":["');
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 40; i++) res.write(chunk);
      res.end('"]}');
      return 'handled';
    });
    const run = await harvest([`${api.origin}/x?offset={offset}`, '--max-body', '512kb']);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.incomplete[0]!, /over the cap/);
  });

  it('a body cut short by a reset is asked again, and the page is whole', async () => {
    const api = await hostile((url, n, _req, res) => {
      if (n === 2) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
        res.write('{"count":30,"results":[{"id"');
        setTimeout(() => res.socket?.destroy(), 5);
        return 'handled';
      }
      return offsetApi(30)(url, n, _req, res);
    });
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10', '--concurrency', '1']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(30));
  });

  it('a connection reset before any answer is asked again', async () => {
    const api = await hostile((url, n, req, res) => {
      if (n === 1) {
        req.socket.destroy();
        return 'handled';
      }
      return offsetApi(20)(url, n, req, res);
    });
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`]);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(20));
  });

  it('a body that is not JSON, every time: asked again up to --retries, then the page fails', async () => {
    const api = await hostile(() => ({ raw: '<html>maintenance</html>' }));
    const run = await harvest([`${api.origin}/x?offset={offset}`, '--retries', '1']);
    assert.equal(run.code, EXIT.incomplete);
    assert.equal(api.requests.length, 2);
    assert.match(run.incomplete[0]!, /body is not JSON/);
  });

  it('a server that never answers: --timeout fails the page, exit 3, no hang', async () => {
    const api = await hostile(() => 'handled');
    const run = await harvest([`${api.origin}/x?offset={offset}`, '--timeout', '200ms', '--retries', '0']);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.incomplete[0]!, /TimeoutError/);
  });

  it('a body that stalls half-way: --timeout covers the body too', async () => {
    const api = await hostile((_url, _n, _req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"count":1,"results":[');
      return 'handled';
    });
    const run = await harvest([`${api.origin}/x?offset={offset}`, '--timeout', '200ms', '--retries', '0']);
    assert.equal(run.code, EXIT.incomplete);
  });

  it('a page answering 500 while others answer: skipped and listed (exit 3); --retry-failed heals it', async () => {
    let down = true;
    const api = await hostile(offsetApi(100, (offset) => (offset === 40 && down ? { status: 500, json: { error: 'boom' } } : undefined)));
    const args = [`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10', '--retries', '0'];
    const first = await harvest(args);
    assert.equal(first.code, EXIT.incomplete);
    assert.match(first.failed!, /"page":4,.*"reason":"HTTP 500/);
    down = false;
    const healed = await harvest([...args, '--retry-failed'], { out: first.out! });
    assert.equal(healed.code, EXIT.complete, healed.stderr);
    assert.deepEqual([...healed.ids].sort((a, b) => a - b), upTo(100));
  });

  it('a 429 with Retry-After: 1 pauses the harvest and the page is asked again, not failed', async () => {
    let once = true;
    const api = await hostile(offsetApi(20, (offset) => (offset === 10 && once ? ((once = false), { status: 429, headers: { 'retry-after': '1' }, json: {} }) : undefined)));
    const run = await harvest([`${api.origin}/x?offset={offset}&limit={limit}`, '--page-size', '10']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.deepEqual(run.ids, upTo(20));
  });
});

describe('hostile: redirects', () => {
  it('a redirect to another origin is refused like a next link to one, naming --allow-origin', async () => {
    const elsewhere = await hostile(() => ({ json: { count: 1, results: recs(0, 1) } }));
    const api = await hostile(() => ({ status: 302, headers: { location: `${elsewhere.origin}/x` } }));
    const run = await harvest([`${api.origin}/x?offset={offset}`]);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.incomplete[0]!, new RegExp(`redirect to another origin \\(${elsewhere.origin.replaceAll('.', '\\.')}\\) refused; allow it with --allow-origin`));
    assert.equal(elsewhere.requests.length, 0);
  });

  it('allowed with --allow-origin, the redirect is followed without the headers meant for the first origin', async () => {
    const elsewhere = await hostile(() => ({ json: { count: 1, results: recs(0, 1) } }));
    const api = await hostile(() => ({ status: 307, headers: { location: `${elsewhere.origin}/x` } }));
    const run = await harvest([`${api.origin}/x?offset={offset}`, '--allow-origin', elsewhere.origin, '--header', 'X-Api-Key: k-123456789'], {});
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.equal(api.headers[0]!['x-api-key'], 'k-123456789');
    assert.equal(elsewhere.headers[0]!['x-api-key'], undefined);
  });

  it('a redirect loop ends after 5 hops with the page failed', async () => {
    const api = await hostile((url) => ({ status: 302, headers: { location: url.pathname === '/a' ? '/b' : '/a' } }));
    const run = await harvest([`${api.origin}/a?offset={offset}`]);
    assert.equal(run.code, EXIT.incomplete);
    assert.match(run.incomplete[0]!, /more than 5 redirects/);
    assert.equal(api.requests.length, 6);
  });

  it('a redirect on the same origin is followed, headers kept', async () => {
    const api = await hostile((url) => (url.pathname === '/old' ? { status: 301, headers: { location: `/new${url.search}` } } : offsetApi(5)(url, 0, undefined as never, undefined as never)));
    const run = await harvest([`${api.origin}/old?offset={offset}&limit={limit}`, '--header', 'X-Api-Key: k-123456789']);
    assert.equal(run.code, EXIT.complete, run.stderr);
    assert.equal(api.headers[1]!['x-api-key'], 'k-123456789');
  });
});
