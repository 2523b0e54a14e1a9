// The canary over the `sluice` entry: every public constructor and call given a credential
// where a user could put one, and every error, event and stats() it produces walked for it.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  AimdLimit,
  AdaptiveRate,
  Channel,
  Gradient2Limit,
  RateSizedLimit,
  RetryBudget,
  VegasLimit,
  exponential,
  toLimitSpecs,
  ConcurrencyLimiter,
  ManualClock,
  PartitionedRateLimiter,
  RateAdaptation,
  RateLimiter,
  ResourceGuard,
  TokenQuota,
  bulkhead,
  circuitBreaker,
  compose,
  constant,
  fallback,
  flow,
  hedge,
  llmFetch,
  parseDuration,
  parseFeedback,
  parseRate,
  rateLimit,
  redactHeaders,
  redactUrl,
  retry,
  sluiceFetch,
  startMockApi,
  timeout,
  type MockApi,
  type SluiceFetchEvent,
} from '../../src/index.js';
import { CANARY, PLANTED, assertNoCanary, errorOf } from './canary.js';

const noWait = { backoff: constant(0) };
/** A caller's failure quoting its request the way HTTP clients do: URL, query key and header. */
const callerError = (): Error => new Error(`GET ${PLANTED.userinfo}?api_key=${CANARY} failed; sent Authorization: Bearer ${CANARY}`);

describe('canary: limiters and their options', () => {
  it('RateLimiter: bad options, bad calls and a store without charge() show no secret', async () => {
    const store = { reserve: () => 0, refund: () => undefined, client: { options: { password: CANARY, username: 'alice' } } };
    const limiter = new RateLimiter({ limits: '5/1s', store, clock: new ManualClock() });
    const errors = [
      await errorOf(() => new RateLimiter(PLANTED.bearer as never)),
      await errorOf(() => new RateLimiter({ limits: PLANTED.userinfo })),
      await errorOf(() => new RateLimiter({ limits: [PLANTED.apiKeyQuery] })),
      await errorOf(() => new RateLimiter({ limits: { rate: PLANTED.camelQuery } as never })),
      await errorOf(() => new RateLimiter({ limits: '1/s', key: PLANTED.oauth as never })),
      await errorOf(() => new RateLimiter({ limits: '1/s', queueSize: PLANTED.bearer as never })),
      await errorOf(() => limiter.charge(1)),
      await errorOf(() => limiter.acquire({ signal: PLANTED.headers as never })),
      await errorOf(() => limiter.acquire({ cost: PLANTED.basic as never })),
      await errorOf(() => limiter.acquire(PLANTED.bearer as never)),
      await errorOf(() => limiter.tryAcquire(PLANTED.fragment as never)),
      await errorOf(() => limiter.run(PLANTED.oauth as never)),
    ];
    for (const error of errors) assertNoCanary('RateLimiter', error);
    assertNoCanary('RateLimiter.stats()', limiter.stats());
  });

  it('ConcurrencyLimiter, PartitionedRateLimiter, TokenQuota: bad options and calls show no secret', async () => {
    const pool = new ConcurrencyLimiter({ limit: 1 });
    const partitioned = new PartitionedRateLimiter({ limits: '1/1s', clock: new ManualClock() });
    const tokens = new TokenQuota({ tokens: '100/1s', clock: new ManualClock() });
    const errors = [
      await errorOf(() => new ConcurrencyLimiter({ limit: PLANTED.apiKeyQuery as never })),
      await errorOf(() => new ConcurrencyLimiter({ limit: 1, onFull: PLANTED.bearer as never })),
      await errorOf(() => pool.run(PLANTED.headers as never)),
      await errorOf(() => pool.acquire(PLANTED.bearer as never)),
      await errorOf(() => new PartitionedRateLimiter({ limits: '1/s', name: PLANTED.oauth as never })),
      await errorOf(() => new PartitionedRateLimiter({ limits: PLANTED.userinfo })),
      await errorOf(() => partitioned.acquire(PLANTED.headers as never)),
      await errorOf(() => partitioned.acquire(`tenant ${PLANTED.bearer}`, { maxWaitMs: PLANTED.bearer as never })),
      await errorOf(() => new TokenQuota({ tokens: PLANTED.bearer })),
      await errorOf(() => new TokenQuota({ tokens: '10/1s', margin: PLANTED.oauth as never })),
      await errorOf(() => tokens.reserve(PLANTED.basic as never)),
      await errorOf(() => tokens.reserve(1_000)),
    ];
    for (const error of errors) assertNoCanary('a limiter', error);
    assertNoCanary('ConcurrencyLimiter.stats()', pool.stats());
  });

  it('parsers, specs, backoffs, budgets, channels, adaptive limits and the resource guard: bad input shows no secret', async () => {
    const closed = new Channel<string>({ capacity: 1 });
    closed.close();
    const errors = [
      await errorOf(() => parseRate(PLANTED.userinfo, 'rate')),
      await errorOf(() => parseDuration(PLANTED.bearer, 'timeout')),
      await errorOf(() => toLimitSpecs([PLANTED.camelQuery], {})),
      await errorOf(() => constant(PLANTED.bearer as never)),
      await errorOf(() => exponential(PLANTED.basic as never)),
      await errorOf(() => new RetryBudget({ ratio: PLANTED.bearer as never })),
      await errorOf(() => new Channel({ capacity: PLANTED.apiKeyQuery as never })),
      await errorOf(() => closed.push(PLANTED.bearer)),
      await errorOf(() => new AimdLimit({ min: PLANTED.basic as never })),
      await errorOf(() => new Gradient2Limit({ smoothing: PLANTED.bearer as never })),
      await errorOf(() => new VegasLimit({ smoothing: PLANTED.userinfo as never })),
      await errorOf(() => new RateSizedLimit({ itemsPerMs: PLANTED.oauth as never })),
      await errorOf(() => new ResourceGuard(PLANTED.oauth as never)),
      await errorOf(() => new RateAdaptation({ increase: PLANTED.bearer } as never)),
      await errorOf(() => new AdaptiveRate(new RateLimiter({ limits: '5/1s' }), { shared: PLANTED.oauth as never })),
    ];
    for (const error of errors) assertNoCanary('an option check', error);
  });
});

