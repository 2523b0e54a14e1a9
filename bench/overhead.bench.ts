/**
 * Overhead: how many trivial tasks (`async () => 1`) per second each limiter passes when
 * its limit never binds, and at concurrency 16 — 1,000,000 tasks submitted all at once,
 * and in batches of 10,000 (submit 10k, await them all, repeat).
 *
 * Libraries are grouped by the feature they offer: rate limiters are compared to sluice's
 * RateLimiter, concurrency limiters to sluice's ConcurrencyLimiter. Every contender runs
 * the same task function; each figure is the median of `--rounds` runs (default 3) in
 * this one process, interleaved so a noisy spell hits everyone alike.
 *
 * "+metrics" rows are the same sluice limiters measured by `sluice/otel` into an OpenTelemetry
 * MeterProvider, in the same run: metrics on against off — the time in queue recorded per
 * caller (the default), aggregated by a TimeInQueueProducer, or not measured. `--sluice-only`
 * runs only the sluice rows (and "no limiter").
 *
 *   node --expose-gc --import tsx bench/overhead.bench.ts [--tasks 1000000] [--rounds 3] [--sluice-only]
 */
import Bottleneck from 'bottleneck';
import { Sema } from 'async-sema';
import { bulkhead } from 'cockatiel';
import { RateLimiter as TokenLimiter } from 'limiter';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import pThrottle from 'p-throttle';
import { RateLimiterMemory, RateLimiterQueue } from 'rate-limiter-flexible';
import type { DataPoint } from '@opentelemetry/sdk-metrics';
import { ConcurrencyLimiter } from '../src/limiters/concurrency-limiter.js';
import { instrument, METRIC } from '../src/otel.js';
import { metricsSetup } from './lib/metrics-reader.js';
import { RateLimiter } from '../src/limiters/rate-limiter.js';
import { collect, flag, fmtNumber, machineLine, median, noise, now, printTable, Semaphore, type Row } from './lib/index.js';

const TASKS = flag('tasks', 1_000_000);
const ROUNDS = flag('rounds', 3);
const BATCH = 10_000;
/** A concurrency limit that never binds: more than the tasks submitted. */
const NEVER = 2 ** 21;
/** A rate that never binds: far more than any library here can pass. */
const NEVER_RATE = 1_000_000_000;

const task = async (): Promise<number> => 1;

/** The cap for peers that pass under ~150k tasks/s here: 200k tasks take them 1–4 s per column. */
const SLOW = 200_000;
const slow = { 'unlimited all': SLOW, 'c16 all': SLOW, 'unlimited batch': SLOW, 'c16 batch': SLOW };

type Submit = () => Promise<unknown>;
type Mode = 'unlimited' | 'c16';
type Feature = 'none' | 'rate' | 'concurrency';

interface Contender {
  name: string;
  feature: Feature;
  /** What this library's limit is, in its own terms. */
  note: string;
  /** A fresh limiter for the mode, or undefined if the library has no such feature. */
  make(mode: Mode): Submit | undefined;
  /**
   * Fewer tasks for libraries too slow (or quadratic) to pass a million in reasonable time.
   * Fewer tasks at once means a smaller heap, so a cap can only flatter the peer.
   */
  cap?: Partial<Record<string, number>>;
}

const SLUICE_RATE = 'sluice RateLimiter';
const SLUICE_CONCURRENCY = 'sluice ConcurrencyLimiter';
/**
 * Metrics on: what a user who exports them pays between two scrapes. The provider has a
 * reader, as an exporter's would be (without one the SDK aggregates nothing and a record
 * costs next to nothing); it is never collected during the run.
 */
/** The aggregated time in queue, registered with the reader as a user wires it; collected once at the end. */
const { timeInQueue, reader, meterProvider } = metricsSetup();
const metricsOn = instrument({ meterProvider });
/** The same, with the time in queue aggregated by sluice (a TimeInQueueProducer) instead of one SDK record per caller. */
const aggregatedOn = instrument({ meterProvider, timeInQueue });
/** The same, without the one per-caller measurement (time in queue). */
const countsOnly = instrument({ meterProvider, timeInQueue: false, fetch: false, resilience: false });
const SEMAPHORE_FLOOR = 'hand-written semaphore';
/** Not a library: what any rate limiter must at least do (read a clock), to show what that costs. */
const RATE_FLOOR = 'hand-written token bucket';

