/**
 * Redis-backed limiters, side by side: admissions per second with a limit that never
 * binds, 64 concurrent callers per process, for 1 and 8 client processes, with the Redis
 * time each admission cost (in scripts, from INFO commandstats, and CPU, from INFO cpu:
 * exact only on a Redis nobody else uses); then Redis round trips and commands per
 * admission, counted with MONITOR.
 *
 *   node --expose-gc --import tsx bench/redis.bench.ts [--seconds 3] [--url redis://127.0.0.1:6379]
 *
 * Contenders: sluice RateLimiter over RedisStore (sliding window, the default, and GCRA);
 * rate-limiter-flexible RateLimiterRedis.consume and RateLimiterQueue; bottleneck with
 * Redis clustering (datastore 'ioredis'). Each process of a run is a fresh child.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { machineLine, printTable, type Row } from './lib/index.js';

const CALLERS = 64;
const NEVER_BINDS = 1_000_000_000; // per second

type Admit = () => Promise<unknown>;
interface Contender {
  name: string;
  note: string;
  /** Builds one process's admission function over `client` (and tears it down). */
  make(url: string, client: Redis, prefix: string): Promise<{ admit: Admit; close(): Promise<void> }>;
}

const CONTENDERS: Contender[] = [
  {
    name: 'sluice RedisStore',
    note: 'sliding window (default), acquire()',
    async make(_url, client, prefix) {
      const { RateLimiter } = await import('../src/index.js');
      const { RedisStore } = await import('../src/redis.js');
      const limiter = new RateLimiter({ limits: `${NEVER_BINDS}/1s`, store: new RedisStore(client, { prefix }), key: 'bench' });
      return { admit: () => limiter.acquire(), close: async () => {} };
    },
  },
  {
    name: 'sluice RedisStore gcra',
    note: 'GCRA, acquire()',
    async make(_url, client, prefix) {
      const { RateLimiter } = await import('../src/index.js');
      const { RedisStore } = await import('../src/redis.js');
      const limiter = new RateLimiter({ limits: `${NEVER_BINDS}/1s`, algorithm: 'gcra', store: new RedisStore(client, { prefix }), key: 'bench' });
      return { admit: () => limiter.acquire(), close: async () => {} };
    },
  },
  {
    name: 'rate-limiter-flexible',
    note: 'RateLimiterRedis.consume (fixed window)',
    async make(_url, client, prefix) {
      const { RateLimiterRedis } = await import('rate-limiter-flexible');
      const limiter = new RateLimiterRedis({ storeClient: client, points: NEVER_BINDS, duration: 1, keyPrefix: prefix });
      return { admit: () => limiter.consume('bench'), close: async () => {} };
    },
  },
  {
    name: 'rate-limiter-flexible queue',
    note: 'RateLimiterQueue.removeTokens',
    async make(_url, client, prefix) {
      const { RateLimiterRedis, RateLimiterQueue } = await import('rate-limiter-flexible');
      const limiter = new RateLimiterRedis({ storeClient: client, points: NEVER_BINDS, duration: 1, keyPrefix: prefix });
      const queue = new RateLimiterQueue(limiter, { maxQueueSize: 1_000_000 });
      return { admit: () => queue.removeTokens(1, 'bench'), close: async () => {} };
    },
  },
  {
    name: 'bottleneck',
    note: "Redis clustering (datastore 'ioredis'), schedule()",
    async make(url, _client, prefix) {
      const { default: Bottleneck } = await import('bottleneck');
      const limiter = new Bottleneck({ id: `${prefix}bench`, datastore: 'ioredis', clearDatastore: false, clientOptions: parseUrl(url), Redis });
      await limiter.ready();
      const task = (): Promise<void> => Promise.resolve();
      return { admit: () => limiter.schedule(task), close: () => limiter.disconnect(false) };
    },
  },
];

function parseUrl(url: string): { host: string; port: number } {
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port || 6379) };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

// ---- child: one process of a run ----------------------------------------------------------

