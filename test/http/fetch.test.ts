import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, TimeoutError } from '../../src/core/errors.js';
import { CircuitBreaker } from '../../src/policies/breaker.js';
import { constant } from '../../src/policies/backoff.js';
import { retry } from '../../src/policies/retry.js';
import { sluiceFetch, type FetchFn, type SluiceFetchEvent } from '../../src/http/index.js';
import { withMock } from './mock-helpers.js';

/** A fetch double answering from a script; records what it was asked. */
function scripted(answers: (() => Response | Promise<Response>)[]): FetchFn & { calls: Request[] } {
  const calls: Request[] = [];
  const fn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push(new Request(input, init));
    const next = answers.shift();
    if (!next) throw new Error('script ran out');
    return next();
  };
  return Object.assign(fn, { calls });
}

const noWait = { backoff: constant(0), budget: false } as const;

/** A fetch double that never answers; like fetch, it rejects with the signal's reason on abort. */
const hang: FetchFn = (_input, init) =>
  new Promise((_resolve, reject) => {
    const signal = init?.signal;
    if (signal?.aborted) reject(signal.reason as Error);
    signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });

describe('sluiceFetch: options', () => {
  it('bad options throw ConfigError naming the field, before any request', () => {
    const fake = scripted([]);
    const cases: [Record<string, unknown>, string][] = [
      [{ rate: 'fast' }, 'rate'],
      [{ rate: ['10/1s', 'x'] }, 'rate[1]'],
      [{ concurrency: 0 }, 'concurrency'],
      [{ retry: { attempts: 0 } }, 'retry.attempts'],
      [{ adaptive: true }, 'adaptive'],
      [{ rate: '10/1s', adaptive: { beta: 2 } }, 'beta'],
      [{ timeout: 'soon' }, 'timeout'],
      [{ maxRetryAfter: -1 }, 'maxRetryAfter'],
      [{ fetch: 'nope' }, 'fetch'],
      [{ breaker: { failureRate: 3 } }, 'breaker.failureRate'],
      [{ onEvent: 1 }, 'onEvent'],
      [{ quota: {} }, 'quota'],
      [{ rate: '10/1s', adaptive: false, priority: 'high' }, 'priority'],
      [{ rate: '10/1s', priority: 1 }, 'priority'],
    ];
    for (const [options, field] of cases) {
      assert.throws(
        () => sluiceFetch({ fetch: fake, ...options } as never),
        (e: unknown) => e instanceof ConfigError && e.field === field,
        `expected ConfigError for ${field}`,
      );
    }
    assert.equal(fake.calls.length, 0);
  });

  it('fetches only http and https', async () => {
    const f = sluiceFetch({ fetch: scripted([]) });
    await assert.rejects(f('ftp://example.test/file'), (e: unknown) => e instanceof TypeError && /only http and https/.test(e.message));
    await assert.rejects(f('file:///etc/passwd'), TypeError);
  });

  it('refuses credentials in the URL without echoing them', async () => {
    const fake = scripted([]);
    const f = sluiceFetch({ fetch: fake });
    await assert.rejects(f('https://alice:hunter2@example.test/x?api_key=sk-123'), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.ok(!e.message.includes('hunter2') && !e.message.includes('alice') && !e.message.includes('sk-123'), e.message);
      return true;
    });
    assert.equal(fake.calls.length, 0);
  });
});

