// Seed 000 feature 3 and trap 2: retry transient failures with exponential backoff and
// jitter, and never sooner than the server's Retry-After. The seed's wrong version retries
// at once; ten callers that fail together then retry together, into an API that just said
// "not for another second".
//
// The mock allows 5 requests a second, answers 20 % of admitted requests with a 5xx (a
// seeded stream, the same every run) and sends `Retry-After` (whole seconds) with each 429.
// Ten calls start at once, first retried naively, then with sluice's retry policy.
// Real time, no scaling: Retry-After is in seconds. About 4 s.
//
//   node --import tsx examples/03-retry-backoff.ts
import { exponential, retry, retryAfterOf, startMockApi, type RetryEvent } from 'sluice';

const CALLS = 10;
const mock = await startMockApi({ limits: '5/1s', faults: '5xx=0.2', latency: '20ms-50ms' });

/** One call; an HTTP error carries its status and response, as axios and got errors do. */
async function getRecord(id: number, signal?: AbortSignal): Promise<{ id: number }> {
  const res = await fetch(`${mock.url}/records/${id}`, { signal });
  const body = (await res.json()) as { id: number };
  if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, response: res });
  return body;
}

const ids = Array.from({ length: CALLS }, (_, i) => i + 1);

// The trap: up to 5 attempts, back to back, Retry-After ignored.
async function naive(id: number): Promise<boolean> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await getRecord(id);
      return true;
    } catch {
      // try again at once
    }
  }
  return false;
}
const naiveOk = (await Promise.all(ids.map(naive))).filter(Boolean).length;
const naiveStats = mock.stats();

// Done right: exponential backoff (100 ms, 200 ms, 400 ms… capped at 2 s) with full jitter,
// so callers that failed together do not come back together; a Retry-After raises the wait.
await new Promise((resolve) => setTimeout(resolve, 1100)); // let the naive run's window empty
mock.reset();
const policy = retry({ attempts: 5, backoff: exponential(100).fullJitter().cap(2000) });
const started = performance.now();
let honoured = 0;
let hinted = 0;
policy.onRetry(({ attempt, delayMs, error }: RetryEvent) => {
  const status = (error as { status?: number }).status;
  const hintMs = retryAfterOf(error);
  if (hintMs !== undefined) {
    hinted++;
    if (delayMs >= hintMs) honoured++;
  }
  const why = hintMs === undefined ? 'backoff with jitter' : `Retry-After ${hintMs / 1000} s`;
  console.log(`${((performance.now() - started) / 1000).toFixed(2)}s  attempt ${attempt} got ${status}: next in ${delayMs.toFixed(0)} ms (${why})`);
});
const outcomes = await Promise.allSettled(ids.map((id) => policy.execute(({ signal }) => getRecord(id, signal))));
const sluiceOk = outcomes.filter((o) => o.status === 'fulfilled').length;
const sluiceStats = mock.stats();
await mock.close();

console.log('\n                     ok     requests  refused (429)  server errors');
const row = (name: string, ok: number, s: typeof naiveStats): string =>
  `${name.padEnd(20)} ${`${ok}/${CALLS}`.padStart(5)} ${String(s.requests).padStart(12)} ${String(s.throttled).padStart(14)} ${String(s.serverErrors).padStart(14)}`;
console.log(row('retry at once', naiveOk, naiveStats));
console.log(row('backoff+Retry-After', sluiceOk, sluiceStats));
console.log(`\nEvery retry after a 429 waited at least its Retry-After: ${honoured} of ${hinted}.`);
console.log(`RESULT ok=${sluiceOk}/${CALLS} naive-ok=${naiveOk}/${CALLS} retry-after-honoured=${honoured}/${hinted} naive-429=${naiveStats.throttled} sluice-429=${sluiceStats.throttled}`);
