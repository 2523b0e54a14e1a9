/**
 * Adaptive rate in a fleet: 3 sluiceFetch instances (each its own ioredis client,
 * RedisStore and RateLimiter on one key) against the mock hiding 60/s (`headers: 'none'`),
 * all guessing 200/s, with the adapted rate shared through Redis and without (each member
 * adapts alone over the shared limit). Prints, per run: the fleet's 200s per second over the
 * whole run and its second half, the 429 share, each member's final rate.
 *
 *   node --import tsx bench/adaptive-fleet.bench.ts [--seconds 10] [--runs 2] [--members 3] [--limit 60]
 *        [--modes shared,alone,fixed] [--fixed 57] [--processes] [--url redis://127.0.0.1:6379]
 *
 * `--processes` runs each member in its own child process (the mock stays in this one).
 *
 * `fixed` paces at a known rate with no adaptation (default 95 % of the limit): what the
 * machine lets the fleet achieve at all, the yardstick for the other two.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { runAdaptiveFleet, runAdaptiveFleetProcesses } from '../test/store/redis/adaptive-fleet.js';
import { cleanup } from '../test/store/redis/cleanup.js';
import { machineLine } from './lib/index.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const url = flag('url', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const seconds = Number(flag('seconds', '10'));
const runs = Number(flag('runs', '2'));
const members = Number(flag('members', '3'));
const limit = Number(flag('limit', '60'));
const processes = process.argv.includes('--processes');
const modes = flag('modes', 'shared,alone').split(',') as ('shared' | 'alone' | 'fixed')[];
/** The rate of the `fixed` mode: what the fleet achieves with no adaptation, at a rate known to fit. */
const fixed = Number(flag('fixed', String(limit * 0.95)));

console.log(await machineLine());
console.log(`${members} members × 8 workers${processes ? ', one process each' : ', in one process'}, guess 200/s, hidden ${limit}/s, ${seconds} s per run\n`);
const prefix = `sluice-bench:adaptive-fleet:${randomBytes(4).toString('hex')}:`;
for (let run = 1; run <= runs; run++) {
  for (const mode of modes) {
    const guess = mode === 'fixed' ? fixed : 200;
    const runFleet = processes ? runAdaptiveFleetProcesses : runAdaptiveFleet;
    const r = await runFleet({ url, prefix: `${prefix}${run}:${mode}:`, members, mode, limit, guess, seconds, workers: 8 });
    const pct = (x: number): string => `${((100 * x) / limit).toFixed(0)} %`;
    console.log(
      `${mode.padEnd(6)}  run ${run}: ${r.rate.toFixed(1)}/s (${pct(r.rate)}), second half ${r.rateSecondHalf.toFixed(1)}/s (${pct(r.rateSecondHalf)}), ` +
        `429s ${r.throttled}/${r.ok + r.throttled} (${(100 * r.share429).toFixed(2)} %), final rates ${r.finalRates.map((x) => x.toFixed(1)).join(' / ')}, ` +
        `200s per member ${r.okPerMember.join(' / ')}, mock violations ${r.violations}`,
    );
    console.log(`        per second (200s/429s@rate): ${r.perSecond.map((b) => `${b.ok}/${b.throttled}@${b.rate.toFixed(0)}`).join(' ')}`);
  }
}
const client = new Redis(url);
await cleanup(client, prefix);
client.disconnect();
