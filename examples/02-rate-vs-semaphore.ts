// Seed 000 feature 2, seeds 001/002 rake 3: "N per second" done with a semaphore versus
// done with a rate limit. A semaphore of 10 bounds calls in flight, so its rate is
// 10 / latency: ~75/min when the API answers in 8 s, ~20/min at 30 s, ~1,200/min at 0.5 s
// (the seeds' three situations). A rate limit of 100/min gives 100/min in all three.
//
// Time runs 30× faster (mock timeScale 30): a mock minute is 2 real seconds, 8 s of latency
// is 267 ms. Each situation runs for 1.5 mock minutes, both contenders side by side, each
// against its own mock: the semaphore's has no limit, so we can see what it sends; the
// rate limiter's enforces 100/min and counts every request over it. About 10 s in all.
//
//   node --import tsx examples/02-rate-vs-semaphore.ts
import { setTimeout as sleep } from 'node:timers/promises';
import { ConcurrencyLimiter, flow, RateLimiter, startMockApi, type MockApi } from 'sluice';
import { watchStalls } from './lib/stalls.js';

const TIME_SCALE = 30;
const MOCK_MINUTE = 60_000 / TIME_SCALE; // real ms
const RUN_MINUTES = 1.5;
const SITUATIONS = [
  { name: 'slow', latency: '7s-9s' },
  { name: 'degraded', latency: '28s-32s' },
  { name: 'fast', latency: '400ms-600ms' },
];

const forSemaphore = await startMockApi({ timeScale: TIME_SCALE, records: 100_000 });
const forSluice = await startMockApi({ timeScale: TIME_SCALE, records: 100_000, limits: '100/1m' });
// Node loads its fetch on the first call, tens of ms: do it now, not in the first paced request.
await fetch(forSluice.endpoints.stats).then((r) => r.arrayBuffer());

/** One page of the API; a page number past the end just wraps, the run is timed, not counted. */
async function getPage(api: MockApi, page: number, signal: AbortSignal): Promise<void> {
  const res = await fetch(`${api.url}/records?offset=${(page % 5000) * 20}&limit=20`, { signal });
  if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
  await res.arrayBuffer();
}

/** The seeds' fix: a semaphore of 10 around every call (sluice's ConcurrencyLimiter is one). */
async function semaphoreClient(signal: AbortSignal): Promise<void> {
  const semaphore = new ConcurrencyLimiter({ limit: 10 });
  for (let page = 0; !signal.aborted; page++) {
    const permit = await semaphore.acquire({ signal }).catch(() => undefined);
    if (!permit) break;
    void getPage(forSemaphore, page, signal)
      .catch(() => {}) // aborted at the end of the run
      .finally(() => permit.release());
  }
}

/** The arrival jitter the sluice client's limiter allows for (its default): printed with the result. */
let margin = 0;

/** sluice: the rate limit decides how many start; 'auto' keeps enough in flight for it. */
async function sluiceClient(signal: AbortSignal): Promise<void> {
  const limiter = new RateLimiter({ limits: { rate: { limit: 100, interval: MOCK_MINUTE }, slack: 10 } });
  margin = limiter.limits[0]!.jitterMs ?? 0;
  const pages = (function* () {
    for (let page = 0; ; page++) yield page;
  })();
  // 100 per mock minute, in real time. Slack 10 ms: at 30× speed starts are 20 ms apart, and a
  // timer late by a few ms on a busy machine would cost a tenth of the rate; at real speed
  // (600 ms apart) the default 1 ms is plenty. A request reaches the API a little after it
  // starts, not always equally late: the limiter's default arrival jitter (2 % of the
  // window, here 40 ms) keeps every window of the API's at 100 all the same.
  const results = flow(pages, (page, ctx) => getPage(forSluice, page, ctx.signal), {
    rate: limiter,
    concurrency: 'auto',
    signal,
  });
  try {
    for await (const _ of results);
  } catch {
    // the run's end aborts the flow: expected
  }
}

const stalls = watchStalls();
const rows: { name: string; latency: string; semaphore: number; sluice: number; violations: number }[] = [];
for (const { name, latency } of SITUATIONS) {
  for (const api of [forSemaphore, forSluice]) {
    api.reset();
    api.setLatency(latency);
  }
  const stop = new AbortController();
  const clients = Promise.all([semaphoreClient(stop.signal), sluiceClient(stop.signal)]);
  await sleep(RUN_MINUTES * MOCK_MINUTE);
  // Requests that reached each API within the run, per mock minute.
  const semaphore = forSemaphore.stats().requests / RUN_MINUTES;
  const sluice = forSluice.stats();
  stop.abort();
  await clients;
  rows.push({ name, latency, semaphore, sluice: sluice.requests / RUN_MINUTES, violations: sluice.violations.total });
}
await Promise.all([forSemaphore.close(), forSluice.close()]);

console.log('requests per minute (mock time) against a quota of 100/min\n');
console.log('situation  latency       semaphore(10)   sluice rate 100/min   over the quota (sluice)');
for (const r of rows) {
  console.log(`${r.name.padEnd(10)} ${r.latency.padEnd(13)} ${r.semaphore.toFixed(0).padStart(13)}   ${r.sluice.toFixed(0).padStart(19)}   ${String(r.violations).padStart(23)}`);
}
const fmt = (pick: (r: (typeof rows)[number]) => number): string => rows.map((r) => `${r.name}:${pick(r).toFixed(0)}`).join(',');
console.log(`\nthe limiter's margin for uneven arrivals: ${margin} ms; the longest this process stalled: ${stalls.longestMs().toFixed(0)} ms`);
console.log(`RESULT semaphore=${fmt((r) => r.semaphore)} sluice=${fmt((r) => r.sluice)} violations=${rows.reduce((n, r) => n + r.violations, 0)} margin=${margin} longest-stall=${stalls.longestMs().toFixed(0)}`);
