// Seed 000, level 4: the crawler. Its requirements — at most 2 requests a second, a queue of
// at most 5 tasks, 3 attempts with exponential backoff — met by one flow. The seed's own
// code used a semaphore of 2 as the "rate limit" (it is not one: see example 02), and a
// producer, two consumers, a queue and a decorator to hold it together.
//
// The API answers in 1 s (the seed crawled httpbin.org/delay/1), allows 2 requests a second
// and fails 15 % of admitted requests with a 5xx (seeded: the same every run). Time runs
// twice as fast (mock timeScale 2): 1 s of latency is 500 ms, 2/s is 2 per 500 ms. About 5 s.
//
//   node --import tsx examples/04-crawler.ts
import { exponential, flow, retry, startMockApi } from 'sluice';
import { watchStalls } from './lib/stalls.js';

const TIME_SCALE = 2;
const SECOND = 1000 / TIME_SCALE; // a mock second, in real ms
const TASKS = 12;
const QUEUE = 5;

const mock = await startMockApi({ limits: '2/1s', latency: '1s', faults: '5xx=0.15', timeScale: TIME_SCALE });
await fetch(mock.endpoints.stats).then((r) => r.arrayBuffer()); // Node loads fetch on first use: not in a paced request
const started = performance.now();
const stalls = watchStalls();
const at = (): string => `${((performance.now() - started) / 1000).toFixed(2)}s`;

// The producer makes tasks as fast as it is asked: the flow reads it lazily, never more than
// `buffer` tasks ahead of the workers, so this is the seed's Queue(maxsize=5) without a queue.
function* tasks(): Generator<number> {
  for (let task = 1; task <= TASKS; task++) yield task;
}

async function crawl(task: number, { signal, attempt }: { signal: AbortSignal; attempt: number }): Promise<number> {
  const res = await fetch(`${mock.url}/records/${task}`, { signal });
  await res.arrayBuffer();
  if (!res.ok) {
    console.log(`${at()} task ${task}: attempt ${attempt} failed with ${res.status}`);
    throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, response: res });
  }
  return res.status;
}

const crawler = flow(tasks(), crawl, {
  // 2 per second. A request reaches the API a little after it starts, and not always equally
  // late (a new connection, a busy loop): counting each start 25 ms longer (arrival jitter,
  // 5 % of the window here; the default is 2 %, 10 ms) keeps every second of the API's at 2.
  rate: { rate: { limit: 2, interval: SECOND }, arrivalJitter: SECOND * 0.05 },
  buffer: QUEUE,
  // The seed's wait_exponential(min=1, max=10) and stop_after_attempt(3), plus jitter so
  // tasks that failed together do not retry together. Every attempt passes the rate limit.
  retry: retry({ attempts: 3, backoff: exponential(SECOND).equalJitter().cap(10 * SECOND) }),
});
let maxBuffered = 0;
crawler.on('started', ({ input, attempt }) => {
  const { buffered, inFlight } = crawler.stats();
  maxBuffered = Math.max(maxBuffered, buffered);
  console.log(`${at()} task ${input}: attempt ${attempt} sent — ${buffered} tasks queued, ${inFlight} in flight`);
});

let done = 0;
let failed = 0;
for await (const r of crawler) {
  if (r.ok) done++;
  else failed++;
  console.log(`${at()} task ${r.input}: ${r.ok ? `done (${r.value})` : `failed: ${String(r.error)}`} after ${r.attempts} attempt(s)`);
}
const { retried } = crawler.stats();
const { violations, requests } = mock.stats();
await mock.close();

console.log(`\n${done} of ${TASKS} done, ${failed} failed; ${requests} requests (${retried} retries), ${violations.total} over 2/s; the queue never held more than ${maxBuffered}.`);
console.log(`RESULT done=${done}/${TASKS} failed=${failed} max-queued=${maxBuffered} queue=${QUEUE} violations=${violations.total} retries=${retried} margin=${SECOND * 0.05} longest-stall=${stalls.longestMs().toFixed(0)}`);
