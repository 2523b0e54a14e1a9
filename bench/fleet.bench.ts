/**
 * A fleet on one machine: `--processes` (16) processes share one limit through one Redis —
 * a private redis-server this script starts on `--port` (6395; no persistence) and shuts
 * down after. For each peer (sluice without leases, sluice with `lease: true`,
 * rate-limiter-flexible's RateLimiterRedis through its RateLimiterQueue) the same processes
 * run each scenario for `--seconds`:
 *
 *   free-seq   a limit that never binds (1e9/s), one caller per process, acquiring in a loop
 *   free-conc  the same, 16 callers per process
 *   bind-seq   1000/s shared by the fleet, one caller per process
 *   bind-conc  1000/s, 16 callers per process
 *   kill       1000/s, 16 callers per process; kill -9 of a quarter of the processes halfway:
 *              what the survivors start in the second after, and when they first reach 95 % of
 *              the limit over a sliding 100 ms
 *
 * Printed: admissions/s across the fleet, Redis commands per admission (each worker counts
 * what its client sends: no MONITOR), and under a binding limit the most starts in any 1 s
 * window of the processes' own start stamps (a clock every process shares) and the
 * utilisation of the limit. Also the load average before and after, to judge the figures.
 *
 *   node --import tsx bench/fleet.bench.ts [--processes 16] [--seconds 3] [--port 6395]
 *        [--peers sluice,sluice-lease,rlf] [--scenarios free-seq,free-conc,bind-seq,bind-conc,kill]
 *
 * Internally it forks itself with `--worker`.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Redis as RedisClient } from 'ioredis';
import { machineLine } from './lib/index.js';

type Peer = 'sluice' | 'sluice-lease' | 'rlf';
type Scenario = 'free-seq' | 'free-conc' | 'bind-seq' | 'bind-conc' | 'kill';

const SCENARIOS: Record<Scenario, { limit: number; callers: number; binding: boolean }> = {
  'free-seq': { limit: 1e9, callers: 1, binding: false },
  'free-conc': { limit: 1e9, callers: 16, binding: false },
  'bind-seq': { limit: 1000, callers: 1, binding: true },
  'bind-conc': { limit: 1000, callers: 16, binding: true },
  kill: { limit: 1000, callers: 16, binding: true },
};
const PEER_NOTE: Record<Peer, string> = {
  sluice: 'RateLimiter over RedisStore (sliding window)',
  'sluice-lease': "RateLimiter over RedisStore { lease: true }",
  rlf: 'rate-limiter-flexible RateLimiterRedis + RateLimiterQueue (fixed window)',
};

/** A run's orders, parent → worker. */
interface Order {
  scenario: Scenario;
  prefix: string;
  startAt: number;
  endAt: number;
}

/** A run's results, worker → parent; `stamps` only under a binding limit. */
interface Report {
  admitted: number;
  commands: number;
  stamps: number[];
}

const epochNow = (): number => performance.timeOrigin + performance.now();

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

if (process.argv.includes('--worker')) await worker();
else await main();

/** One fleet member: a client that counts the commands it sends, and a limiter per scenario. */
async function worker(): Promise<void> {
  const { Redis } = await import('ioredis');
  const url = flag('url', '');
  const peer = flag('peer', 'sluice') as Peer;
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  await new Promise((resolve) => client.once('ready', resolve));
  let commands = 0;
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<RedisClient['sendCommand']>) => {
    commands++;
    return send(...args);
  }) as RedisClient['sendCommand'];
  process.on('message', (order: Order) => {
    void runOrder(client, peer, order, () => commands).then((report) => process.send!(report));
  });
  process.send!('ready');
}

async function runOrder(client: RedisClient, peer: Peer, order: Order, commandsNow: () => number): Promise<Report> {
  const { limit, callers, binding } = SCENARIOS[order.scenario];
  const admit = await limiterFor(client, peer, order.prefix, limit);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, order.startAt - epochNow())));
  const before = commandsNow();
  const stamps: number[] = [];
  let admitted = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (epochNow() < order.endAt) {
        await admit.acquire();
        const at = epochNow();
        if (at >= order.endAt) break;
        admitted++;
        if (binding) stamps.push(at);
      }
    }),
  );
  const commands = commandsNow() - before;
  await admit.close();
  return { admitted, commands, stamps };
}

async function limiterFor(client: RedisClient, peer: Peer, prefix: string, limit: number): Promise<{ acquire: () => Promise<unknown>; close: () => Promise<void> }> {
  if (peer === 'rlf') {
    const { RateLimiterRedis, RateLimiterQueue } = await import('rate-limiter-flexible');
    const limiter = new RateLimiterRedis({ storeClient: client, points: limit, duration: 1, keyPrefix: prefix });
    const queue = new RateLimiterQueue(limiter, { maxQueueSize: 1_000_000 });
    return { acquire: () => queue.removeTokens(1, 'fleet'), close: async () => {} };
  }
  const { RateLimiter } = await import('../src/index.js');
  const { RedisStore } = await import('../src/redis.js');
  const store = new RedisStore(client, { prefix, lease: peer === 'sluice-lease' });
  const limiter = new RateLimiter({ limits: `${limit}/1s`, store, key: 'fleet' });
  return { acquire: () => limiter.acquire(), close: () => store.close() };
}