describe('sluiceFetch: retry, feedback, events', () => {
  it('retries a 429 and a 503, then returns the success; method, headers and body reach every attempt', async () => {
    const fake = scripted([() => new Response('slow down', { status: 429, headers: { 'retry-after': '0' } }), () => new Response('', { status: 503 }), () => Response.json({ ok: 1 })]);
    const f = sluiceFetch({ fetch: fake, retry: noWait });
    const res = await f('https://api.test/v1/things', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.deepEqual(await res.json(), { ok: 1 });
    assert.equal(fake.calls.length, 3);
    for (const call of fake.calls) {
      assert.equal(call.method, 'POST');
      assert.equal(call.headers.get('content-type'), 'application/json');
      assert.equal(await call.text(), '{"a":1}');
    }
  });

  it('when attempts run out the last response is returned, as fetch would', async () => {
    const fake = scripted([() => new Response('', { status: 500 }), () => new Response('', { status: 502 })]);
    const res = await sluiceFetch({ fetch: fake, retry: { ...noWait, attempts: 2 } })('https://api.test/');
    assert.equal(res.status, 502);
  });

  it('a 4xx other than 408/425/429 is not retried', async () => {
    const fake = scripted([() => new Response('', { status: 404 })]);
    assert.equal((await sluiceFetch({ fetch: fake })('https://api.test/')).status, 404);
    assert.equal(fake.calls.length, 1);
  });

  it('a RetryPolicy shared by two sluiceFetch: each reports only its own retries', async () => {
    const shared = retry({ attempts: 3, ...noWait });
    const eventsA: SluiceFetchEvent[] = [];
    const eventsB: SluiceFetchEvent[] = [];
    const a = sluiceFetch({ fetch: scripted([() => new Response('', { status: 503 }), () => Promise.reject(new Error('reset')), () => new Response('a')]), retry: shared, onEvent: (e) => eventsA.push(e) });
    const b = sluiceFetch({ fetch: scripted([() => new Response('b')]), retry: shared, onEvent: (e) => eventsB.push(e) });
    assert.equal(await (await a('https://a.test/')).text(), 'a');
    assert.equal(await (await b('https://b.test/')).text(), 'b');
    assert.deepEqual(eventsA.map((e) => e.type), ['response', 'retry', 'error', 'retry', 'response']);
    assert.deepEqual(eventsB.map((e) => e.type), ['response'], 'no retry event of the other fetch');
  });

  it('events carry redacted URLs and never a header value', async () => {
    const events: SluiceFetchEvent[] = [];
    const secretError = new Error('connect failed for https://bob:pw1@api.test/x?access_token=tok-999');
    const fake = scripted([
      () => Promise.reject(secretError),
      () => new Response('', { status: 429, headers: { 'retry-after': '0' } }),
      () => new Response('ok'),
    ]);
    const f = sluiceFetch({ fetch: fake, retry: noWait, onEvent: (e) => events.push(e) });
    await f('https://api.test/x?api_key=sk-live-1&page=2', { headers: { authorization: 'Bearer sk-auth-2', 'x-api-key': 'sk-key-3', cookie: 'sid=c-4' } });
    const text = JSON.stringify(events);
    for (const secret of ['sk-live-1', 'sk-auth-2', 'sk-key-3', 'c-4', 'pw1', 'tok-999']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.deepEqual(
      events.map((e) => e.type),
      ['error', 'retry', 'response', 'retry', 'response'],
    );
    const first = events[0] as Extract<SluiceFetchEvent, { type: 'error' }>;
    assert.equal(first.url, 'https://api.test/x?api_key=[redacted]&page=2');
    assert.match(first.error, /\[redacted\]/);
    assert.equal(fake.calls[2]!.headers.get('authorization'), 'Bearer sk-auth-2', 'the secret is still sent');
  });

  it('a per-attempt timeout aborts the attempt with TimeoutError', async () => {
    const f = sluiceFetch({ fetch: hang, timeout: 20, retry: false });
    await assert.rejects(f('https://api.test/'), TimeoutError);
  });

  it("the caller's abort stops the call and is not retried", async () => {
    const controller = new AbortController();
    const pending = sluiceFetch({ fetch: hang })('https://api.test/', { signal: controller.signal });
    controller.abort(new DOMException('caller gave up', 'AbortError'));
    await assert.rejects(pending, { name: 'AbortError' });
  });

  it('concurrency bounds the requests waiting for headers', async () => {
    let inFlight = 0;
    let most = 0;
    const slow: FetchFn = async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return new Response('ok');
    };
    const f = sluiceFetch({ fetch: slow, concurrency: 3 });
    await Promise.all(Array.from({ length: 12 }, () => f('https://api.test/')));
    assert.equal(most, 3);
  });

  it('an open breaker refuses without calling the server', async () => {
    const fake = scripted([() => new Response('', { status: 500 }), () => new Response('', { status: 500 })]);
    const breaker = new CircuitBreaker({ consecutiveFailures: 2, openMs: 60_000 });
    const f = sluiceFetch({ fetch: fake, retry: false, breaker });
    await f('https://api.test/');
    await f('https://api.test/');
    await assert.rejects(f('https://api.test/'), { name: 'CircuitOpenError' });
    assert.equal(fake.calls.length, 2);
  });
});

describe('sluiceFetch against the mock', () => {
  it('paces a 20/s limit with IETF headers: no violations, the records come back', async () => {
    await withMock({ limits: '20/1s', headers: 'ietf' }, async (mock) => {
      const f = sluiceFetch({ rate: '20/1s' });
      const pages = await Promise.all(Array.from({ length: 25 }, (_, i) => f(`${mock.url}/records/${i + 1}`).then((r) => r.json() as Promise<{ id: number }>)));
      assert.deepEqual(
        pages.map((p) => p.id),
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      assert.equal(mock.stats().violations.total, 0);
    });
  });
});
