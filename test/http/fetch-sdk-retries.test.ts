import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { constant } from '../../src/policies/backoff.js';
import { CircuitBreaker } from '../../src/policies/breaker.js';
import { sluiceFetch, type FetchFn, type SluiceFetch } from '../../src/http/index.js';
import { drive } from '../flow/helpers.js';
import { track } from '../policies/helpers.js';

/**
 * A client that retries the way the Stainless-generated SDKs (OpenAI, Anthropic) do: up to
 * `maxRetries` retries of a 408/409/429/5xx, each request marked with
 * `x-stainless-retry-count` (0 on the first), waiting the server's Retry-After in between.
 * `mark: false` is a client that retries without saying so (ky, axios-retry, got).
 */
async function sdkCreate(fetch: SluiceFetch, url: string, options: { maxRetries: number; mark?: boolean; sleep?: (ms: number) => Promise<void> }): Promise<Response> {
  for (let retryCount = 0; ; retryCount++) {
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: 'Bearer sk-test' };
    if (options.mark !== false) headers['x-stainless-retry-count'] = String(retryCount);
    const response = await fetch(url, { method: 'POST', headers, body: '{"model":"m","messages":[]}' });
    const retryable = response.status === 408 || response.status === 409 || response.status === 429 || response.status >= 500;
    if (!retryable || retryCount >= options.maxRetries) return response;
    await response.arrayBuffer();
    const hint = Number(response.headers.get('retry-after') ?? '0') * 1000;
    await (options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))))(hint);
  }
}

/** A loopback server that refuses every request with 429 (Retry-After: 0), counting them. */
let server: Server;
let url: string;
let requests = 0;

before(async () => {
  server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => res.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' }).end('{"error":{"type":"rate_limit_exceeded"}}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
});

after(() => {
  // A body a failing test left unread keeps its connection open, and close() would wait for it.
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

/** sluice's default three attempts, without waits between them: the counts are what is tested. */
const sluiceRetries = { attempts: 3, backoff: constant(0), budget: false } as const;

describe('one retry owner: a request its SDK retries is not retried by sluiceFetch too', () => {
  it('an SDK loop (maxRetries 2) against a persistent 429 sends maxRetries + 1 requests, not the product', async () => {
    requests = 0;
    const response = await sdkCreate(sluiceFetch({ retry: sluiceRetries }), url, { maxRetries: 2 });
    assert.equal(response.status, 429, 'the last 429 comes back to the SDK, as fetch would return it');
    assert.equal(requests, 3);
  });

  it('the same loop without the mark (a client that retries silently) multiplies: why its retries or sluice’s must be turned off', async () => {
    requests = 0;
    await sdkCreate(sluiceFetch({ retry: sluiceRetries }), url, { maxRetries: 2, mark: false });
    assert.equal(requests, 9, '3 client attempts × 3 sluice attempts');
    requests = 0;
    await sdkCreate(sluiceFetch({ retry: false }), url, { maxRetries: 2, mark: false });
    assert.equal(requests, 3, "with sluice's retry: false the client is the one owner");
  });

  it("the SDK's retries are still paced: a Retry-After holds its next attempt back, whenever the SDK sends it", async () => {
    const clock = new ManualClock();
    const sentAt: number[] = [];
    const fake: FetchFn = async () => {
      sentAt.push(clock.now());
      return new Response('', { status: 429, headers: { 'retry-after': '2' } });
    };
    // An SDK that retries at once, ignoring the hint: sluiceFetch still holds the retry for it.
    const call = track(sdkCreate(sluiceFetch({ clock, fetch: fake }), 'https://api.test/v1/chat/completions', { maxRetries: 1, sleep: async () => {} }));
    await clock.advance(1999);
    assert.deepEqual(sentAt, [0]);
    await clock.advance(1);
    assert.deepEqual(sentAt, [0, 2000]);
    assert.equal((call.value as Response).status, 429);
  });

  it("the SDK's retries still go through the breaker: open, it refuses them without a request", async () => {
    const clock = new ManualClock();
    let sent = 0;
    const fake: FetchFn = async () => (sent++, new Response('', { status: 500 }));
    const f = sluiceFetch({ clock, fetch: fake, breaker: new CircuitBreaker({ consecutiveFailures: 2, openMs: 60_000, clock }) });
    await assert.rejects(drive(clock, sdkCreate(f, 'https://api.test/v1/chat/completions', { maxRetries: 5, sleep: async () => {} })), { name: 'CircuitOpenError' });
    assert.equal(sent, 2, 'two failures opened it; the third attempt was refused before sending');
  });
});
