// Seeds 001/002: harvest a paginated API with a quota of 100 requests a minute, many records,
// streamed to NDJSON, while the API's latency goes through the seeds' three situations —
// slow (~8 s), degraded (~30 s), fast (~0.5 s) — with no change in the achieved rate.
//
// The flow reads page offsets lazily (no array of tasks), its rate limiter admits 100 pages a
// mock minute, enough pages are kept in flight for that rate at any of the latencies, and the
// records stream to the file as pages finish, through a writer that waits for the disk
// (pipeToWritable). sluiceFetch is the transport: a per-attempt timeout, and a Retry-After
// pauses every request, not only the one that got it.
//
// Scaled: time runs 20× faster (a mock minute is 3 real seconds, 8 s of latency is 400 ms),
// each situation lasts one mock minute, and "millions of records" are 75,000 (300 pages of
// 250). About 11 s. (`sluice harvest` does all of this from the command line, with resume.)
//
//   node --import tsx examples/05-paginated-harvest.ts
//   CONCURRENCY=auto node --import tsx examples/05-paginated-harvest.ts   # see the guide
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { exponential, flow, pipeToWritable, RateLimiter, retry, sluiceFetch, startMockApi } from 'sluice';
import { watchStalls } from './lib/stalls.js';

const TIME_SCALE = 20;
const MOCK_MINUTE = 60_000 / TIME_SCALE; // real ms
const PAGE_SIZE = 250;
const RECORDS = 75_000;
const PHASES = [
  { name: 'slow', latency: '7s-9s', minutes: 1 },
  { name: 'degraded', latency: '27s-33s', minutes: 1 },
  { name: 'fast', latency: '300ms-700ms', minutes: 1 },
];

const mock = await startMockApi({ timeScale: TIME_SCALE, records: RECORDS, limits: '100/1m', latency: PHASES[0]!.latency });
// Node loads its fetch on the first call, tens of ms: do it now, not in the first paced request.
await fetch(mock.endpoints.stats).then((r) => r.arrayBuffer());
const dir = await mkdtemp(join(tmpdir(), 'sluice-harvest-'));
const out = join(dir, 'records.ndjson');

// 100 per mock minute. A request arrives a little after it starts, not always equally late:
// the limiter's default arrival jitter (2 % of the window, here 60 ms) keeps every window of
// the API's at 100 all the same. Slack 10 ms: at 20× speed starts are 30 ms apart, and a
// timer a few ms late on a busy machine would cost a share of the rate.
const limiter = new RateLimiter({ limits: { rate: { limit: 100, interval: MOCK_MINUTE }, slack: 10 } });
const stalls = watchStalls();
const api = sluiceFetch({ retry: false, timeout: 60_000 / TIME_SCALE }); // retries are the flow's, so each one is rate limited

interface Page {
  count: number;
  results: { id: number }[];
}

async function getPage(offset: number, signal: AbortSignal): Promise<Page> {
  const res = await api(`${mock.url}/records?offset=${offset}&limit=${PAGE_SIZE}`, { signal });
  if (!res.ok) {
    await res.arrayBuffer();
    throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, response: res });
  }
  return (await res.json()) as Page;
}

// The first page tells how many records there are; it is rate limited like every other.
const first = await limiter.run(() => getPage(0, AbortSignal.timeout(10_000)));
const pages = Math.ceil(first.count / PAGE_SIZE);
// The three situations, one after the other, from now.
mock.setLatency(PHASES.map((p) => ({ latency: p.latency, for: `${p.minutes}m` })));
const began = performance.now();
function* offsets(): Generator<number> {
  for (let page = 1; page < pages; page++) yield page * PAGE_SIZE;
}

const harvest = flow(offsets(), (offset, { signal }) => getPage(offset, signal), {
  rate: limiter,
  // Concurrency is not the rate: it must only be at least rate × latency (Little's law) —
  // 100/min × 33 s = 55 for the degraded API — and it bounds memory to that many pages.
  // 'auto' computes it from the latencies it has seen; a sudden 4× rise catches it short
  // until the slow answers come back (the guide shows that run).
  concurrency: process.env.CONCURRENCY === 'auto' ? 'auto' : 64,
  retry: retry({ attempts: 5, backoff: exponential(100).fullJitter() }),
});
const starts: number[] = [];
let maxInFlight = 0;
harvest.on('started', () => {
  starts.push(performance.now() - began);
  maxInFlight = Math.max(maxInFlight, harvest.stats().inFlight);
});

const progress = setInterval(() => {
  const s = harvest.stats();
  const mockSeconds = (ms: number): string => ((ms * TIME_SCALE) / 1000).toFixed(1);
  console.log(`  mock ${mockSeconds(performance.now() - began)}s  pages ${s.succeeded + 1}/${pages}  in flight ${s.inFlight}  latency p50 ${mockSeconds(s.latencyMs.p50)}s`);
}, 1500);
let failedPages = 0;
const lines = (page: Page): string => page.results.map((r) => JSON.stringify(r)).join('\n') + '\n';
const firstWrite = createWriteStream(out);
firstWrite.write(lines(first));
await pipeToWritable(harvest, firstWrite, {
  serialize: (r) => {
    if (r.ok) return lines(r.value);
    failedPages++;
    return '';
  },
});
clearInterval(progress);
const { violations, throttled } = mock.stats();
await mock.close();

// Check the file: every record exactly once.
const seen = new Uint8Array(RECORDS + 1);
let records = 0;
let duplicates = 0;
for await (const line of createInterface({ input: createReadStream(out) })) {
  const { id } = JSON.parse(line) as { id: number };
  if (seen[id]) duplicates++;
  seen[id] = 1;
  records++;
}
const bytes = (await stat(out)).size;
await rm(dir, { recursive: true });

console.log(`\nphase      latency        pages started   achieved rate (per mock minute, of 100)`);
const rates = PHASES.map((phase, i) => {
  const from = PHASES.slice(0, i).reduce((t, p) => t + p.minutes * MOCK_MINUTE, 0);
  const to = from + phase.minutes * MOCK_MINUTE;
  const inPhase = starts.filter((t) => t >= from && t < to);
  // (starts − 1) / (last − first): the rate at which pages started within the phase.
  const rate = inPhase.length > 1 ? ((inPhase.length - 1) / (inPhase.at(-1)! - inPhase[0]!)) * MOCK_MINUTE : 0;
  console.log(`${phase.name.padEnd(10)} ${phase.latency.padEnd(14)} ${String(inPhase.length).padStart(13)}   ${rate.toFixed(1).padStart(13)}`);
  return `${phase.name}:${rate.toFixed(0)}`;
});
const seconds = (performance.now() - began) / 1000;
console.log(`\n${records} records (${(bytes / 1e6).toFixed(1)} MB of NDJSON) from ${pages} pages in ${seconds.toFixed(1)} s (${((seconds * TIME_SCALE) / 60).toFixed(1)} mock minutes); at most ${maxInFlight} in flight; ${throttled} refused, ${violations.total} over the quota.`);
const margin = limiter.limits[0]!.jitterMs ?? 0;
console.log(`The limiter's margin for uneven arrivals: ${margin} ms; the longest this process stalled: ${stalls.longestMs().toFixed(0)} ms.`);
console.log(`RESULT records=${records} unique=${records - duplicates} expected=${RECORDS} failed-pages=${failedPages} violations=${violations.total} rate=${rates.join(',')} margin=${margin} longest-stall=${stalls.longestMs().toFixed(0)}`);