describe('canary: flow and policies', () => {
  it('flow: bad options show no secret; a failing item is handed back as it was, and events and stats show nothing else', async () => {
    const errors = [
      await errorOf(() => flow([1], (x) => x, { rate: PLANTED.userinfo })),
      await errorOf(() => flow([1], (x) => x, { retry: PLANTED.oauth as never })),
      await errorOf(() => flow([1], (x) => x, { signal: PLANTED.headers as never })),
      await errorOf(() => flow([1], (x) => x, { concurrency: PLANTED.bearer as never })),
    ];
    for (const error of errors) assertNoCanary('flow options', error);

    const thrown = callerError();
    const item = { url: PLANTED.apiKeyQuery, headers: PLANTED.headers };
    const run = flow([item], () => Promise.reject(thrown), { retry: retry({ attempts: 2, ...noWait }), rate: '1000/1s' });
    const events: unknown[] = [];
    for (const name of ['started', 'succeeded', 'failed', 'retried', 'rejected', 'limit'] as const) run.on(name, (payload) => events.push(payload));
    const results = [];
    for await (const result of run) results.push(result);
    assert.equal(results[0]!.ok ? undefined : results[0]!.error, thrown, 'the worker’s own error comes back as it was');
    assertNoCanary('flow results', results, [thrown, item]);
    assertNoCanary('flow events', events, [thrown, item]);
    assertNoCanary('flow stats()', run.stats());
  });

  it('retry, breaker, timeout, hedge, fallback and the limiter adapters: their errors and events show no secret', async () => {
    const errors = [
      await errorOf(() => retry({ attempts: PLANTED.bearer as never })),
      await errorOf(() => retry({ retryOn: PLANTED.oauth as never })),
      await errorOf(() => retry({ backoff: PLANTED.headers as never })),
      await errorOf(() => retry({ maxDelayMs: PLANTED.userinfo })),
      await errorOf(() => circuitBreaker({ classify: PLANTED.oauth as never })),
      await errorOf(() => circuitBreaker({ failureRate: PLANTED.basic as never })),
      await errorOf(() => timeout(PLANTED.bearer)),
      await errorOf(() => hedge({ delayMs: PLANTED.apiKeyQuery })),
    ];
    for (const error of errors) assertNoCanary('policy options', error);

    const events: unknown[] = [];
    const thrown = callerError();
    // A hint past maxDelayMs: RateLimitedError, whose cause is the caller's failure.
    const hinted = Object.assign(callerError(), { retryAfterMs: 60_000 });
    const retrying = retry({ attempts: 3, maxDelayMs: 1_000, ...noWait });
    retrying.onRetry((e) => events.push(e));
    retrying.onGiveUp((e) => events.push(e));
    const tooLong = await errorOf(() => retrying.execute(() => Promise.reject(hinted)));
    assert.equal(tooLong.name, 'RateLimitedError');
    assert.equal(tooLong.cause, hinted);
    assertNoCanary('retry: the server asked too long', tooLong, [hinted]);
    assert.equal(await errorOf(() => retrying.execute(() => Promise.reject(thrown))), thrown);

    const breaker = circuitBreaker({ consecutiveFailures: 1 });
    breaker.onOpen((e) => events.push(e));
    await errorOf(() => breaker.execute(() => Promise.reject(thrown)));
    assertNoCanary('breaker: open', await errorOf(() => breaker.execute(() => 'ok')));

    const limit = timeout(5);
    limit.onTimeout((e) => events.push(e));
    assertNoCanary('timeout', await errorOf(() => limit.execute(() => new Promise(() => {}))));

    const pipeline = compose(retry({ attempts: 2, ...noWait }), circuitBreaker({ consecutiveFailures: 5 }), timeout(1_000));
    assert.equal(await errorOf(() => pipeline.execute(() => Promise.reject(thrown))), thrown);
    assert.equal(await fallback(PLANTED.bearer).execute(() => Promise.reject(thrown)), PLANTED.bearer, 'the caller’s own fallback value');

    const limiter = new RateLimiter({ limits: '1/1m', key: 'tenant' });
    await limiter.acquire();
    assertNoCanary('rateLimit adapter', await errorOf(() => rateLimit(limiter, { maxWaitMs: 0 }).execute(() => 1)));
    const pool = new ConcurrencyLimiter({ limit: 1, queueSize: 0, onFull: 'reject' });
    const held = await pool.acquire();
    assertNoCanary('bulkhead adapter', await errorOf(() => bulkhead(pool).execute(() => 1)));
    held.release();
    assertNoCanary('policy events', events, [thrown, hinted]);
  });
});