const allContenders: Contender[] = [
  { name: 'no limiter', feature: 'none', note: 'the task called directly', make: () => task },
  {
    name: SEMAPHORE_FLOOR,
    feature: 'concurrency',
    note: 'the floor (bench/lib/semaphore.ts)',
    make(mode) {
      const sem = new Semaphore(mode === 'c16' ? 16 : NEVER);
      return () => sem.run(task);
    },
  },
  {
    name: RATE_FLOOR,
    feature: 'rate',
    note: 'a rate floor: one clock read, a compare, then the call',
    make(mode) {
      if (mode !== 'unlimited') return undefined;
      const emission = 1000 / NEVER_RATE;
      let tat = 0;
      return () => {
        const t = performance.now();
        if (tat - t > emission) return Promise.reject(new Error('limited'));
        tat = Math.max(tat, t) + emission;
        return task();
      };
    },
  },
  {
    name: SLUICE_RATE,
    feature: 'rate',
    note: `sliding window (default), ${NEVER_RATE}/s`,
    make(mode) {
      if (mode !== 'unlimited') return undefined;
      const limiter = new RateLimiter({ limits: `${NEVER_RATE}/1s` });
      return () => limiter.run(task);
    },
  },
  {
    name: `${SLUICE_RATE} +metrics`,
    feature: 'rate',
    note: 'the same, measured by sluice/otel',
    make(mode) {
      if (mode !== 'unlimited') return undefined;
      const limiter = new RateLimiter({ limits: `${NEVER_RATE}/1s`, name: 'bench' });
      metricsOn.observe(limiter);
      return () => limiter.run(task);
    },
  },
  {
    name: 'sluice RateLimiter gcra',
    feature: 'rate',
    note: `token bucket, ${NEVER_RATE}/s`,
    make(mode) {
      if (mode !== 'unlimited') return undefined;
      const limiter = new RateLimiter({ limits: `${NEVER_RATE}/1s`, algorithm: 'gcra' });
      return () => limiter.run(task);
    },
  },
  {
    name: 'p-throttle',
    feature: 'rate',
    note: `fixed window, ${NEVER_RATE} per 1000 ms`,
    make(mode) {
      if (mode !== 'unlimited') return undefined;
      return pThrottle({ limit: NEVER_RATE, interval: 1000 })(task);
    },
  },
  {
    name: 'limiter',
    cap: slow,
    feature: 'rate',
    note: `token bucket, removeTokens(1) then call`,
    make(mode) {
      if (mode !== 'unlimited') return undefined;
      const limiter = new TokenLimiter({ tokensPerInterval: NEVER_RATE, interval: 'second' });
      return () => limiter.removeTokens(1).then(task);
    },
  },
  {
    name: 'rate-limiter-flexible',
    cap: slow,
    feature: 'rate',
    note: 'RateLimiterQueue over RateLimiterMemory',
    make(mode) {
      if (mode !== 'unlimited') return undefined;
      const queue = new RateLimiterQueue(new RateLimiterMemory({ points: NEVER_RATE, duration: 1 }), { maxQueueSize: NEVER });
      return () => queue.removeTokens(1).then(task);
    },
  },
  {
    name: 'p-queue interval',
    cap: slow,
    feature: 'rate',
    note: `intervalCap ${NEVER_RATE} per 1000 ms`,
    make(mode) {
      if (mode !== 'unlimited') return undefined;
      const queue = new PQueue({ interval: 1000, intervalCap: NEVER_RATE });
      return () => queue.add(task);
    },
  },
  {
    name: 'bottleneck reservoir',
    feature: 'rate',
    note: `reservoir ${NEVER_RATE}`,
    cap: { 'unlimited all': 2000, 'unlimited batch': 2000 },
    make(mode) {
      if (mode !== 'unlimited') return undefined;
      const limiter = new Bottleneck({ reservoir: NEVER_RATE });
      return () => limiter.schedule(task);
    },
  },
  {
    name: SLUICE_CONCURRENCY,
    feature: 'concurrency',
    note: 'run(fn)',
    make(mode) {
      const limiter = new ConcurrencyLimiter({ limit: mode === 'c16' ? 16 : NEVER });
      return () => limiter.run(task);
    },
  },
  {
    name: `${SLUICE_CONCURRENCY} +metrics`,
    feature: 'concurrency',
    note: 'the same, measured by sluice/otel',
    make(mode) {
      const limiter = new ConcurrencyLimiter({ limit: mode === 'c16' ? 16 : NEVER, name: `bench-${mode}` });
      metricsOn.observe(limiter);
      return () => limiter.run(task);
    },
  },
  {
    name: `${SLUICE_CONCURRENCY} +metrics, aggregated time in queue`,
    feature: 'concurrency',
    note: 'the same, instrument({ timeInQueue: new TimeInQueueProducer() })',
    make(mode) {
      const limiter = new ConcurrencyLimiter({ limit: mode === 'c16' ? 16 : NEVER, name: `bench-aggregated-${mode}` });
      aggregatedOn.observe(limiter);
      return () => limiter.run(task);
    },
  },
  {
    name: `${SLUICE_CONCURRENCY} +metrics, no time in queue`,
    feature: 'concurrency',
    note: "the same, instrument({ timeInQueue: false })",
    make(mode) {
      const limiter = new ConcurrencyLimiter({ limit: mode === 'c16' ? 16 : NEVER, name: `bench-counts-${mode}` });
      countsOnly.observe(limiter);
      return () => limiter.run(task);
    },
  },
  {
    name: 'cockatiel bulkhead',
    feature: 'concurrency',
    note: 'bulkhead(limit, Infinity).execute',
    // Its queue dequeues with Array.shift: past ~16k queued every dequeue copies the rest.
    cap: { 'c16 all': 100_000 },
    make(mode) {
      const policy = bulkhead(mode === 'c16' ? 16 : NEVER, Number.POSITIVE_INFINITY);
      return () => policy.execute(task);
    },
  },
  {
    name: 'async-sema',
    feature: 'concurrency',
    note: 'Sema: acquire, call, release',
    make(mode) {
      const sema = new Sema(mode === 'c16' ? 16 : TASKS + 1);
      return async () => {
        await sema.acquire();
        try {
          return await task();
        } finally {
          sema.release();
        }
      };
    },
  },
  {
    name: 'p-limit',
    cap: slow,
    feature: 'concurrency',
    note: 'pLimit(limit)',
    make(mode) {
      const limit = pLimit(mode === 'c16' ? 16 : Number.POSITIVE_INFINITY);
      return () => limit(task);
    },
  },
  {
    name: 'p-queue',
    cap: slow,
    feature: 'concurrency',
    note: 'PQueue({ concurrency }).add',
    make(mode) {
      const queue = new PQueue({ concurrency: mode === 'c16' ? 16 : Number.POSITIVE_INFINITY });
      return () => queue.add(task);
    },
  },
  {
    name: 'bottleneck',
    feature: 'concurrency',
    note: 'maxConcurrent',
    cap: { 'unlimited all': 2000, 'c16 all': 2000, 'unlimited batch': 2000, 'c16 batch': 2000 },
    make(mode) {
      const limiter = new Bottleneck({ maxConcurrent: mode === 'c16' ? 16 : null });
      return () => limiter.schedule(task);
    },
  },
];
const contenders = allContenders.filter((c) => !process.argv.includes('--sluice-only') || c.name.startsWith('sluice') || c.feature === 'none');

