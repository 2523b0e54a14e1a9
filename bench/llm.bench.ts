/**
 * llmFetch against the embedded mock's chat endpoint (issue 14), three figures:
 *
 * 1. `one`: one process, TPM binding (10,000 a mock minute; RPM 1,000 does not bind),
 *    answers of 1–4 s mock time (timeScale 20: 50–200 ms real), 16 calls in flight, so
 *    many calls are admitted while each is answered. Every call is estimated at its prompt
 *    plus max_tokens, and uses ~74 % of it. Target: 0 TPM violations (calls the mock
 *    refused: they arrived while the tokens they asked for did not fit), ≥ 95 % of the TPM.
 * 2. `fleet`: 4 processes (4 calls in flight each) sharing the quota through one RedisStore.
 *    Each estimates 70 % of the default estimate, so most answers use more tokens than
 *    estimated (57 % of them, by up to 43 %). The mock admits on usage (`chat.admit:
 *    'usage'`): a violation is a call arriving when the tokens it used did not fit in the
 *    TPM. Target: 0 violations, ≥ 90 % of the TPM.
 * 3. `small`: 30 small calls (~100 tokens each) under a quota that allows them at once
 *    (10,000 TPM, 500 RPM), real time, answers of 500 ms: the wall time against one round
 *    trip, which is all the quota asks. Target: within one round trip of it. Beside it the
 *    same calls with tokens and requests paced at burst 1, as llmFetch did before issue 14.
 *
 * The share of the TPM is the tokens the mock counted in the first `minutes` mock minutes
 * (read at that instant) over `minutes` × TPM: no window can hold more than the TPM, so
 * 100 % is the most any client can reach, from a cold start.
 *
 *   node --import tsx bench/llm.bench.ts [--minutes 10] [--scale 20] [--runs 1] [--only one|fleet|small]
 *        [--margin 0.02] [--url redis://127.0.0.1:6379]
 *
 * `--margin` is the one-process llmFetch's (and the fleet's, passed on): a larger one tells
 * arrival jitter (a loaded machine's event-loop stalls, printed) from accounting.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { llmFetch, startMockApi, type MockApi } from '../src/index.js';
import { cleanup } from '../test/store/redis/cleanup.js';
import { flag, machineLine } from './lib/index.js';
import { countQuotaErrors, epochNow, runCalls, type CallsResult } from './lib/llm-calls.js';

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const minutes = flag('minutes', 10);
const scale = flag('scale', 20);
const runs = flag('runs', 1);
const url = process.argv.includes('--url') ? process.argv[process.argv.indexOf('--url') + 1]! : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
/** llmFetch's margin (default 0.02): to tell arrival jitter from accounting on a loaded machine. */
const margin = flag('margin', 0.02);
const TPM = 10_000;
const RPM = 1_000;
/** A mock minute, in real ms. */
const MINUTE = 60_000 / scale;
const WORKER = fileURLToPath(new URL('./lib/llm-worker.ts', import.meta.url));

interface Share {
  share: number;
  tokens: number;
  violations: number;
  statuses: Record<string, number>;
}

/** The tokens the mock counted by now, as a share of `minutes` × TPM, and its violations. */
function shareOf(mock: MockApi): Share {
  const stats = mock.stats();
  const tokens = stats.tokens.prompt + stats.tokens.completion;
  return { share: tokens / (minutes * TPM), tokens, violations: stats.violations.byLimit['chat:tokens'] ?? 0, statuses: stats.statuses };
}

/** Reads the mock at `atEpochMs`, whatever the callers are doing then. */
function shareAt(mock: MockApi, atEpochMs: number): Promise<Share> {
  return new Promise((resolve) => setTimeout(() => resolve(shareOf(mock)), Math.max(0, atEpochMs - epochNow())));
}

function verdict(met: boolean): string {
  return met ? 'MET' : 'MISSED';
}

function line(name: string, s: Share, extra: string): void {
  console.log(`${name}: ${(100 * s.share).toFixed(1)} % of the TPM (${s.tokens} tokens in ${minutes} mock minutes), ${s.violations} TPM violations, statuses ${JSON.stringify(s.statuses)}; ${extra}`);
}

async function one(): Promise<boolean> {
  const mock = await startMockApi({ timeScale: scale, latency: '1s-4s', chat: { requests: `${RPM}/1m`, tokens: `${TPM}/1m` } });
  try {
    const result: CallsResult = { calls: 0, statuses: {}, quotaErrors: 0 };
    const f = llmFetch({
      tokens: { limit: TPM, interval: MINUTE },
      requests: { limit: RPM, interval: MINUTE },
      margin,
      retry: false,
      onEvent: countQuotaErrors(result),
    });
    // Client and mock share this event loop: a stall longer than the window's margin between
    // a call's start and the mock reading it is arrival jitter the margin does not cover.
    const stalls = monitorEventLoopDelay({ resolution: 5 });
    stalls.enable();
    const until = epochNow() + minutes * MINUTE;
    const [share, calls] = await Promise.all([shareAt(mock, until), runCalls(f, mock.endpoints.chat, 16, until)]);
    stalls.disable();
    line('one process', share, `${calls.calls} calls, ${result.quotaErrors} quota events, worst event-loop stall ${(stalls.max / 1e6).toFixed(0)} ms (the margin: ${(margin * MINUTE).toFixed(0)} ms)`);
    return share.violations === 0 && share.share >= 0.95;
  } finally {
    await mock.close();
  }
}