describe('canary: sluiceFetch and llmFetch against the embedded mock', () => {
  let mock: MockApi;
  let closedPort: number;
  before(async () => {
    mock = await startMockApi({ records: 50, limits: '3/1m', headers: 'ietf', limitBy: 'key', keyHeader: 'x-api-key', seed: 7 });
    closedPort = await freePort();
  });
  after(() => mock.close());

  const secretInit = (): RequestInit => ({ headers: { ...PLANTED.headers, 'X-Api-Key': CANARY } });
  const secretUrl = (base: string): string => `${base}/records?offset=0&limit=5&api_key=${CANARY}&accessToken=${CANARY}&apiToken=${CANARY}&client_secret=${CANARY}`;

  it('bad options and refused URLs show no secret', async () => {
    const f = sluiceFetch({ retry: false });
    const errors = [
      await errorOf(() => sluiceFetch({ rate: PLANTED.bearer })),
      await errorOf(() => sluiceFetch({ fetch: PLANTED.headers as never })),
      await errorOf(() => sluiceFetch({ retry: PLANTED.bearer as never })),
      await errorOf(() => sluiceFetch({ retry: { attempts: PLANTED.basic as never } })),
      await errorOf(() => sluiceFetch({ breaker: PLANTED.bearer as never })),
      await errorOf(() => sluiceFetch({ timeout: PLANTED.userinfo })),
      await errorOf(() => sluiceFetch({ onEvent: PLANTED.oauth as never })),
      await errorOf(() => sluiceFetch({ quota: PLANTED.oauth as never })),
      await errorOf(() => sluiceFetch({ adaptive: PLANTED.bearer as never })),
      await errorOf(() => llmFetch({ tokens: PLANTED.bearer })),
      await errorOf(() => llmFetch({ tokens: '100/1m', requests: PLANTED.userinfo })),
      await errorOf(() => f(PLANTED.userinfo)),
      await errorOf(() => f(`${PLANTED.userinfo}?api_key=${CANARY}`)),
      await errorOf(() => f(`not a url ${PLANTED.apiKeyQuery}`)),
      await errorOf(() => f('https://api.test/', { headers: { Authorization: `Bearer ${CANARY}\u0000` } })),
      await errorOf(() => f('https://api.test/', { headers: { Authorization: `Bearer ${CANARY}\nX-Other: 1` } })),
    ];
    for (const error of errors) assertNoCanary('sluiceFetch', error);
  });

  it('responses, 429 with a long Retry-After, network errors and timeouts: errors, events and stats show no secret', async () => {
    const events: SluiceFetchEvent[] = [];
    const limiter = new RateLimiter({ limits: '100/1s' });
    const options = { rate: limiter, adaptive: false, retry: { attempts: 3, maxDelayMs: 500, ...noWait }, onEvent: (e: SluiceFetchEvent) => events.push(e) };
    const f = sluiceFetch(options);
    const answered: Response[] = [];
    for (let i = 0; i < 3; i++) answered.push(await f(secretUrl(mock.url), secretInit()));
    for (const response of answered) assert.equal(response.status, 200, 'the secret headers and query still reach the server');
    await Promise.all(answered.map((r) => r.arrayBuffer()));
    // A sluiceFetch that has not seen the quota run out (the first now pauses for it) gets the
    // 429; its Retry-After is past maxDelayMs, so it comes back at once, as the Response it is
    // (a thrown failure with such a hint is the RateLimitedError checked above).
    const throttled = await sluiceFetch(options)(secretUrl(mock.url), secretInit());
    assert.equal(throttled.status, 429);
    await throttled.arrayBuffer();

    const down = await errorOf(() => sluiceFetch(options)(secretUrl(`http://127.0.0.1:${closedPort}`), secretInit()));
    assertNoCanary('sluiceFetch: connection refused', down);

    const slow = await startMockApi({ records: 10, limits: [], latency: '400ms' });
    try {
      const hurried = sluiceFetch({ timeout: 20, retry: false, onEvent: (e) => events.push(e) });
      assertNoCanary('sluiceFetch: timeout', await errorOf(() => hurried(secretUrl(slow.url), secretInit())));
    } finally {
      await slow.close();
    }

    const broken = sluiceFetch({ breaker: { consecutiveFailures: 1 }, retry: false, fetch: () => Promise.reject(callerError()), onEvent: (e) => events.push(e) });
    await errorOf(() => broken(secretUrl('https://api.test'), secretInit()));
    assertNoCanary('sluiceFetch: breaker open', await errorOf(() => broken(secretUrl('https://api.test'), secretInit())));

    assert.ok(events.some((e) => e.type === 'retry') && events.some((e) => e.type === 'error') && events.some((e) => e.type === 'response'));
    assertNoCanary('sluiceFetch events', events);
    assertNoCanary('the limiter’s stats()', limiter.stats());
    assertNoCanary('the mock’s stats()', mock.stats());
  });

  it('llmFetch: bad estimates, a cost past the window, the answers and their events show no secret', async () => {
    const chat = await startMockApi({ records: 1, chat: { requests: '100/1m', tokens: '100000/1m' } });
    try {
      const events: SluiceFetchEvent[] = [];
      const body = JSON.stringify({ model: 'gpt-mock', messages: [{ role: 'user', content: `my key is ${PLANTED.apiKeyQuery}` }], max_tokens: 20 });
      const init = { method: 'POST', headers: { ...PLANTED.headers, 'content-type': 'application/json' }, body };
      const url = `${chat.url}/v1/chat/completions?api_key=${CANARY}`;
      const ok = await llmFetch({ tokens: '100000/1m', onEvent: (e) => events.push(e) })(url, init);
      assert.equal(ok.status, 200);
      await ok.arrayBuffer();
      const errors = [
        await errorOf(() => llmFetch({ tokens: '100000/1m', estimate: () => PLANTED.bearer as never })(url, init)),
        await errorOf(() => llmFetch({ tokens: '10/1m', onEvent: (e) => events.push(e) })(url, init)),
      ];
      for (const error of errors) assertNoCanary('llmFetch', error);
      assertNoCanary('llmFetch events', events);
      assertNoCanary('the chat mock’s stats()', chat.stats());
    } finally {
      await chat.close();
    }
  });

  it('startMockApi: bad options show no secret', async () => {
    const errors = [
      await errorOf(() => startMockApi({ keyHeader: PLANTED.bearer })),
      await errorOf(() => startMockApi({ headers: PLANTED.bearer as never })),
      await errorOf(() => startMockApi({ limits: PLANTED.userinfo })),
      await errorOf(() => startMockApi({ latency: PLANTED.apiKeyQuery })),
      await errorOf(() => startMockApi({ chat: { tokens: PLANTED.basic } })),
      await errorOf(() => startMockApi(PLANTED.bearer as never)),
    ];
    for (const error of errors) assertNoCanary('startMockApi', error);
  });

  it('the public redaction helpers and parseFeedback show no secret', () => {
    for (const url of [PLANTED.userinfo, PLANTED.apiKeyQuery, PLANTED.camelQuery, PLANTED.fragment]) assertNoCanary(`redactUrl(${url})`, redactUrl(url));
    assertNoCanary('redactHeaders', redactHeaders({ ...PLANTED.headers, 'X-Auth-Token': CANARY, accessToken: CANARY }));
    const response = new Response('', { status: 429, headers: { 'retry-after': '5', 'set-cookie': `sid=${CANARY}`, 'x-api-key': CANARY } });
    assertNoCanary('parseFeedback', parseFeedback(response));
  });
});

/** A loopback port nothing listens on (bound, then closed). */
async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
