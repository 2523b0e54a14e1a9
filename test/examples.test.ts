/**
 * Runs every example in examples/ as a user would (`node --import tsx examples/<file>`,
 * importing 'sluice' through the package's exports, so dist/ must be built: `npm test`
 * builds first) and checks the RESULT line it prints: the invariants exactly (counts, queue
 * bounds, requests over a limit), achieved rates with wide margins — these are timing checks
 * on a shared 2-core machine, and the examples compress minutes into seconds.
 *
 * Requests over a limit are held to the guarantee as stated (README, "At the server"): none,
 * unless the process that counts them stalled longer than the limiter's margin for uneven
 * arrivals (each example prints both) — its mock counts a request when its event loop reads
 * it, and a stall that long on a loaded machine is what the margin does not claim to cover.
 *
 * The Redis example needs Redis at REDIS_URL or 127.0.0.1:6379: without it the test is
 * skipped with a message, except under CI=true, where a missing Redis is a failure.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { skipRedis } from './store/redis/redis-available.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  result: Record<string, string>;
}

/** Runs one example to its end (at most `timeoutMs`) and parses its `RESULT k=v …` line. */
function runExample(file: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `examples/${file}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT ')) ?? '';
      const result = Object.fromEntries(line.slice('RESULT '.length).split(' ').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
      resolve({ code, stdout, stderr, result });
    });
  });
}

/** Asserts a clean exit and a RESULT line; returns its fields. */
async function resultOf(file: string): Promise<Record<string, string>> {
  const run = await runExample(file);
  const output = `\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
  assert.equal(run.code, 0, `${file} exited with ${run.code}${output}`);
  assert.ok(Object.keys(run.result).length > 0, `${file} printed no RESULT line${output}`);
  return run.result;
}

/** `slow:99,degraded:98,fast:97` → { slow: 99, … } */
function perSituation(value: string | undefined): Record<string, number> {
  return Object.fromEntries((value ?? '').split(',').map((kv) => kv.split(':')).map(([k, v]) => [k!, Number(v)]));
}