async function allAtOnce(submit: Submit, count: number): Promise<void> {
  const promises = new Array<Promise<unknown>>(count);
  for (let i = 0; i < count; i++) promises[i] = submit();
  await Promise.all(promises);
}

async function inBatches(submit: Submit, count: number): Promise<void> {
  const promises = new Array<Promise<unknown>>(BATCH);
  for (let done = 0; done < count; done += BATCH) {
    const size = Math.min(BATCH, count - done);
    promises.length = size;
    for (let i = 0; i < size; i++) promises[i] = submit();
    await Promise.all(promises);
  }
}

/** Tasks per second for one contender in one column, or undefined if it lacks the feature. */
async function measure(contender: Contender, mode: Mode, batched: boolean): Promise<number | undefined> {
  const submit = contender.make(mode);
  if (submit === undefined) return undefined;
  const count = Math.min(TASKS, contender.cap?.[`${mode} ${batched ? 'batch' : 'all'}`] ?? TASKS);
  await collect();
  const start = now();
  await (batched ? inBatches(submit, count) : allAtOnce(submit, count));
  return (count / (now() - start)) * 1000;
}

const columns = [
  { key: 'unlimited all', title: 'never binds, all at once', mode: 'unlimited', batched: false },
  { key: 'c16 all', title: 'concurrency 16, all at once', mode: 'c16', batched: false },
  { key: 'unlimited batch', title: 'never binds, batches of 10k', mode: 'unlimited', batched: true },
  { key: 'c16 batch', title: 'concurrency 16, batches of 10k', mode: 'c16', batched: true },
] as const;

