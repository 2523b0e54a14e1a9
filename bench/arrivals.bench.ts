/**
 * The guarantee at the server: 600 requests at a server's exact published limit, 50/s
 * counted in a sliding window of arrivals, behind a loopback proxy adding 0–15 ms of random
 * jitter each way (test/world/). Three clients, each as a user writes it:
 *
 * - `limiter`: `new RateLimiter({ limits: '50/1s' })` around the global `fetch`;
 * - `sluiceFetch`: `sluiceFetch({ rate: '50/1s' })` (adaptive, retries on);
 * - `harvest`: `sluice harvest <url> --rate 50/1s`, 600 pages of one record, through the
 *   CLI's engine in this process.
 *
 * Each runs with `arrivalJitter: 0` (before: exact on our own clock only) and with the
 * default (after), in a fresh process state for each (a new server, proxy and client).
 * Printed: the 429s the server answered, and the admitted arrivals' rate against 50/s.
 * Targets: 0 429s and ≥ 97 % for every client with the default.
 *
 * First, what the default margin costs: a sliding window (burst 1) kept full for 20 windows
 * in virtual time, at 1 s, 1 min and 1 h, with J = 0 and with the default J; the rate it
 * admits against the limit.
 *
 * The server and the proxy run in a child process of their own (test/world/world-process.ts),
 * as a server does: the client's stalls are not the server's.
 *
 *   node --expose-gc --import tsx bench/arrivals.bench.ts [--runs 1] [--requests 600] [--jitter 15] [--only limiter,sluiceFetch,harvest] [--modes before,after] [--cold]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHarvestArgs } from '../src/cli/harvest-args.js';
import { Harvest } from '../src/harvest/engine.js';
import { nullMonitor } from '../src/harvest/null-monitor.js';
import { sluiceFetch } from '../src/http/index.js';
import { MemoryStore, RateLimiter, toLimitSpecs } from '../src/index.js';
import { defaultArrivalJitterMs } from '../src/algorithms/limit-spec.js';
import { reportOf, spawnWorld, type ArrivalReport } from '../test/world/index.js';
import { flag, machineLine } from './lib/index.js';

const LIMIT = 50;
const INTERVAL = 1000;
const runs = flag('runs', 1);
const requests = flag('requests', 600);
const jitterMs = flag('jitter', 15);
const only = listFlag('only', 'limiter,sluiceFetch,harvest');
const modes = listFlag('modes', 'before,after') as ('before' | 'after')[];
const cold = process.argv.includes('--cold');
const dir = mkdtempSync(join(tmpdir(), 'sluice-arrivals-bench-'));

/** `--name a,b` as a list; `fallback` when absent. */
function listFlag(name: string, fallback: string): string[] {
  const at = process.argv.indexOf(`--${name}`);
  return (at >= 0 ? process.argv[at + 1]! : fallback).split(',');
}

type Client = (url: string, mode: 'before' | 'after', run: number) => Promise<void>;

/** The arrivalJitter option of each mode: 0 before, the default after. */
function jitterOption(mode: 'before' | 'after'): { arrivalJitter?: number } {
  return mode === 'before' ? { arrivalJitter: 0 } : {};
}