describe('examples', () => {
  it('the package is built (npm test builds it; examples import sluice from dist/)', () => {
    assert.ok(existsSync(`${ROOT}dist/index.js`) && existsSync(`${ROOT}dist/redis.js`), 'run `npm run build` first');
  });

  it('01 bounded queue: the queue never holds more than its size, every task is consumed', async () => {
    const r = await resultOf('01-bounded-queue.ts');
    assert.equal(r['max-queue'], r.size, 'the fast producer fills the queue to exactly its size, never above');
    assert.equal(r.consumed, r.produced);
    assert.ok(Number(r['producer-waits']) > 0, 'the producer was held back');
  });

  it('02 rate vs semaphore: the rate limit holds ~100/min at every latency (never over, unless stalled past the margin), the semaphore follows latency', async () => {
    const r = await resultOf('02-rate-vs-semaphore.ts');
    assert.ok(r.violations === '0' || Number(r['longest-stall']) > Number(r.margin), `${r.violations} requests over the quota with no stall past the ${r.margin} ms margin (longest ${r['longest-stall']} ms)`);
    const sluice = perSituation(r.sluice);
    const semaphore = perSituation(r.semaphore);
    // A loaded machine slows both clients (the semaphore's flood most): the shape is what counts.
    for (const situation of ['slow', 'degraded', 'fast']) {
      assert.ok(sluice[situation]! >= 60 && sluice[situation]! <= 101, `sluice ${situation}: ${sluice[situation]}/min of 100`);
    }
    assert.ok(semaphore.slow! < 90, `semaphore, slow: ${semaphore.slow} (10 / 8 s = 75/min)`);
    assert.ok(semaphore.degraded! < 35, `semaphore, degraded: ${semaphore.degraded} (10 / 30 s = 20/min)`);
    assert.ok(sluice.degraded! > 2 * semaphore.degraded!, 'a degraded API starves the semaphore, not the rate limit');
    assert.ok(semaphore.fast! > 150, `semaphore, fast: ${semaphore.fast} (10 / 0.5 s = 1,200/min, far over the quota)`);
  });

  it('03 retry: every call succeeds, every Retry-After is honoured, the naive retry fails some', async () => {
    const r = await resultOf('03-retry-backoff.ts');
    assert.equal(r.ok, '10/10');
    const [honoured, hinted] = r['retry-after-honoured']!.split('/').map(Number);
    assert.ok(hinted! > 0, 'some retries followed a 429');
    assert.equal(honoured, hinted, 'no retry came sooner than its Retry-After');
    assert.notEqual(r['naive-ok'], '10/10', 'retrying at once into a full window fails');
  });

  it('04 crawler: all tasks done, at most 5 queued, never over 2/s (unless stalled past the margin)', async () => {
    const r = await resultOf('04-crawler.ts');
    // A request over 2/s (only past a stall, below) is a 429 that costs an attempt: then, and
    // only then, a task the seeded faults also failed may run out of its three.
    const stalled = Number(r['longest-stall']) > Number(r.margin) && r.violations !== '0';
    assert.ok(r.done === '12/12' || (stalled && Number(r.failed) <= Number(r.violations)), `${r.done} done, ${r.failed} failed (${r.violations} over 2/s, longest stall ${r['longest-stall']} ms)`);
    assert.ok(r.failed === '0' || stalled, `${r.failed} failed with no request over 2/s`);
    assert.ok(Number(r['max-queued']) <= Number(r.queue), `queued ${r['max-queued']} of ${r.queue}`);
    assert.ok(r.violations === '0' || Number(r['longest-stall']) > Number(r.margin), `${r.violations} requests over 2/s with no stall past the ${r.margin} ms margin (longest ${r['longest-stall']} ms)`);
  });

  it('05 paginated harvest: every record once, never over the quota (unless stalled past the margin), the rate steady through the latencies', async () => {
    const r = await resultOf('05-paginated-harvest.ts');
    assert.equal(r.records, r.expected);
    assert.equal(r.unique, r.expected, 'no record twice');
    assert.equal(r['failed-pages'], '0');
    assert.ok(r.violations === '0' || Number(r['longest-stall']) > Number(r.margin), `${r.violations} requests over the quota with no stall past the ${r.margin} ms margin (longest ${r['longest-stall']} ms)`);
    for (const [phase, rate] of Object.entries(perSituation(r.rate))) {
      assert.ok(rate >= 60 && rate <= 101, `${phase}: ${rate}/min of 100`);
    }
  });

  it('06 LLM batch: 1,000 answers, no limit broken, urgent prompts first, within 500/min', async () => {
    const r = await resultOf('06-llm-batch.ts');
    assert.equal(r.ok, r.total);
    assert.equal(r.failed, '0');
    assert.ok(r.violations === '0' || Number(r['longest-stall']) > Number(r.margin), `${r.violations} calls over a limit with no stall past the ${r.margin} ms margin (longest ${r['longest-stall']} ms)`);
    assert.equal(r['urgent-done'], '100');
    assert.ok(Number(r['normal-after']) > 0, 'normal prompts queued before the urgent ones finished after them');
    const rpm = Number(r.rpm);
    assert.ok(rpm <= 500 && rpm >= 120, `${rpm} prompts a minute (limit 500; a loaded machine also trips the resource guard)`);
  });

  it('08 adaptive rate for any client: parseFeedback spread into observe adopts the limit the server states', async () => {
    const r = await resultOf('08-adaptive-any-client.ts');
    assert.equal(r.mode, 'stated', 'the first answer stated 20/s and the rate followed it');
    assert.equal(r.adopted, '18.6', '20/s less the 2 % margin and one request');
    assert.equal(r.answered, '40/40');
    // The pace leaves 7 % of each second unused: a 429 here is a loaded machine's late timer
    // (the arrival margin is issue 14's item 1), so it is reported, not failed.
    if (r.throttled !== '0') console.error(`08: ${r.throttled} refused (violations=${r.violations})`);
  });

  it('16 Prometheus: a scrape shows every named series, and they move between two scrapes', async () => {
    const r = await resultOf('16-prometheus-metrics.ts');
    assert.equal(r.ok, '120');
    assert.equal(r.overLimit, '0');
    const moved = (name: string): void => {
      const [half, end] = r[name]!.split('/').map(Number) as [number, number];
      assert.ok(end > half, `${name} moved: ${r[name]}`);
    };
    // Counters and histograms grow from the half-way scrape to the last; gauges were seen busy, then drained.
    for (const name of ['acquired', 'timeInQueue', 'timeInQueueBuckets', 'breakerCalls', 'httpDuration', 'resent']) moved(name);
    // The aggregated histogram's +Inf bucket holds every wait its _count counts.
    assert.equal(r.timeInQueueBuckets, r.timeInQueue);
    assert.ok(Number(r.queued!.split('/')[0]) > 0 && r.queued!.endsWith('/0'), `queued: ${r.queued}`);
    assert.match(r.leases!, /^\d+\/0$/, 'in-flight series present, 0 at the end');
    assert.ok(Number(r.onRetry!.split('/')[1]) > 0, `the fetch's retries counted as OnRetry: ${r.onRetry}`);
    assert.equal(r.breakerState, '1/1', 'exactly one state is 1');
  });

  // Each integration (issue 16, item 4): its client at the mock's stated limit (OpenAI-style
  // chat, 20/s, OpenAI headers) gets no 429 (unless stalled past the margin), and a call the
  // server refuses every time costs at most its retry owner's attempts.
  for (const [file, client] of [
    ['09-undici-global-fetch.ts', 'undici'],
    ['10-ky.ts', 'ky'],
    ['11-got.ts', 'got'],
    ['12-axios.ts', 'axios'],
    ['13-openai-sdk.ts', 'openai'],
    ['14-vercel-ai-sdk.ts', 'ai-sdk'],
    ['15-langchain.ts', 'langchain'],
  ] as const) {
    it(`${file.slice(0, 2)} ${client}: every call through sluice, 0 429s at the stated limit, a persistent 429 within its attempts`, async () => {
      const r = await resultOf(file);
      assert.equal(r.client, client);
      // The mock counts arrivals in this example's own process: a stall there longer than the
      // margin can put a request in a window it did not start in (see the file's comment).
      const stalled = Number(r['longest-stall']) > Number(r.margin);
      assert.ok(r.throttled === '0' || stalled, `${r.throttled} 429s while paced at the stated limit, with no stall past the ${r.margin} ms margin (longest ${r['longest-stall']} ms)`);
      assert.ok(r.violations === '0' || stalled, `${r.violations} violations with no stall past the margin`);
      assert.ok(Number(r.ok) >= Number(r.calls) - Number(r.throttled), `${r.ok} of ${r.calls} calls succeeded`);
      if (!stalled) assert.equal(r.ok, r.calls);
      const cost = Number(r['persistent-requests']);
      assert.ok(cost >= 1 && cost <= Number(r.attempts), `a persistent 429 cost ${cost} requests, at most ${r.attempts}`);
    });
  }

  // The Redis tests' rule (redis-available.ts): skipped with the reason without Redis, failed under CI=true.
  it('07 fleet through Redis: three processes alone break the limit, sharing it through Redis they do not (unless stalled past the margin)', { skip: skipRedis }, async () => {
    const r = await resultOf('07-fleet-redis.ts');
    const stall = Number(r['shared-longest-stall']);
    assert.ok(r['shared-violations'] === '0' || stall > Number(r.room), `the shared limit was exceeded ${r['shared-violations']} times with no process stalled past the ${r.room} ms room (longest ${stall} ms)`);
    assert.ok(Number(r['alone-violations']) > 0, 'three separate limits together exceed the API');
    const rate = Number(r['shared-rate']);
    assert.ok(rate <= 50 && rate >= 25, `shared: ${rate}/s of 50`);
  });
});
