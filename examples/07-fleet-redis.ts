// A fleet: three processes calling one API whose quota is 50 requests a second. Each process
// alone keeps 50/s — so together they send 150/s and two thirds are refused. With their
// limiter's state in Redis (sluice/redis: RedisStore), the three share one limit: Redis
// decides every start atomically, on its own clock, and each process waits locally, once,
// for exactly the time Redis named.
//
// This file is both the coordinator and the workers: run as is, it starts the mock API and
// forks itself three times; the forks (`child`) do the calling. Real time (Redis's clock is
// real): 1.5 s alone, 3 s shared, about 10 s with start-up. Needs Redis at REDIS_URL or
// 127.0.0.1:6379.
//
//   node --import tsx examples/07-fleet-redis.ts
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RateLimiter, startMockApi, type LimitInput } from 'sluice';
import { RedisStore } from 'sluice/redis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PROCESSES = 3;
const CALLERS = 8; // concurrent callers in each process
// 50 a second. A request reaches the API a little after Redis admitted it, and on a shared
// 2-core machine not always equally late: each start is counted 50 ms (5 %) longer than the
// second (arrival jitter; the default at 1 s is 20 ms). RedisStore gives back an admission
// answered more than 10 ms after Redis decided (its startLagMs), so a process may stall up to
// 40 ms between that check and its request before a window of the API's could overrun.
const LIMIT: LimitInput = { rate: '50/1s', arrivalJitter: 50 };
const ROOM_MS = 50 - 10;

interface Phase {
  phase: 'alone' | 'shared';
  url: string;
  prefix: string;
  startAt: number;
  endAt: number;
}
interface Report {
  sent: number;
  refused: number;
  /** The longest this process's event loop stalled in the phase, ms. */
  stallMs: number;
}

if (process.argv[2] === 'child') await child();
else await coordinator();

async function coordinator(): Promise<void> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
  } catch (error) {
    console.error(`Redis not reachable at ${REDIS_URL} (${(error as Error).message}): start redis-server or set REDIS_URL`);
    process.exitCode = 1;
    return;
  } finally {
    probe.disconnect();
  }

  const mock = await startMockApi({ limits: '50/1s' });
  const prefix = `sluice-example:${randomBytes(4).toString('hex')}:`; // a fresh limit for this run
  const children = Array.from({ length: PROCESSES }, () => fork(fileURLToPath(import.meta.url), ['child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  try {
    await Promise.all(children.map((c) => once(c, (m) => m === 'ready')));
    const results: string[] = [];
    for (const [phase, seconds] of [['alone', 1.5], ['shared', 3]] as const) {
      mock.reset();
      const startAt = Date.now() + 300;
      const endAt = startAt + seconds * 1000;
      for (const c of children) c.send({ phase, url: mock.url, prefix, startAt, endAt } satisfies Phase);
      const reports = await Promise.all(children.map((c) => once(c, (m): m is Report => typeof m === 'object' && m !== null && 'sent' in m)));
      const { requests, violations } = mock.stats();
      const admitted = requests - violations.total;
      const title = phase === 'alone' ? 'each process alone, 50/s in memory' : 'one limit shared through Redis';
      console.log(`${title}:`);
      reports.forEach((r, i) => console.log(`  process ${i + 1}: ${r.sent} requests, ${r.refused} refused`));
      console.log(`  together: ${requests} requests in ${seconds} s (${(requests / seconds).toFixed(1)}/s), ${admitted} admitted, ${violations.total} over the API's 50/s\n`);
      const stall = Math.max(...reports.map((r) => r.stallMs));
      if (phase === 'shared') console.log(`  the longest a process stalled: ${stall.toFixed(0)} ms (room between Redis's check and a request: ${ROOM_MS} ms)\n`);
      results.push(`${phase}-violations=${violations.total} ${phase}-rate=${(requests / seconds).toFixed(1)} ${phase}-longest-stall=${stall.toFixed(0)}`);
    }
    console.log(`RESULT processes=${PROCESSES} limit=50 ${results.join(' ')} room=${ROOM_MS}`);
  } finally {
    for (const c of children) c.disconnect();
    await mock.close();
  }
}

/** Resolves with the first message from `child` that `accept` takes; rejects if it exits first. */
function once<T>(child: ChildProcess, accept: (message: unknown) => message is T): Promise<T>;
function once(child: ChildProcess, accept: (message: unknown) => boolean): Promise<unknown>;
function once(child: ChildProcess, accept: (message: unknown) => boolean): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (!accept(message)) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(message);
    };
    const onExit = (code: number | null): void => reject(new Error(`worker exited with ${code}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function child(): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  await new Promise((resolve) => redis.once('ready', resolve));
  process.on('message', (message: Phase) => {
    run(message, redis).then(
      (report) => process.send!(report),
      (error: unknown) => {
        console.error('worker failed:', error);
        process.exit(1); // the coordinator sees the exit and fails
      },
    );
  });
  process.once('disconnect', () => redis.disconnect());
  process.send!('ready');
}

async function run({ phase, url, prefix, startAt, endAt }: Phase, redis: Redis): Promise<Report> {
  const limiter =
    phase === 'alone'
      ? new RateLimiter({ limits: LIMIT }) // this process's memory: knows nothing of the others
      : new RateLimiter({ limits: LIMIT, store: new RedisStore(redis, { prefix }), key: 'records-api' });
  await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()));
  const stalls = monitorEventLoopDelay({ resolution: 1 });
  stalls.enable();
  const report: Report = { sent: 0, refused: 0, stallMs: 0 };
  const stop = AbortSignal.timeout(endAt - Date.now());
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      for (let id = 1; !stop.aborted; id++) {
        const status = await limiter
          .run(async () => {
            report.sent++;
            const res = await fetch(`${url}/records/${id}`);
            await res.arrayBuffer();
            return res.status;
          }, { signal: stop })
          .catch(() => 0); // the end of the run aborts the wait
        if (status === 429) report.refused++;
      }
    }),
  );
  stalls.disable();
  report.stallMs = stalls.max / 1e6;
  return report;
}