async function main(): Promise<void> {
  console.log(`overhead: ${TASKS.toLocaleString('en-US')} tasks, ${ROUNDS} rounds — ${await machineLine()}`);
  const samples = new Map<string, number[]>();
  // Peers slower than a quarter of sluice in round 1 run once: noise cannot change their verdict.
  const once = new Set<string>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const column of columns) {
      for (const contender of contenders) {
        const key = `${contender.name}|${column.key}`;
        if (round > 0 && once.has(key)) continue;
        const value = await measure(contender, column.mode, column.batched);
        if (value === undefined) continue;
        const list = samples.get(key) ?? [];
        list.push(value);
        samples.set(key, list);
        process.stderr.write(`  round ${round + 1} ${column.key.padEnd(16)} ${contender.name.padEnd(28)} ${fmtNumber(value)}/s\n`);
      }
      if (round === 0) {
        for (const contender of contenders) {
          const ref = contender.feature === 'rate' ? SLUICE_RATE : SLUICE_CONCURRENCY;
          const mine = samples.get(`${contender.name}|${column.key}`)?.[0];
          const sluice = samples.get(`${ref}|${column.key}`)?.[0];
          if (!contender.name.startsWith('sluice') && mine !== undefined && sluice !== undefined && mine * 4 < sluice) {
            once.add(`${contender.name}|${column.key}`);
          }
        }
      }
    }
  }

  const rows: Row[] = contenders.map((contender) => {
    const values: Record<string, number | undefined> = {};
    for (const column of columns) {
      const list = samples.get(`${contender.name}|${column.key}`);
      values[column.key] = list === undefined ? undefined : median(list);
    }
    const ref = contender.name.startsWith('sluice') || contender.feature === 'none' ? undefined : contender.feature === 'rate' ? SLUICE_RATE : SLUICE_CONCURRENCY;
    const capped = Object.values(contender.cap ?? {}).some((n) => n !== undefined && n < TASKS);
    return { name: capped ? `${contender.name}*` : contender.name, note: contender.note, ref, values };
  });

  const noiseLine = [...samples.entries()]
    .filter(([key, list]) => list.length > 1 && key.startsWith('sluice'))
    .map(([key, list]) => `${key.replace('|', ' ')} ±${noise(list).toFixed(0)}%`)
    .join(', ');
  printTable(
    'Overhead (tasks/s, higher is better; ratio = sluice / this row, same feature)',
    columns.map((c) => ({ key: c.key, title: c.title })),
    rows,
    `Medians of ${ROUNDS} rounds; peers below a quarter of sluice in round 1 ran once. * = fewer tasks (too slow or ` +
      `quadratic for 1M): ${capNotes()}. Noise (half the range / median): ${noiseLine}.`,
  );
  console.log(`\nTargets: >= 1.5x the fastest peer with the same feature; >= 0.8x the hand-written floor in batches\n`);
  for (const line of verdicts(rows)) console.log(line);
  console.log('\nMetrics on against off (issue 16: within 2 %), ConcurrencyLimiter, this run:');
  for (const line of metricsVerdicts(samples)) console.log(line);
  console.log(await collectedOnce());
}

/**
 * Per column, each metrics row's tasks/s over plain ConcurrencyLimiter's: the ratio of the
 * medians, and each round's ratio (the rows of one round ran back to back, so a round's pair
 * shares its noisy spell).
 */