const clients: Record<string, Client> = {
  async limiter(url, mode) {
    // Node loads and warms its HTTP client on the first fetch: that request reaches the server
    // 30–50 ms late, which no margin for network jitter covers (sluiceFetch and harvest count
    // their first request from its answer instead: FirstAnswer). A user of a bare RateLimiter
    // warms up as every example does, with a request that uses no quota; --cold skips it.
    if (!cold) await fetch(`${url}/stats`).then((r) => r.arrayBuffer());
    const limiter = new RateLimiter({ limits: `${LIMIT}/1s`, ...jitterOption(mode) });
    await Promise.all(Array.from({ length: requests }, (_, i) => limiter.run(() => fetch(`${url}/records/${i}`).then((r) => r.arrayBuffer()))));
  },
  async sluiceFetch(url, mode) {
    const f = sluiceFetch({ rate: `${LIMIT}/1s`, ...jitterOption(mode) });
    await Promise.all(Array.from({ length: requests }, (_, i) => f(`${url}/records/${i}`).then((r) => r.arrayBuffer())));
  },
  async harvest(url, mode, run) {
    const out = join(dir, `${mode}-${run}.ndjson`);
    const args = [`${url}/records?offset={offset}&limit={limit}`, '--page-size', '1', '--rate', `${LIMIT}/1s`, '--out', out];
    if (mode === 'before') args.push('--arrival-jitter', '0');
    const { config } = parseHarvestArgs(args, {});
    const h = await Harvest.open(config);
    const outcome = await h.run(nullMonitor);
    await h.close();
    if (outcome.records !== requests) throw new Error(`harvest wrote ${outcome.records} records of ${requests}`);
  },
};

function line(name: string, mode: string, r: ArrivalReport): string {
  return `${name.padEnd(12)} ${mode.padEnd(7)} requests ${String(r.requests).padStart(4)}  429s ${String(r.refused).padStart(3)}  achieved ${(r.achieved * 100).toFixed(1).padStart(5)} %`;
}

console.log(await machineLine());
console.log('\nthe margin\'s cost: admitted over 20 full windows, against the limit (virtual time, exact)');
for (const [rate, intervalMs] of [['50/1s', 1000], ['1000/1m', 60_000], ['5000/1h', 3_600_000]] as const) {
  const admitted = (jitter: number): number => {
    const [spec] = toLimitSpecs({ rate, arrivalJitter: jitter }, {});
    const store = new MemoryStore();
    let count = 0;
    for (let now = 0; now < 20 * intervalMs; ) {
      const wait = store.reserve('k', [spec!], 1, now);
      if (wait === 0) count++;
      // At an hour's times a wait of nanoseconds is below a double's step: come back 1 µs later.
      else now += Math.max(wait, 0.001);
    }
    return count / (20 * spec!.limit);
  };
  const J = defaultArrivalJitterMs(intervalMs);
  const [zero, withJ] = [admitted(0), admitted(J)];
  console.log(`  ${rate.padEnd(8)} J = ${String(J).padStart(3)} ms: ${(withJ * 100).toFixed(3)} % of the limit (J = 0: ${(zero * 100).toFixed(3)} %) — ${((1 - withJ / zero) * 100).toFixed(3)} % lost`);
}
console.log('');
console.log(`${requests} requests at ${LIMIT}/s, sliding window of arrivals, 0–${jitterMs} ms jitter each way; ${runs} run(s) each${cold ? '; the bare limiter without a warm-up fetch' : ''}\n`);
const results: { name: string; mode: string; report: ArrivalReport }[] = [];
try {
  for (let run = 0; run < runs; run++) {
    for (const name of only) {
      for (const mode of modes) {
        const world = await spawnWorld({ limit: LIMIT, intervalMs: INTERVAL, jitterMs, records: requests });
        try {
          await clients[name]!(world.url, mode, run);
          const report = reportOf(await world.arrivals(), LIMIT, INTERVAL);
          results.push({ name, mode, report });
          console.log(line(name, mode, report));
        } finally {
          await world.close();
        }
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log('\ntargets with the default (after): 0 429s, achieved >= 97 %');
for (const name of only) {
  const after = results.filter((r) => r.name === name && r.mode === 'after');
  if (after.length === 0) continue;
  const met = after.every((r) => r.report.refused === 0 && r.report.achieved >= 0.97);
  const worst = Math.min(...after.map((r) => r.report.achieved));
  console.log(`${name.padEnd(12)} 429s ${after.map((r) => r.report.refused).join(', ')}; lowest achieved ${(worst * 100).toFixed(1)} % — ${met ? 'MET' : 'MISSED'}`);
}