async function fleet(): Promise<boolean> {
  const mock = await startMockApi({ timeScale: scale, latency: '1s-4s', chat: { requests: `${RPM}/1m`, tokens: `${TPM}/1m`, admit: 'usage' } });
  const prefix = `sluice-bench:llm:${randomBytes(4).toString('hex')}:`;
  const processes = 4;
  try {
    const options = JSON.stringify({ chatUrl: mock.endpoints.chat, redisUrl: url, prefix, tpm: TPM, rpm: RPM, windowMs: MINUTE, margin, workers: 4, estimateShare: 0.7, seconds: (minutes * MINUTE) / 1000 });
    const children: ChildProcess[] = [];
    const ready: Promise<void>[] = [];
    const results: Promise<CallsResult & { late: number }>[] = [];
    for (let i = 0; i < processes; i++) {
      const child = fork(WORKER, [options], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      let onReady: () => void = () => {};
      ready.push(new Promise((resolve) => (onReady = resolve)));
      results.push(
        new Promise((resolve, reject) => {
          child.on('message', (message) => (message === 'ready' ? onReady() : resolve(message as CallsResult & { late: number })));
          child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`llm worker exited with ${code}`))));
          child.on('error', reject);
        }),
      );
    }
    await Promise.all(ready);
    // Nothing reaches the mock before startAt: its count starts with the fleet's.
    const startAt = epochNow() + 200;
    for (const child of children) child.send({ startAt });
    const [share, each] = await Promise.all([shareAt(mock, startAt + minutes * MINUTE), Promise.all(results)]);
    const calls = each.map((r) => r.calls);
    line(
      `${processes} processes through Redis, estimates 70 %`,
      share,
      `calls per process ${calls.join(' / ')}, quota events ${each.reduce((a, r) => a + r.quotaErrors, 0)}, late admissions given back ${each.reduce((a, r) => a + r.late, 0)}`,
    );
    return share.violations === 0 && share.share >= 0.9;
  } finally {
    await mock.close();
    const client = new Redis(url);
    await cleanup(client, prefix);
    client.disconnect();
  }
}

/** 30 small calls at once; the wall time until the last is answered. */
async function thirty(paced: boolean): Promise<number> {
  const mock = await startMockApi({ latency: '500ms', chat: { requests: '500/1m', tokens: `${TPM}/1m` } });
  try {
    const f = paced
      ? llmFetch({ requests: { rate: '500/1m', burst: 1 }, tokens: { rate: `${TPM}/1m`, burst: 1 }, retry: false })
      : llmFetch({ requests: '500/1m', tokens: `${TPM}/1m`, retry: false });
    const body = JSON.stringify({ model: 'gpt-mock', messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 100 });
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => f(mock.endpoints.chat, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.status)),
    );
    const ms = performance.now() - started;
    if (answers.some((s) => s !== 200)) throw new Error(`not all answered 200: ${answers.join(',')}`);
    return ms;
  } finally {
    await mock.close();
  }
}

async function small(): Promise<boolean> {
  const roundTrip = 500;
  const ms = await thirty(false);
  const pacedMs = await thirty(true);
  console.log(
    `30 small calls, quota allows them at once, answers of ${roundTrip} ms: ${ms.toFixed(0)} ms (${(ms / roundTrip).toFixed(2)} round trips); ` +
      `paced at burst 1: ${pacedMs.toFixed(0)} ms — ${(pacedMs / ms).toFixed(1)}× faster`,
  );
  return ms <= 2 * roundTrip;
}

console.log(await machineLine());
console.log(`TPM ${TPM}, RPM ${RPM} a mock minute; timeScale ${scale} (a mock minute is ${MINUTE} ms); ${minutes} mock minutes per run\n`);
const verdicts: string[] = [];
for (let run = 1; run <= runs; run++) {
  if (only === undefined || only === 'one') verdicts.push(`one process (0 violations, ≥ 95 %): ${verdict(await one())}`);
  if (only === undefined || only === 'fleet') verdicts.push(`fleet (0 violations, ≥ 90 %): ${verdict(await fleet())}`);
}
if (only === undefined || only === 'small') verdicts.push(`30 small calls (within one round trip of one round trip): ${verdict(await small())}`);
console.log(`\n${verdicts.join('\n')}`);