function metricsVerdicts(samples: ReadonlyMap<string, number[]>): string[] {
  const lines: string[] = [];
  for (const row of [`${SLUICE_CONCURRENCY} +metrics`, `${SLUICE_CONCURRENCY} +metrics, aggregated time in queue`, `${SLUICE_CONCURRENCY} +metrics, no time in queue`]) {
    if (!contenders.some((c) => c.name === row)) continue;
    const parts: string[] = [];
    for (const column of columns) {
      const on = samples.get(`${row}|${column.key}`);
      const off = samples.get(`${SLUICE_CONCURRENCY}|${column.key}`);
      if (on === undefined || off === undefined) continue;
      const ratio = median(on) / median(off);
      const rounds = on.map((v, i) => (off[i] === undefined ? '' : (v / off[i]!).toFixed(3))).join(' ');
      parts.push(`${column.key} ${ratio.toFixed(3)}x (rounds ${rounds}) ${ratio >= 0.98 ? 'within 2 %' : 'MISSED'}`);
    }
    lines.push(`- ${row.slice(SLUICE_CONCURRENCY.length + 1)}: ${parts.join('; ')}`);
  }
  return lines;
}

/** The aggregated histogram as the reader collects it: proof the producer held real data. */
async function collectedOnce(): Promise<string> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === METRIC.timeInQueue);
  const aggregated = metric.flatMap((m) => m.dataPoints as DataPoint<unknown>[]).filter((p) => String(p.attributes[METRIC.limiterAttr]).startsWith('bench-aggregated'));
  const callers = aggregated.reduce<number>((n, p) => n + (p.value as { count: number }).count, 0);
  return `Collected once at the end: the aggregated time in queue holds ${callers.toLocaleString('en-US')} waits in ${aggregated.length} series.`;
}

function capNotes(): string {
  return contenders
    .filter((c) => c.cap !== undefined)
    .map((c) => {
      const caps = Object.entries(c.cap!);
      const same = caps.length === columns.length && caps.every(([, n]) => n === caps[0]![1]);
      const what = same ? `${caps[0]![1]!.toLocaleString('en-US')} tasks` : caps.map(([k, n]) => `${k} ${n!.toLocaleString('en-US')}`).join(', ');
      return `${c.name} ${what}`;
    })
    .join('; ');
}

/** One line per (sluice limiter, column): its ratio to the best same-feature peer and to the floor. */
function verdicts(rows: readonly Row[]): string[] {
  const value = (name: string, key: string): number | undefined => {
    const v = rows.find((r) => r.name === name)?.values[key];
    return typeof v === 'number' ? v : undefined;
  };
  const lines: string[] = [];
  for (const column of columns) {
    for (const [sluice, feature] of [
      [SLUICE_RATE, 'rate'],
      [SLUICE_CONCURRENCY, 'concurrency'],
    ] as const) {
      const mine = value(sluice, column.key);
      if (mine === undefined) continue;
      let best: Row | undefined;
      for (const row of rows) {
        const c = contenders.find((x) => row.name.replace(/\*$/, '') === x.name)!;
        if (c.feature !== feature || c.name.startsWith('sluice') || c.name.startsWith('hand-written')) continue;
        const v = row.values[column.key];
        if (typeof v === 'number' && (best === undefined || v > (best.values[column.key] as number))) best = row;
      }
      const parts = [`${column.title}: ${sluice} ${fmtNumber(mine)}/s`];
      if (best !== undefined) {
        const ratio = mine / (best.values[column.key] as number);
        parts.push(`${ratio.toFixed(2)}x ${best.name} ${ratio >= 1.5 ? 'MET' : 'MISSED'}`);
      }
      const floor = value(SEMAPHORE_FLOOR, column.key);
      if (column.batched && floor !== undefined) {
        const ratio = mine / floor;
        parts.push(`${ratio.toFixed(2)}x the semaphore floor ${ratio >= 0.8 ? 'MET' : 'MISSED'}`);
      }
      const rateFloor = value(RATE_FLOOR, column.key);
      if (feature === 'rate' && rateFloor !== undefined) parts.push(`(${(mine / rateFloor).toFixed(2)}x the token-bucket floor)`);
      lines.push(`- ${parts.join('; ')}`);
    }
  }
  return lines;
}

await main();
