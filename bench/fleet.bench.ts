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
 *              what the survivors start in the 20 ms after (beside every 20 ms before and
 *              after), and from 2 lease periods after over 100 ms and 1 s (killReport)
 *   shift      1000/s; half A greedy (16 callers each) and half B light (one start per 50 ms
 *              each) until halfway, then the other way round: each half's starts/s before and
 *              after, and how soon after the shift each reached its new rate
 *
 * Printed: admissions/s across the fleet, Redis commands per admission (each worker counts
 * what its client sends: no MONITOR), and under a binding limit the most starts in any 1 s
 * window of the processes' own start stamps (a clock every process shares) and the
 * utilisation of the limit. Also the CPU each admission cost (the processes' own, with the
 * bench's bookkeeping, and Redis's: what 2 quiet cores could admit), for leases the share
 * spent from them and the leased units given back unspent, and the load average before and
 * after, to judge the figures.
 *
 *   node --import tsx bench/fleet.bench.ts [--processes 16] [--seconds 3] [--port 6395]
 *        [--peers sluice,sluice-lease,rlf] [--scenarios free-seq,free-conc,bind-seq,bind-conc,shift,kill]
 *        [--lease '{"periodMs":10}']   (sluice-lease's `lease` option, JSON; default true)
 *        [--cpu-prof DIR]              (member 0 writes a V8 CPU profile to DIR)
 *        [--kill-idle]                 (kill: kill warmed processes given no order instead: the kill's own cost)
 *
 * Internally it forks itself with `--worker`.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Redis as RedisClient } from 'ioredis';
import type { LeaseOptions } from '../src/redis.js';
import { machineLine } from './lib/index.js';

type Peer = 'sluice' | 'sluice-lease' | 'rlf';
type Scenario = 'free-seq' | 'free-conc' | 'bind-seq' | 'bind-conc' | 'kill' | 'shift';

const SCENARIOS: Record<Scenario, { limit: number; callers: number; binding: boolean }> = {
  'free-seq': { limit: 1e9, callers: 1, binding: false },
  'free-conc': { limit: 1e9, callers: 16, binding: false },
  'bind-seq': { limit: 1000, callers: 1, binding: true },
  'bind-conc': { limit: 1000, callers: 16, binding: true },
  kill: { limit: 1000, callers: 16, binding: true },
  shift: { limit: 1000, callers: 16, binding: true },
};
/** shift: a light member asks for one start, waits this long after it, and asks again (about 20/s). */
const LIGHT_GAP_MS = 50;
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
  /** shift: when demand moves from one half of the fleet to the other, and whether this process is greedy before it. */
  shiftAt?: number | undefined;
  greedyFirst?: boolean | undefined;
}

/** A run's results, worker → parent; `stamps` only under a binding limit. */
interface Report {
  admitted: number;
  commands: number;
  stamps: number[];
  /** CPU time this process used during the run (user + system), µs. */
  cpuUs: number;
  /** The RedisStore's stats over the run (sluice peers only). */
  store?: { late: number; leased: number; returned: number } | undefined;
  /** shift: the last start of a caller that asked before the shift (its demand was there), or -Infinity. */
  askedBeforeShiftUntil: number;
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
  // Loaded and warmed before 'ready': a member still compiling its limiter at the agreed
  // start starts late, and the first scenario of a loaded machine measured that (52/s).
  const warm = await limiterFor(client, peer, `fleet-bench:warm:${process.pid}:`, 1e9);
  for (let i = 0; i < 200; i++) await warm.acquire();
  await warm.close();
  process.on('message', (order: Order | 'exit') => {
    // 'exit': leave on our own, so that a --cpu-prof member writes its profile.
    if (order === 'exit') process.exit(0);
    void runOrder(client, peer, order, () => commands).then((report) => process.send!(report));
  });
  process.send!('ready');
}

