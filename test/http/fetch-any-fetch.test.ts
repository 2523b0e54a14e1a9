import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch as undiciFetch, Request as UndiciRequest } from 'undici';
import { constant } from '../../src/policies/backoff.js';
import { sluiceFetch, type FetchFn } from '../../src/http/index.js';

/** What the echo server saw of one request. */
interface Echo {
  n: number;
  method: string;
  contentType: string | undefined;
  token: string | undefined;
  body: string;
}

const noWait = { backoff: constant(0), budget: false } as const;

/**
 * A loopback server that answers each request with what it received; a request whose
 * `x-fail-first` header is set is answered 503 the first time its value is seen, so a
 * retry must send the same request again.
 */
let server: Server;
let origin: string;
let served = 0;
const failedOnce = new Set<string>();

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const failKey = req.headers['x-fail-first'];
      if (typeof failKey === 'string' && !failedOnce.has(failKey)) {
        failedOnce.add(failKey);
        res.writeHead(503, { 'retry-after': '0' }).end();
        return;
      }
      const echo: Echo = { n: ++served, method: req.method ?? '', contentType: req.headers['content-type'], token: req.headers['x-token'] as string | undefined, body: Buffer.concat(chunks).toString('utf8') };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(echo));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  // A body a failing test left unread keeps its connection open, and close() would wait for it.
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("sluiceFetch wraps any fetch: it hands over a URL string and an init, never a Request of its own", () => {
  it("undici's fetch (the npm package, another implementation than Node's): GET, and a POST retried with its body", async () => {
    const f = sluiceFetch({ fetch: undiciFetch as typeof fetch, retry: noWait });
    const got = (await (await f(`${origin}/things?page=1`)).json()) as Echo;
    assert.equal(got.method, 'GET');
    const posted = (await (await f(new URL(`${origin}/things`), { method: 'POST', headers: { 'content-type': 'application/json', 'x-token': 't-1', 'x-fail-first': 'undici-post' }, body: '{"a":1}' })).json()) as Echo;
    assert.deepEqual([posted.method, posted.contentType, posted.token, posted.body], ['POST', 'application/json', 't-1', '{"a":1}'], 'the retry after the 503 sent the same request');
  });

  it("undici's fetch with the caller's own Request, global or undici's: unpacked into URL and init, body included, on every attempt", async () => {
    const f = sluiceFetch({ fetch: undiciFetch as typeof fetch, retry: noWait });
    const global = new Request(`${origin}/g`, { method: 'PUT', headers: { 'x-token': 't-2', 'x-fail-first': 'global-request' }, body: 'global body' });
    const echoed = (await (await f(global)).json()) as Echo;
    assert.deepEqual([echoed.method, echoed.token, echoed.body, echoed.contentType], ['PUT', 't-2', 'global body', 'text/plain;charset=UTF-8']);
    const foreign = new UndiciRequest(`${origin}/u`, { method: 'POST', headers: { 'x-token': 't-3', 'x-fail-first': 'undici-request' }, body: 'undici body' });
    const fromUndici = (await (await f(foreign as unknown as Request)).json()) as Echo;
    assert.deepEqual([fromUndici.method, fromUndici.token, fromUndici.body], ['POST', 't-3', 'undici body']);
  });

  it("the caller's init reaches the fetch as given, undici's dispatcher included", async () => {
    const agent = new Agent({ connections: 1 });
    let seen: RequestInit | undefined;
    const spy: FetchFn = (url, init) => {
      seen = init;
      return undiciFetch(url, init as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
    };
    const init = { headers: { 'x-token': 't-4' }, dispatcher: agent } as unknown as RequestInit;
    const echoed = (await (await sluiceFetch({ fetch: spy })(`${origin}/d`, init)).json()) as Echo;
    assert.equal(echoed.token, 't-4');
    assert.equal((seen as { dispatcher?: unknown }).dispatcher, agent);
    await agent.close();
  });

  it('a stream body is read once and every attempt sends the same bytes', async () => {
    const f = sluiceFetch({ fetch: undiciFetch as typeof fetch, retry: noWait });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed '));
        controller.enqueue(new TextEncoder().encode('body'));
        controller.close();
      },
    });
    const init = { method: 'POST', headers: { 'x-fail-first': 'stream' }, body: stream, duplex: 'half' } as RequestInit;
    const echoed = (await (await f(`${origin}/s`, init)).json()) as Echo;
    assert.equal(echoed.body, 'streamed body');
  });

  it('a minimal fetch that accepts only a string URL and a plain init works, a caller’s Request included', async () => {
    const calls: { url: unknown; init: RequestInit }[] = [];
    const minimal: FetchFn = async (url, init) => {
      if (typeof url !== 'string') throw new TypeError(`this fetch takes a string URL, got ${Object.prototype.toString.call(url)}`);
      calls.push({ url, init });
      const headers = new Headers(init.headers);
      const body = init.body === undefined || init.body === null ? '' : await new Response(init.body).text();
      return calls.length === 1 ? new Response('', { status: 503 }) : Response.json({ method: init.method ?? 'GET', token: headers.get('x-token'), body });
    };
    const f = sluiceFetch({ fetch: minimal, retry: noWait });
    const request = new Request('https://api.test/v1/items', { method: 'POST', headers: { 'x-token': 't-5' }, body: 'from a Request' });
    const answer = (await (await f(request)).json()) as { method: string; token: string; body: string };
    assert.deepEqual(answer, { method: 'POST', token: 't-5', body: 'from a Request' });
    assert.equal(calls.length, 2, 'the 503 was retried');
    for (const call of calls) {
      assert.equal(call.url, 'https://api.test/v1/items');
      assert.ok(call.init.signal instanceof AbortSignal, 'each attempt carries its signal');
    }
  });
});
