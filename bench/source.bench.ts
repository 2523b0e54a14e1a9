/**
 * A two-level source at its shared budget: 2,000 repositories (20 pages of 100), 3 pages of
 * issues each (one issue a page), 6,020 requests under one `50/1s` budget, answers taking
 * 0.2–1.5 s, against a mock that counts every request over 50 in any second. Long enough
 * (about two minutes) that the first and last answers' latency, which no client can
 * shorten, weigh little. Prints the wall time against what the budget allows — requests ÷
 * rate, and (n − 1) ÷ rate, since the first start is free — the violations, and where the
 * rest went: the first child's start, the last start, the last answer, and the time the
 * limiter's own pacing takes (its default arrival margin at a 1 s window is 2 %:
 * RateLimiter, arrivalJitter).
 *
 * `--arrival-jitter D` sets the source's client.arrivalJitter (the margin), for a run that
 * shows the fan-out apart from it.
 *
 * `--control` first runs the bare limiter (the same rate, always someone waiting) for 20 s and
 * prints its starts a second: what this machine lets a limiter do now, to read a busy
 * machine's figures against.
 *
 *   node --import tsx bench/source.bench.ts [--rate 50] [--repos 2000] [--arrival-jitter 5ms] [--control]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { runHarvestCommand } from '../src/cli/harvest.js';
import type { FetchFn } from '../src/http/fetch-options.js';
import { startMockApi } from '../src/http/mock/index.js';
import { defaultArrivalJitterMs } from '../src/algorithms/limit-spec.js';
import { parseDuration } from '../src/core/duration.js';
import { systemClock } from '../src/core/clock.js';
import { RateLimiter } from '../src/limiters/rate-limiter.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '50' }, repos: { type: 'string', default: '2000' }, 'arrival-jitter': { type: 'string' }, control: { type: 'boolean' } }, strict: false });
const rate = Number(values.rate);
const repos = Number(values.repos);
if (values.control === true) {
  const limiter = new RateLimiter({ limits: [`${rate}/1s`], clock: systemClock, ...(values['arrival-jitter'] === undefined ? {} : { arrivalJitter: values['arrival-jitter'] as string }) });
  const begun = performance.now();
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: 2 * rate }, async () => {
      while (performance.now() - begun < 20_000) {
        await limiter.acquire();
        times.push(performance.now() - begun);
      }
    }),
  );
  // From the 5th second: a window's first burst would flatter it.
  const steady = times.filter((t) => t >= 5000 && t < 20_000);
  console.log(`control: the bare limiter at ${rate}/1s, always someone waiting: ${(steady.length / 15).toFixed(1)} starts a second (seconds 5–20)`);
}
const mock = await startMockApi({ tree: { repos, issuesPerRepo: 3, commentsPerIssue: 0 }, limits: `${rate}/1s`, latency: '200ms-1.5s' });
const dir = mkdtempSync(join(tmpdir(), 'sluice-source-bench-'));
try {
  const file = join(dir, 'source.json');
  writeFileSync(
    file,
    JSON.stringify({
      client: { baseUrl: mock.url, rate: `${rate}/1s`, ...(values['arrival-jitter'] === undefined ? {} : { arrivalJitter: values['arrival-jitter'] }) },
      resources: {
        repos: { path: '/repos', pagination: { type: 'link', limitParam: 'per_page', limit: 100 } },
        issues: { path: '/repos/{resources.repos.name}/issues', pagination: { type: 'link', limitParam: 'per_page', limit: 1 } },
      },
    }),
  );
  // Each request's start, and the last answer, as the client sees them.
  const starts: number[] = [];
  let firstChild: number | undefined;
  let lastAnswer = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const fetch: FetchFn = async (input, init) => {
    const at = performance.now() - started;
    starts.push(at);
    if (firstChild === undefined && new URL(input).pathname !== '/repos') firstChild = at;
    const response = await globalThis.fetch(input, init);
    const body = await response.arrayBuffer();
    lastAnswer = Math.max(lastAnswer, performance.now() - started);
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  let err = '';
  const code = await runHarvestCommand(['--config', file, '--out', join(dir, 'out'), '--quiet'], { fetch, stderr: new Writable({ write: (c: Buffer, _e, done) => ((err += c.toString()), done()) }) });
  const wallMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const stats = mock.stats();
  const n = stats.requests;
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const over = (ms: number, base: number): string => `${ms >= base ? '+' : ''}${((ms / base - 1) * 100).toFixed(2)} %`;
  const perRate = (n / rate) * 1000;
  const allowed = ((n - 1) / rate) * 1000;
  const jitterMs = values['arrival-jitter'] === undefined ? defaultArrivalJitterMs(1000) : parseDuration(values['arrival-jitter'] as string, '--arrival-jitter');
  const paced = allowed * (1 + jitterMs / 1000);
  const lastStart = starts.at(-1) ?? 0;
  // The most starts in any 1 s, as the client stamped them: above the rate, the client sent too many; at or under it, a request over the limit at the mock arrived bunched (a stall between start and arrival).
  let most = 0;
  for (let i = 0, j = 0; i < starts.length; i++) {
    while (starts[i]! - starts[j]! >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  console.log(`source: exit ${code}${err ? ` (${err.trim()})` : ''}; ${n} requests at ${rate}/s, answers 0.2–1.5 s`);
  console.log(`  wall ${s(wallMs)}: ${over(wallMs, perRate)} over requests ÷ rate (${s(perRate)}), ${over(wallMs, allowed)} over (n − 1) ÷ rate (${s(allowed)}); ${stats.violations.total} requests over the limit, ${stats.throttled} 429s; the most starts in any 1 s as the client stamped them: ${most}`);
  // Starts per 10 s: a dip in the middle is the client (or a busy machine), not the ramp or the tail.
  const per10 = Array.from({ length: Math.ceil(wallMs / 10_000) }, (_, i) => starts.filter((t) => t >= i * 10_000 && t < (i + 1) * 10_000).length);
  const perS = Array.from({ length: 10 }, (_, i) => starts.filter((t) => t >= i * 1000 && t < (i + 1) * 1000).length);
  console.log(`  starts per 10 s: ${per10.join(' ')} (the first ten seconds: ${perS.join(' ')}); this process's CPU ${s((user + system) / 1000)} (${(((user + system) / 1000 / wallMs) * 100).toFixed(0)} % of one core)`);
  console.log(`  first child start ${s(firstChild ?? 0)}; last start ${s(lastStart)} (the limiter's pacing with its ${((jitterMs / 1000) * 100).toFixed(1)} % margin: ${s(paced)}, starts ${over(lastStart, paced)} of it); last answer ${s(lastAnswer)}; exit ${s(wallMs)}`);
} finally {
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
}
