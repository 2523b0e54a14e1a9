// The adaptive rate without fetch: the recipe for axios, got, or any client sluiceFetch cannot
// wrap. `adaptive.admit()` before each call (the server's pause, then the limiter's turn);
// `adaptive.observe({ sentAt, now, ...parseFeedback(response) })` after it. parseFeedback
// reads every rate-limit header dialect; when the server states its limit (IETF
// `RateLimit-Policy: "per-1s";q=20;w=1`), its answer carries `limit` and `windowMs` and the
// rate adopts that limit, less a 2 % margin and one request.
//
// The mock allows 20 requests a second and says so; the client starts from a guess of
// 100/s. Plain `fetch` stands in for the client: the comments show where axios's and got's
// calls go. Real time, about 3 s.
//
//   node --import tsx examples/08-adaptive-any-client.ts
import { AdaptiveRate, parseFeedback, RateLimiter, startMockApi, systemClock, type FeedbackResponse } from 'sluice';

const CALLS = 40;
const WORKERS = 8;
const mock = await startMockApi({ limits: '20/1s', headers: 'ietf', latency: '10ms-40ms' });

// One AdaptiveRate per server: what it says about its limit says nothing about another's.
const adaptive = new AdaptiveRate(new RateLimiter({ limits: '100/1s' }));

/** One call through the adaptive rate: the client's own call in the middle. */
async function call(url: string): Promise<{ status: number; body: unknown }> {
  await adaptive.admit();
  const sentAt = systemClock.now();
  // ── the client's call ───────────────────────────────────────────────────────────────
  // axios: const res = await axios.get(url, { validateStatus: () => true });
  //        seen = res                                   (axios has status and headers)
  // got:   const res = await got(url, { throwHttpErrors: false, retry: { limit: 0 } });
  //        seen = { status: res.statusCode, headers: res.headers }
  //        (got retries by itself unless told not to; its retries would skip admit())
  const res = await fetch(url);
  const seen: FeedbackResponse = res;
  // ────────────────────────────────────────────────────────────────────────────────────
  adaptive.observe({ sentAt, now: systemClock.now(), ...parseFeedback(seen) });
  return { status: res.status, body: await res.json() };
}

const first = await call(`${mock.url}/records/1`);
const adopted = adaptive.step;
console.log(`first answer: HTTP ${first.status}; the server states 20/s, the rate is now ${adopted.rate.toFixed(1)}/s (${adopted.mode})`);

const started = performance.now();
let next = 2;
const statuses: number[] = [];
await Promise.all(
  Array.from({ length: WORKERS }, async () => {
    while (next <= CALLS) statuses.push((await call(`${mock.url}/records/${next++}`)).status);
  }),
);
const seconds = (performance.now() - started) / 1000;
const stats = mock.stats();
await mock.close();

statuses.push(first.status);
const ok = statuses.filter((s) => s === 200).length;
console.log(`${CALLS - 1} more calls in ${seconds.toFixed(2)} s: ${((CALLS - 1) / seconds).toFixed(1)}/s against the server's 20/s`);
console.log(`RESULT mode=${adopted.mode} adopted=${adopted.rate.toFixed(1)} answered=${statuses.length}/${CALLS} ok=${ok} throttled=${stats.throttled} violations=${stats.violations.total}`);
