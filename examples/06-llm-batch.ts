// Seed 003: a batch of 1,000 prompts to an LLM API under 500 requests a minute and a token
// limit, with adaptive concurrency, a resource guard, a circuit breaker, a limit per minute
// and per hour, priorities, progress and final stats. The seed's version polls a token
// bucket, sends in fixed batches (a batch waits for its slowest call) and sizes a batch
// before it knows the latency; here one flow does it:
//
//   prompts (a priority queue, read lazily)
//     → retry → circuit breaker → 500/min and 10,000/h → adaptive concurrency (AIMD 10…50)
//     → llmFetch (reserves each call's tokens, corrects them from the answer's usage)
//   and a resource guard that holds new calls while the event loop lags.
//
// The mock's chat endpoint enforces 500 RPM and 200,000 TPM, answers in 1–3 s and drops 2 %
// of connections (seeded: the same every run). Time runs 20× faster (timeScale 20): a mock
// minute is 3 real seconds, so the batch needs at least 2 mock minutes, 6 s (8–12 s measured
// on a busy machine). 900 prompts are queued at the start; when 300 are done, 100 urgent
// ones arrive and overtake the rest.
//
//   node --import tsx examples/06-llm-batch.ts
import { AimdLimit, circuitBreaker, exponential, flow, llmFetch, RateLimiter, ResourceGuard, retry, startMockApi } from 'sluice';
import { watchStalls } from './lib/stalls.js';
import { PriorityQueue } from './lib/priority-queue.js';

const TIME_SCALE = 20;
const MINUTE = 60_000 / TIME_SCALE; // real ms
const NORMAL = 900;
const URGENT = 100;
const TOTAL = NORMAL + URGENT;

const mock = await startMockApi({
  timeScale: TIME_SCALE,
  latency: '1s-3s',
  // Connection resets: retried by the flow, each retry rate limited like any call.
  faults: 'reset=0.02',
  chat: { requests: '500/1m', tokens: '200000/1m' },
});
await fetch(mock.endpoints.stats).then((r) => r.arrayBuffer()); // Node loads fetch on first use: not in a paced call

// Requests: 500 a minute and 10,000 an hour, both must admit. The minute paces; the hour is a
// cap (it would stop the batch after 10,000 — this one needs 1,000). A call reaches the API a
// little late, and not always equally: at 20× a mock minute is 3 s, and the default arrival
// jitter (2 %, 60 ms) was less than that delay on a busy event loop in about one run in four,
// so the minute counts each call 150 ms (5 %) longer. Burst 10: at 20× calls are 6 ms apart,
// and a limiter woken late by a busy event loop catches up instead of losing the time (a
// window still never holds more than 500).
const requests = new RateLimiter({ limits: [{ rate: { limit: 500, interval: MINUTE }, burst: 10, arrivalJitter: MINUTE * 0.05 }, { limit: 10_000, interval: 60 * MINUTE }] });
// Tokens: each call reserves prompt/4 + max_tokens and is corrected from `usage` (2 % margin built in).
const chat = llmFetch({ tokens: { limit: 200_000, interval: MINUTE }, retry: false }); // retries are the flow's, each one rate limited
const breaker = circuitBreaker({ consecutiveFailures: 5, openMs: MINUTE }); // the seed's threshold 5, 60 s open
let opened = 0;
breaker.onOpen(() => opened++);
const guard = new ResourceGuard({ maxEventLoopDelayMs: 200, maxHeapUsedBytes: 1e9 }); // the seed's CPU / memory check
const concurrency = new AimdLimit({ initial: 10, min: 5, max: 50 }); // the seed's 10, 5…50

interface Prompt {
  id: number;
  a: number;
  urgent: boolean;
}
const queue = new PriorityQueue<Prompt>();
for (let id = 0; id < NORMAL; id++) queue.push({ id, a: id, urgent: false }, 0);
function* prompts(): Generator<Prompt> {
  while (queue.size > 0) yield queue.pop()!;
}