async function runOrder(client: RedisClient, peer: Peer, order: Order, commandsNow: () => number): Promise<Report> {
  const { limit, callers, binding } = SCENARIOS[order.scenario];
  const admit = await limiterFor(client, peer, order.prefix, limit);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, order.startAt - epochNow())));
  const before = commandsNow();
  const storeBefore = admit.stats?.();
  const cpuBefore = process.cpuUsage();
  const stamps: number[] = [];
  let admitted = 0;
  let askedBeforeShiftUntil = Number.NEGATIVE_INFINITY;
  // One clock read per admission: the bench's own cost is part of what a process spends per admission.
  const { endAt } = order;
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (;;) {
        if (order.shiftAt !== undefined && !(await shiftTurn(order, caller))) break;
        const askedAt = order.shiftAt === undefined ? 0 : epochNow();
        await admit.acquire();
        const at = epochNow();
        if (at >= endAt) break;
        if (order.shiftAt !== undefined && askedAt < order.shiftAt) askedBeforeShiftUntil = Math.max(askedBeforeShiftUntil, at);
        admitted++;
        if (binding) stamps.push(at);
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const commands = commandsNow() - before;
  const storeAfter = admit.stats?.();
  await admit.close();
  const store = storeBefore && storeAfter ? { late: storeAfter.late - storeBefore.late, leased: storeAfter.leased - storeBefore.leased, returned: (storeAfter.returned ?? 0) - (storeBefore.returned ?? 0) } : undefined;
  return { admitted, commands, stamps, cpuUs: cpu.user + cpu.system, store, askedBeforeShiftUntil };
}

/**
 * shift: whether `caller` asks now, after waiting as its half of the fleet does — greedy: at
 * once, all 16 callers; light: caller 0 alone, LIGHT_GAP_MS after its last start, the others
 * sleep until the shift. False once the run is over.
 */