async function child(contenderName: string, url: string, prefix: string): Promise<void> {
  const contender = CONTENDERS.find((c) => c.name === contenderName)!;
  const client = new Redis(url);
  await new Promise((resolve) => client.once('ready', resolve));
  const { admit, close } = await contender.make(url, client, prefix);
  // warm up: JIT, script cache, connections
  for (let i = 0; i < 200; i++) await admit();
  const { startAt, endAt } = await new Promise<{ startAt: number; endAt: number }>((resolve) => {
    process.once('message', (m) => resolve(m as { startAt: number; endAt: number }));
    process.send!('ready');
  });
  const epoch = (): number => performance.timeOrigin + performance.now();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - epoch())));
  let admitted = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (epoch() < endAt) {
        await admit();
        admitted++;
      }
    }),
  );
  await close();
  client.disconnect();
  process.send!({ admitted }, () => process.disconnect());
}

// ---- parent ------------------------------------------------------------------------------

/**
 * Redis's time so far, in µs: `cpu`, its CPU time (user + system, all threads); `scripts`,
 * the time spent running EVAL/EVALSHA (INFO commandstats; every contender here decides in a
 * Lua script, and a script's time includes the commands it runs).
 */
async function redisTimes(url: string): Promise<{ cpu: number; scripts: number }> {
  const client = new Redis(url);
  const info = await client.info('all');
  client.disconnect();
  const field = (pattern: string): number => Number(new RegExp(pattern, 'm').exec(info)?.[1] ?? 0);
  return {
    cpu: (field('^used_cpu_user:([\\d.]+)') + field('^used_cpu_sys:([\\d.]+)')) * 1e6,
    scripts: field('^cmdstat_evalsha:calls=\\d+,usec=(\\d+)') + field('^cmdstat_eval:calls=\\d+,usec=(\\d+)'),
  };
}