let latencySum = 0;
async function ask(prompt: Prompt, signal: AbortSignal): Promise<string> {
  const sent = performance.now();
  const res = await chat(`${mock.url}/v1/chat/completions`, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-mock' },
    body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 300, messages: [{ role: 'user', content: `Compute ${prompt.a} + ${prompt.a + 1} = ?` }] }),
  });
  const body = (await res.json()) as { choices?: { message: { content: string } }[] };
  if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, response: res });
  latencySum += performance.now() - sent;
  return body.choices![0]!.message.content;
}

const batch = flow(prompts(), (prompt, { signal }) => ask(prompt, signal), {
  rate: requests,
  concurrency,
  retry: retry({ attempts: 4, backoff: exponential(MINUTE / 60).fullJitter() }),
  breaker,
  guard,
  buffer: 4, // read the queue only just ahead of need, so late urgent prompts overtake the rest
});

console.log(`batch of ${TOTAL} prompts, 500 RPM and 10,000/h, 200,000 TPM, concurrency from ${concurrency.limit}`);
const stalls = watchStalls();
const started = performance.now();
let ok = 0;
let failed = 0;
let urgentDone = 0;
let urgentLastAt = 0;
let normalAfterLastUrgent = 0;
for await (const r of batch) {
  if (r.ok) ok++;
  else failed++;
  const done = ok + failed;
  if (r.input.urgent) {
    urgentDone++;
    urgentLastAt = done;
    normalAfterLastUrgent = 0;
  } else normalAfterLastUrgent++;
  if (done === 300) {
    for (let id = 0; id < URGENT; id++) queue.push({ id: NORMAL + id, a: 10_000 + id, urgent: true }, 1);
    console.log(`[urgent] ${URGENT} urgent prompts queued with ${queue.size - URGENT} normal ones still waiting`);
  }
  if (done % 100 === 0) {
    const s = batch.stats();
    const mockSeconds = ((performance.now() - started) * TIME_SCALE) / 1000;
    console.log(`[progress] ${((done / TOTAL) * 100).toFixed(1)}% (${done}/${TOTAL}), concurrency ${s.concurrency}, ${((done / mockSeconds) * 60).toFixed(0)}/min so far`);
  }
}
const seconds = (performance.now() - started) / 1000;
const { violations, throttled, tokens, faults } = mock.stats();
await mock.close();

const mockMinutes = (seconds * TIME_SCALE) / 60;
console.log('\n' + '='.repeat(50));
console.log(`success:      ${ok}`);
console.log(`failures:     ${failed}`);
console.log(`total time:   ${seconds.toFixed(2)} s (${mockMinutes.toFixed(2)} mock minutes)`);
console.log(`avg latency:  ${((latencySum / ok / 1000) * TIME_SCALE).toFixed(2)} s a call (mock time)`);
console.log(`throughput:   ${(TOTAL / mockMinutes).toFixed(0)} prompts a minute (mock time), ${(TOTAL / seconds).toFixed(1)}/s real`);
console.log(`tokens:       ${tokens.prompt + tokens.completion} (${((tokens.prompt + tokens.completion) / mockMinutes).toFixed(0)} a minute of 200,000)`);
console.log(`urgent:       ${urgentDone} of ${URGENT} done by result ${urgentLastAt}, queued at 300; ${normalAfterLastUrgent} normal prompts queued before them finished after them`);
console.log(`server:       ${faults.reset} connections reset and retried, ${throttled} refused (429), ${violations.total} over a limit`);
console.log(`breaker:      ${breaker.state}, opened ${opened} times; guard paused ${guard.stats().pauses} times; requests this hour: ${requests.stats().admitted} of 10,000`);
const margin = requests.limits[0]!.jitterMs ?? 0;
console.log(`margins:      ${margin} ms for uneven arrivals (requests); the longest this process stalled: ${stalls.longestMs().toFixed(0)} ms`);
console.log(`RESULT ok=${ok} failed=${failed} total=${TOTAL} violations=${violations.total} urgent-done=${urgentDone} urgent-last=${urgentLastAt} normal-after=${normalAfterLastUrgent} rpm=${(TOTAL / mockMinutes).toFixed(0)} margin=${margin} longest-stall=${stalls.longestMs().toFixed(0)}`);
