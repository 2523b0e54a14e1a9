import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Agent, interceptors, request } from 'undici';
import { ManualClock } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/errors.js';
import { sluiceInterceptor, type SluiceDispatchEvent } from '../../src/undici.js';

/**
 * sluiceInterceptor against a loopback server whose answer a test chooses. The limiter and
 * the pauses run on a ManualClock; the requests cross a real socket, so "has it arrived?"
 * is asked by `arrivals(n)`, which waits for the server to have seen n requests.
 */
let server: Server;
let origin: string;
let seen: string[] = [];
let answer: (req: IncomingMessage, res: ServerResponse) => void;
const held: ServerResponse[] = [];

before(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  seen = [];
  answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
});

after(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Waits (real time, a bounded number of short turns) until the server has seen `n` requests. */
async function arrivals(n: number): Promise<void> {
  for (let turn = 0; turn < 400 && seen.length < n; turn++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(seen.length, n);
}

/** A short real wait, then the count: nothing more arrived meanwhile. */
async function stillAt(n: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(seen.length, n);
}

describe('sluiceInterceptor: sluice admission for undici (sluice/undici)', () => {
  it('paces dispatches at the rate: at 2/s one every 500 ms on the clock', async () => {
    const clock = new ManualClock();
    const agent = new Agent().compose(sluiceInterceptor({ rate: '2/1s', adaptive: false, clock }));
    const calls = [1, 2, 3].map((i) => request(`${origin}/r/${i}`, { dispatcher: agent }).then((r) => r.body.text().then(() => r.statusCode)));
    await arrivals(1);
    await stillAt(1);
    await clock.advance(500);
    await arrivals(2);
    await stillAt(2);
    await clock.advance(500);
    await arrivals(3);
    assert.deepEqual(await Promise.all(calls), [200, 200, 200]);
    await agent.close();
  });

  it("a 429's Retry-After holds back every dispatch to the server, not only its own", async () => {
    const clock = new ManualClock();
    answer = (_req, res) => res.writeHead(429, { 'retry-after': '2' }).end();
    const agent = new Agent().compose(sluiceInterceptor({ adaptive: false, clock }));
    const first = await request(`${origin}/a`, { dispatcher: agent });
    await first.body.dump();
    assert.equal(first.statusCode, 429, 'the answer comes back as it was: the interceptor does not retry');
    answer = (_req, res) => res.writeHead(200).end();
    const next = request(`${origin}/b`, { dispatcher: agent });
    await stillAt(1);
    await clock.advance(2000);
    await arrivals(2);
    assert.equal((await next).statusCode, 200);
    await agent.close();
  });

  it("with undici's retry interceptor outside it, a persistent 429 costs maxRetries + 1 requests, each paced", async () => {
    answer = (_req, res) => res.writeHead(429, { 'retry-after': '0' }).end();
    const events: SluiceDispatchEvent[] = [];
    const agent = new Agent().compose(
      sluiceInterceptor({ rate: '1000/1s', onEvent: (e) => events.push(e) }),
      interceptors.retry({ maxRetries: 2, minTimeout: 1, timeoutFactor: 1, throwOnError: false }),
    );
    const response = await request(`${origin}/v1/x?api_key=secret`, { dispatcher: agent });
    await response.body.dump();
    assert.equal(response.statusCode, 429);
    assert.equal(seen.length, 3);
    assert.deepEqual(
      events.map((e) => (e.type === 'response' ? e.status : e.type)),
      [429, 429, 429],
      'every attempt of the retry interceptor passed through sluice',
    );
    assert.ok(events.every((e) => !e.url.includes('secret')), 'URLs in events are redacted');
    await agent.close();
  });

  it('holds a concurrency slot until the headers arrive; an abort while waiting sends nothing and frees its place', async () => {
    answer = (_req, res) => held.push(res);
    const agent = new Agent().compose(sluiceInterceptor({ concurrency: 1 }));
    const first = request(`${origin}/slow`, { dispatcher: agent });
    await arrivals(1);
    const controller = new AbortController();
    const aborted = request(`${origin}/aborted`, { dispatcher: agent, signal: controller.signal });
    const third = request(`${origin}/third`, { dispatcher: agent });
    await stillAt(1);
    controller.abort(new Error('caller gave up'));
    await assert.rejects(aborted, /caller gave up/);
    held.shift()!.writeHead(200).end();
    await (await first).body.dump();
    await arrivals(2);
    assert.deepEqual(seen, ['/slow', '/third'], 'the aborted request was never sent');
    held.shift()!.writeHead(200).end();
    assert.equal((await third).statusCode, 200);
    await agent.close();
  });

  it('paces the global fetch too, through its `dispatcher` (what setGlobalDispatcher installs)', async () => {
    const clock = new ManualClock();
    const agent = new Agent().compose(sluiceInterceptor({ rate: '1/1s', adaptive: false, clock }));
    // undici's own types and @types/node's copy of them differ; at run time Node's fetch takes the Agent.
    const init = { dispatcher: agent } as unknown as RequestInit;
    const calls = [fetch(`${origin}/f/1`, init), fetch(`${origin}/f/2`, init)];
    await arrivals(1);
    await stillAt(1);
    await clock.advance(1000);
    await arrivals(2);
    assert.deepEqual((await Promise.all(calls)).map((r) => r.status), [200, 200]);
    await agent.close();
  });

  it('refuses bad options with a ConfigError naming the field, as sluiceFetch does', () => {
    assert.throws(() => sluiceInterceptor({ rate: 'fast' }), (e: unknown) => e instanceof ConfigError && e.field === 'rate');
    assert.throws(() => sluiceInterceptor({ concurrency: 0 }), (e: unknown) => e instanceof ConfigError && e.field === 'concurrency');
    assert.throws(() => sluiceInterceptor({ onEvent: 'log' as never }), (e: unknown) => e instanceof ConfigError && e.field === 'onEvent');
  });
});