/** Admissions per second, and Redis µs per admission (CPU, in scripts), with `processes` fresh children. */
async function throughput(contender: Contender, processes: number, url: string, seconds: number): Promise<{ rate: number; cpuUs: number; scriptUs: number }> {
  const prefix = `sluice-bench:${randomBytes(3).toString('hex')}:`;
  const self = fileURLToPath(import.meta.url);
  const children = Array.from({ length: processes }, () =>
    fork(self, ['--child', contender.name, url, prefix], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const results: Promise<number>[] = [];
  const ready: Promise<void>[] = [];
  for (const c of children) {
    ready.push(new Promise((resolve) => c.once('message', () => resolve())));
    results.push(
      new Promise((resolve, reject) => {
        c.on('message', (m) => typeof m === 'object' && resolve((m as { admitted: number }).admitted));
        c.once('exit', (code) => code !== 0 && reject(new Error(`${contender.name} child exited ${code}`)));
      }),
    );
  }
  await Promise.all(ready);
  const startAt = performance.timeOrigin + performance.now() + 300;
  const before = await redisTimes(url);
  for (const c of children) c.send({ startAt, endAt: startAt + seconds * 1000 });
  const total = (await Promise.all(results)).reduce((a, b) => a + b, 0);
  // the children have warmed up, and the lead-in is idle: this is the admissions alone (if nobody else uses this Redis)
  const after = await redisTimes(url);
  await deleteKeys(url, prefix);
  return { rate: total / seconds, cpuUs: (after.cpu - before.cpu) / total, scriptUs: (after.scripts - before.scripts) / total };
}

/**
 * Client commands (round trips: a MULTI…EXEC block is one) and all commands, per admission:
 * one caller admitting 2,000 times in a row, then 64 callers admitting 2,000 in all.
 */
async function commandsPerAdmission(contender: Contender, url: string): Promise<{ roundTrips: number; commands: number; roundTripsConcurrent: number }> {
  const prefix = `sluice-bench:${randomBytes(3).toString('hex')}:`;
  const client = new Redis(url);
  const { admit, close } = await contender.make(url, client, prefix);
  for (let i = 0; i < 50; i++) await admit(); // load scripts, settle connections
  const monitorOwner = new Redis(url);
  const monitor = await monitorOwner.monitor();
  let roundTrips = 0;
  let commands = 0;
  let inMulti = false;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    commands++;
    if (source === 'lua') return;
    const name = String(args[0]).toLowerCase();
    if (name === 'multi') inMulti = true;
    if (name === 'exec') inMulti = false;
    else if (!inMulti) roundTrips++;
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const n = 2000;
  for (let i = 0; i < n; i++) await admit();
  await new Promise((resolve) => setTimeout(resolve, 500)); // let MONITOR catch up
  const sequential = { roundTrips, commands };
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      for (let i = 0; i < n / CALLERS; i++) await admit();
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  const concurrent = roundTrips - sequential.roundTrips;
  monitor.disconnect();
  monitorOwner.disconnect();
  await close();
  client.disconnect();
  await deleteKeys(url, prefix);
  return { roundTrips: sequential.roundTrips / n, commands: sequential.commands / n, roundTripsConcurrent: concurrent / (CALLERS * Math.floor(n / CALLERS)) };
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  client.disconnect();
}

async function main(): Promise<void> {
  const url = arg('url', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const seconds = Number(arg('seconds', '3'));
  const only = arg('only', '');
  const contenders = CONTENDERS.filter((c) => only === '' || c.name.includes(only));
  console.log(`Redis limiters, a limit that never binds, ${CALLERS} callers per process, ${seconds} s per run — ${await machineLine()}`);
  const rows: Row[] = [];
  for (const contender of contenders) {
    const one = await throughput(contender, 1, url, seconds);
    const eight = await throughput(contender, 8, url, seconds);
    const { roundTrips, commands, roundTripsConcurrent } = await commandsPerAdmission(contender, url);
    console.log(
      `  ${contender.name}: ${one.rate.toFixed(0)}/s, ${eight.rate.toFixed(0)}/s; Redis per admission ${one.scriptUs.toFixed(1)} / ${eight.scriptUs.toFixed(1)} µs in scripts, ${one.cpuUs.toFixed(1)} / ${eight.cpuUs.toFixed(1)} µs CPU; ${roundTrips.toFixed(2)} round trips (${roundTripsConcurrent.toFixed(2)} with ${CALLERS} callers), ${commands.toFixed(1)} commands`,
    );
    rows.push({
      name: contender.name,
      note: contender.note,
      ref: contender.name.startsWith('sluice') ? undefined : 'sluice RedisStore',
      values: { one: one.rate, eight: eight.rate, script: eight.scriptUs, cpu: eight.cpuUs, roundTrips, roundTripsConcurrent, commands },
    });
  }
  printTable(
    'Admissions/s through Redis (higher is better); ratios are sluice RedisStore / peer',
    [
      { key: 'one', title: '1 process' },
      { key: 'eight', title: '8 processes' },
      { key: 'script', title: 'Redis µs in scripts / admission (8 processes)', ratio: false, format: (v) => v.toFixed(1) },
      { key: 'cpu', title: 'Redis CPU µs / admission (8 processes)', ratio: false, format: (v) => v.toFixed(1) },
      { key: 'roundTrips', title: 'round trips / admission, 1 caller', ratio: false, format: (v) => v.toFixed(2) },
      { key: 'roundTripsConcurrent', title: `round trips / admission, ${CALLERS} callers`, ratio: false, format: (v) => v.toFixed(3) },
      { key: 'commands', title: 'Redis commands / admission', ratio: false, format: (v) => v.toFixed(1) },
    ],
    rows,
    `Redis µs per admission over the 8-process run: time in EVAL/EVALSHA (INFO commandstats) and CPU (INFO cpu, user + system); exact only on a Redis nobody else uses. Round trips: client commands seen by MONITOR (a MULTI…EXEC block counts once), for one caller admitting 2,000 times in a row and for ${CALLERS} callers admitting 2,000 in all; commands (one caller) include those run inside Lua scripts.`,
  );
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!, process.argv[5]!);
else await main();