/** The most stamps in any [t, t + windowMs). */
function mostInWindow(sorted: readonly number[], windowMs: number): number {
  let most = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}

async function main(): Promise<void> {
  const processes = Number(flag('processes', '16'));
  const seconds = Number(flag('seconds', '3'));
  const port = Number(flag('port', '6395'));
  const peers = flag('peers', 'sluice,sluice-lease,rlf').split(',') as Peer[];
  const scenarios = flag('scenarios', 'free-seq,free-conc,bind-seq,bind-conc,kill').split(',') as Scenario[];
  const url = `redis://127.0.0.1:${port}`;

  execFileSync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes']);
  try {
    for (let i = 0; i < 50; i++) {
      try {
        execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' });
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    console.log(await machineLine());
    console.log(`${processes} processes, ${seconds} s per run, a private redis-server on port ${port}; load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
    for (const peer of peers) {
      console.log(`${peer}: ${PEER_NOTE[peer]}`);
      const children = await spawnFleet(processes, url, peer);
      try {
        for (const scenario of scenarios) await runScenario(children, scenario, seconds, peer);
      } finally {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      console.log('');
    }
    console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { stdio: 'ignore' });
  }
}

async function spawnFleet(processes: number, url: string, peer: Peer): Promise<ChildProcess[]> {
  const self = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < processes; i++) {
    const child = fork(self, ['--worker', '--url', url, '--peer', peer], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    ready.push(new Promise((resolve) => child.once('message', () => resolve())));
  }
  await Promise.all(ready);
  return children;
}

async function runScenario(children: ChildProcess[], scenario: Scenario, seconds: number, peer: Peer): Promise<void> {
  const { limit, binding } = SCENARIOS[scenario];
  const prefix = `fleet-bench:${randomBytes(4).toString('hex')}:`;
  const startAt = epochNow() + 500;
  const endAt = startAt + seconds * 1000;
  const killAt = startAt + (seconds * 1000) / 2;
  const killed = scenario === 'kill' ? new Set(children.slice(0, Math.max(1, Math.floor(children.length / 4)))) : new Set<ChildProcess>();
  const reports = children.map(
    (child) =>
      new Promise<Report | undefined>((resolve) => {
        child.once('message', (report) => resolve(report as Report));
        if (killed.has(child)) child.once('exit', () => resolve(undefined));
      }),
  );
  for (const child of children) child.send({ scenario, prefix, startAt, endAt } satisfies Order);
  if (killed.size > 0) {
    await new Promise((resolve) => setTimeout(resolve, killAt - epochNow()));
    for (const child of killed) child.kill('SIGKILL');
  }
  const all = (await Promise.all(reports)).filter((r): r is Report => r !== undefined);
  const admitted = all.reduce((n, r) => n + r.admitted, 0);
  const commands = all.reduce((n, r) => n + r.commands, 0);
  const rate = admitted / seconds;
  let line = `  ${scenario.padEnd(9)} ${peer.padEnd(12)} ${Math.round(rate).toLocaleString('en').padStart(9)} admissions/s, ${(commands / Math.max(1, admitted)).toFixed(4)} Redis commands per admission`;
  if (binding) {
    const stamps = all.flatMap((r) => r.stamps).sort((a, b) => a - b);
    line += `, most in any 1 s: ${mostInWindow(stamps, 1000)} (limit ${limit})`;
    if (scenario === 'kill') {
      const after = stamps.filter((t) => t >= killAt);
      const firstSecond = after.filter((t) => t < killAt + 1000).length;
      // two lease periods (2 × 10 ms): the horizon for the survivors to be back at 95 %
      const firstTwoPeriods = after.filter((t) => t < killAt + 20).length;
      // the first instant after the kill from which the survivors' last 100 ms held ≥ 95 % of the limit's 100 ms share
      let reached = Number.NaN;
      let lo = 0;
      for (let hi = 0; hi < after.length; hi++) {
        while (after[hi]! - after[lo]! >= 100) lo++;
        if (hi - lo + 1 >= 0.95 * (limit / 10) && after[hi]! - killAt >= 100) {
          reached = after[hi]! - killAt;
          break;
        }
      }
      line += `; ${children.length - killed.size} survivors: ${firstTwoPeriods} starts in the 20 ms after the kill (${((100 * firstTwoPeriods) / (limit / 50)).toFixed(0)} % of the limit's share), ${firstSecond} in the 1 s after (${((100 * firstSecond) / limit).toFixed(1)} %), 95 % of the limit over 100 ms at +${reached.toFixed(0)} ms`;
    } else {
      line += `, utilisation ${((100 * admitted) / (limit * seconds)).toFixed(1)} %`;
    }
  }
  console.log(line);
}