async function shiftTurn(order: Order, caller: number): Promise<boolean> {
  for (;;) {
    const now = epochNow();
    if (now >= order.endAt) return false;
    const greedy = now < order.shiftAt! === order.greedyFirst;
    if (greedy) return true;
    if (caller === 0) {
      await sleep(LIGHT_GAP_MS);
      return epochNow() < order.endAt;
    }
    await sleep((now < order.shiftAt! ? order.shiftAt! : order.endAt) - now);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

interface Admit {
  acquire: () => Promise<unknown>;
  close: () => Promise<void>;
  // `returned` is absent from a RedisStore older than this bench (comparing with one)
  stats?: () => { late: number; leased: number; returned?: number | undefined };
}

async function limiterFor(client: RedisClient, peer: Peer, prefix: string, limit: number): Promise<Admit> {
  if (peer === 'rlf') {
    const { RateLimiterRedis, RateLimiterQueue } = await import('rate-limiter-flexible');
    const limiter = new RateLimiterRedis({ storeClient: client, points: limit, duration: 1, keyPrefix: prefix });
    const queue = new RateLimiterQueue(limiter, { maxQueueSize: 1_000_000 });
    return { acquire: () => queue.removeTokens(1, 'fleet'), close: async () => {} };
  }
  const { RateLimiter } = await import('../src/index.js');
  const { RedisStore } = await import('../src/redis.js');
  const lease = peer === 'sluice-lease' ? (JSON.parse(flag('lease', 'true')) as boolean | LeaseOptions) : false;
  const store = new RedisStore(client, { prefix, lease });
  const limiter = new RateLimiter({ limits: `${limit}/1s`, store, key: 'fleet' });
  return { acquire: () => limiter.acquire(), close: () => store.close(), stats: () => store.stats() };
}

/**
 * What runOrder's loop costs per admission by itself — an await of a settled promise, one
 * clock read, a count — so the CPU per admission printed can be read net of it: CPU ns per
 * loop over 300 ms, in this (the parent) process.
 */
async function ownLoopNs(): Promise<number> {
  const settled = Promise.resolve();
  const acquire = (): Promise<void> => settled;
  const endAt = epochNow() + 300;
  let admitted = 0;
  const cpu = process.cpuUsage();
  for (;;) {
    await acquire();
    const at = epochNow();
    if (at >= endAt) break;
    admitted++;
  }
  const used = process.cpuUsage(cpu);
  return ((used.user + used.system) * 1000) / Math.max(1, admitted);
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
  const scenarios = flag('scenarios', 'free-seq,free-conc,bind-seq,bind-conc,shift,kill').split(',') as Scenario[];
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
    console.log(`${processes} processes, ${seconds} s per run, a private redis-server on port ${port}; load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`the bench's own loop, with an acquire that costs nothing: ${(await ownLoopNs()).toFixed(0)} ns of CPU per admission\n`);
    for (const peer of peers) {
      console.log(`${peer}: ${PEER_NOTE[peer]}`);
      const children = await spawnFleet(processes, url, peer);
      try {
        for (const scenario of scenarios) await runScenario(children, scenario, seconds, peer, port, url);
      } finally {
        await Promise.all(children.map(leave));
      }
      console.log('');
    }
    console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { stdio: 'ignore' });
  }
}

/** Asks a member to exit, and kills it if it has not within 2 s (or was killed already). */
async function leave(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send('exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

async function spawnFleet(processes: number, url: string, peer: Peer): Promise<ChildProcess[]> {
  const self = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < processes; i++) {
    // --cpu-prof DIR: member 0 writes a V8 CPU profile of its whole life there.
    const profile = i === 0 && flag('cpu-prof', '') !== '' ? ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', flag('cpu-prof', '')] : [];
    const child = fork(self, ['--worker', '--url', url, '--peer', peer, '--lease', flag('lease', 'true')], { execArgv: ['--import', 'tsx', ...profile], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    ready.push(new Promise((resolve) => child.once('message', () => resolve())));
  }
  await Promise.all(ready);
  return children;
}

/**
 * shift: each half's starts/s before and after the shift (leaving out the first 300 ms of
 * each part), against what a light half asks (one start per LIGHT_GAP_MS per process), and
 * when after the shift each half first reached, over 100 ms, 90 % of its rate in the rest of
 * the run.
 */
function shiftReport(first: readonly Report[], second: readonly Report[], startAt: number, shiftAt: number, endAt: number, limit: number): string {
  const stampsOf = (group: readonly Report[]): number[] => group.flatMap((r) => r.stamps).sort((a, b) => a - b);
  const rateIn = (stamps: readonly number[], from: number, to: number): number => (1000 * stamps.filter((t) => t >= from && t < to).length) / (to - from);
  const settle = 300;
  const lightAsk = (n: number): number => (n * 1000) / LIGHT_GAP_MS;
  const line = (name: string, group: readonly Report[], greedyFirst: boolean): string => {
    const stamps = stampsOf(group);
    const before = rateIn(stamps, startAt + settle, shiftAt);
    const after = rateIn(stamps, shiftAt + settle, endAt);
    const target = after * 0.9;
    let reached = Number.NaN;
    for (let t = shiftAt; t + 100 <= endAt; t += 5) {
      if (rateIn(stamps, t, t + 100) >= target) {
        reached = t + 100 - shiftAt;
        break;
      }
    }
    const role = (greedy: boolean): string => (greedy ? 'greedy' : `light, asks ≤ ${lightAsk(group.length)}/s`);
    // The callers of the half that was greedy asked before the shift and are still queued
    // then: demand that was there, served first. "Shares follow demand" counts from when it
    // was served (the half that turns greedy reaches its rate only after that).
    // "at +N" is where that 100 ms window ends: a step to the new rate at x reads x + 90. Where
    // the window begins (x − 10 for a step) says when the rate moved.
    const served = Math.max(...first.map((r) => r.askedBeforeShiftUntil)) - shiftAt;
    const began = reached - 100 - served;
    const afterServed = greedyFirst ? '' : `; the other half's callers queued at the shift were all served at +${served.toFixed(0)} ms, and that window began ${Math.abs(began).toFixed(0)} ms ${began < 0 ? 'before' : 'after'} it`;
    return `    ${name} (${group.length} processes): ${role(greedyFirst)} ${Math.round(before)}/s before → ${role(!greedyFirst)} ${Math.round(after)}/s after the shift, 90 % of that over 100 ms at +${reached.toFixed(0)} ms${afterServed}`;
  };
  return `${line('half A', first, true)}\n${line('half B', second, false)}  (limit ${limit}/s)`;
}

/**
 * kill: how soon the survivors take the whole limit. The issue's horizon is 2 lease periods
 * (20 ms): the starts in [kill, kill + 20 ms), and how many every 20 ms held in the 500 ms
 * before the kill and in the 500 ms from +20 ms (at 1000/s one start is 5 % of so short a
 * window, and a loaded machine spreads them: the spread before says what a normal 20 ms
 * holds), then the rate from 2 lease periods after the kill over 100 ms and over 1 s.
 */
function killReport(stamps: readonly number[], killAt: number, limit: number): string {
  const count = (from: number, to: number): number => stamps.filter((t) => t >= from && t < to).length;
  const spread = (from: number): string => {
    const counts = Array.from({ length: 25 }, (_, i) => count(from + 20 * i, from + 20 * (i + 1))).sort((a, b) => a - b);
    return `${counts[0]}–${counts[24]}, median ${counts[12]}`;
  };
  const pct = (n: number, ms: number): string => `${((100 * n) / ((limit * ms) / 1000)).toFixed(1)} %`;
  const first = count(killAt, killAt + 20);
  const next100 = count(killAt + 20, killAt + 120);
  const nextSecond = count(killAt + 20, killAt + 1020);
  return (
    `${first} starts in the 20 ms after the kill (${pct(first, 20)} of the limit); per 20 ms, the 500 ms before: ${spread(killAt - 500)}, the 500 ms from +20 ms: ${spread(killAt + 20)}` +
    `; from +20 ms: ${next100} in 100 ms (${pct(next100, 100)}), ${nextSecond} in 1 s (${pct(nextSecond, 1000)})`
  );
}

/** The CPU time the redis-server on `port` has used, µs (INFO cpu). */
function redisCpuUs(port: number): number {
  const info = execFileSync('redis-cli', ['-p', String(port), 'info', 'cpu'], { encoding: 'utf8' });
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (field('used_cpu_sys') + field('used_cpu_user')) * 1e6;
}

async function runScenario(fleet: ChildProcess[], scenario: Scenario, seconds: number, peer: Peer, port: number, url: string): Promise<void> {
  const { limit, binding } = SCENARIOS[scenario];
  // After a kill scenario, the survivors.
  const children = fleet.filter((child) => child.exitCode === null && child.signalCode === null);
  const prefix = `fleet-bench:${randomBytes(4).toString('hex')}:`;
  const quarter = Math.max(1, Math.floor(children.length / 4));
  // --kill-idle: the control — kill -9 of as many warmed members that were given no order, so
  // the fleet loses no one: what the kill itself costs this machine in the 20 ms after it.
  const bystanders = scenario === 'kill' && process.argv.includes('--kill-idle') ? await spawnFleet(quarter, url, peer) : [];
  const startAt = epochNow() + 500;
  const endAt = startAt + seconds * 1000;
  const killAt = startAt + (seconds * 1000) / 2;
  const killed = scenario === 'kill' && bystanders.length === 0 ? new Set(children.slice(0, quarter)) : new Set<ChildProcess>();
  const reports = children.map(
    (child) =>
      new Promise<Report | undefined>((resolve) => {
        child.once('message', (report) => resolve(report as Report));
        if (killed.has(child)) child.once('exit', () => resolve(undefined));
      }),
  );
  const redisBefore = redisCpuUs(port);
  const shiftAt = scenario === 'shift' ? killAt : undefined;
  const half = Math.ceil(children.length / 2);
  children.forEach((child, i) => child.send({ scenario, prefix, startAt, endAt, shiftAt, greedyFirst: i < half } satisfies Order));
  if (killed.size > 0 || bystanders.length > 0) {
    await new Promise((resolve) => setTimeout(resolve, killAt - epochNow()));
    for (const child of killed) child.kill('SIGKILL');
    for (const child of bystanders) child.kill('SIGKILL');
  }
  const results = await Promise.all(reports);
  const all = results.filter((r): r is Report => r !== undefined);
  const redisUs = redisCpuUs(port) - redisBefore;
  const admitted = all.reduce((n, r) => n + r.admitted, 0);
  const commands = all.reduce((n, r) => n + r.commands, 0);
  const rate = admitted / seconds;
  let line = `  ${scenario.padEnd(9)} ${peer.padEnd(12)} ${Math.round(rate).toLocaleString('en').padStart(9)} admissions/s, ${(commands / Math.max(1, admitted)).toFixed(4)} Redis commands per admission`;
  // CPU per admission, the fleet's processes and Redis apart: what 2 quiet cores could admit (their CPU divided by it).
  const nodeUs = all.reduce((n, r) => n + r.cpuUs, 0) / Math.max(1, admitted);
  const serverUs = redisUs / Math.max(1, admitted);
  line += `, CPU per admission ${nodeUs.toFixed(2)} µs in the processes + ${serverUs.toFixed(2)} µs in Redis (2 cores: ${Math.round(2e6 / (nodeUs + serverUs)).toLocaleString('en')}/s)`;
  const stores = all.flatMap((r) => (r.store === undefined ? [] : [r.store]));
  if (stores.length > 0) {
    const sum = (field: 'late' | 'leased' | 'returned'): number => stores.reduce((n, st) => n + st[field], 0);
    line += `; ${sum('late')} given back late`;
    if (peer === 'sluice-lease') line += `, ${((100 * sum('leased')) / Math.max(1, admitted)).toFixed(1)} % leased, ${sum('returned')} leased units given back unspent`;
  }
  if (binding) {
    const stamps = all.flatMap((r) => r.stamps).sort((a, b) => a - b);
    line += `, most in any 1 s: ${mostInWindow(stamps, 1000)} (limit ${limit})`;
    // Fair shares: every member is greedy here (but in shift), so each should get about limit / members.
    if (scenario !== 'shift') {
      const each = all.map((r) => r.admitted / seconds).sort((a, b) => a - b);
      line += `, per member ${Math.round(each[0]!)}–${Math.round(each[each.length - 1]!)}/s (median ${Math.round(each[Math.floor(each.length / 2)]!)})`;
    }
    // Where a paced limit loses starts: spells with no start longer than the pacer's slack
    // (10 ms at 1000/s), whose slots nobody can take afterwards.
    let idle = 0;
    const gaps: { at: number; ms: number }[] = [];
    for (let i = 1; i < stamps.length; i++) {
      const gap = stamps[i]! - stamps[i - 1]!;
      if (gap <= 10) continue;
      idle += gap - 10;
      gaps.push({ at: stamps[i - 1]! - startAt, ms: gap });
    }
    const longest = gaps.sort((a, b) => b.ms - a.ms).slice(0, 3);
    line += `, ${idle.toFixed(0)} ms without a start beyond 10 ms${longest.length === 0 ? '' : ` (longest: ${longest.map((g) => `${g.ms.toFixed(0)} ms at +${g.at.toFixed(0)}`).join(', ')})`}`;
    if (scenario === 'kill') {
      line += `; ${bystanders.length > 0 ? `${bystanders.length} idle processes killed, all ${children.length} members run on` : `${children.length - killed.size} survivors`}: ${killReport(stamps, killAt, limit)}`;
    } else if (scenario === 'shift') {
      line += `, utilisation ${((100 * admitted) / (limit * seconds)).toFixed(1)} %\n${shiftReport(results.slice(0, half) as Report[], results.slice(half) as Report[], startAt, shiftAt!, endAt, limit)}`;
    } else {
      // Per second of the run: whether what is lost is lost evenly or grows window after window.
      const perSecond = Array.from({ length: seconds }, (_, i) => stamps.filter((t) => t >= startAt + i * 1000 && t < startAt + (i + 1) * 1000).length);
      line += `, utilisation ${((100 * admitted) / (limit * seconds)).toFixed(1)} % (by second: ${perSecond.join(', ')})`;
    }
  }
  console.log(line);
}
