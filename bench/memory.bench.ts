/**
 * Pending memory: 1,000,000 callers queued at once on a limit that will not admit them
 * for an hour (or a concurrency of 1 held by a task that never ends); heap bytes per
 * pending caller after a full GC, the caller's promises included (they are what a real
 * caller holds) but not the array that holds them (allocated before the baseline).
 *
 * Each contender runs in its own child process (this file with `--one <name>`), so a
 * library that leaves timers or a million closures behind cannot skew the next one.
 *
 *   node --expose-gc --import tsx bench/memory.bench.ts [--tasks 1000000]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Bottleneck from 'bottleneck';
import { Sema } from 'async-sema';
import { bulkhead } from 'cockatiel';
import { RateLimiter as TokenLimiter } from 'limiter';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import pThrottle from 'p-throttle';
import { RateLimiterMemory, RateLimiterQueue } from 'rate-limiter-flexible';
import { ConcurrencyLimiter } from '../src/limiters/concurrency-limiter.js';
import { RateLimiter } from '../src/limiters/rate-limiter.js';
import { flag, fmtInt, heapAfterGc, machineLine, median, printTable, Semaphore, type Row } from './lib/index.js';

const TASKS = flag('tasks', 1_000_000);
/** Keeps the contender's limiter reachable until the heap has been measured. */
let alive: unknown;

/** A task that never ends: it holds a concurrency slot for the whole measurement. */
const never = new Promise<never>(() => {});
/** The one function every `run(fn)`-style call queues. */
const fn = (): Promise<never> => never;

interface Contender {
  name: string;
  note: string;
  /** Sluice row this one is compared to. */
  ref?: string;
  /** Sets up a blocked limiter; returns the call that queues one more caller. */
  setup(): () => Promise<unknown>;
}

const RATE_RUN = 'sluice RateLimiter run(fn)';
const RATE_ACQUIRE = 'sluice RateLimiter acquire()';
const CONC_RUN = 'sluice ConcurrencyLimiter run(fn)';
const CONC_ACQUIRE = 'sluice ConcurrencyLimiter acquire()';

const contenders: Contender[] = [
  {
    name: 'bare promise + resolvers',
    note: 'the floor: the caller holds a promise, something holds its resolve and reject',
    setup() {
      const held: unknown[] = [];
      return () => new Promise((resolve, reject) => void held.push(resolve, reject));
    },
  },
  {
    name: 'hand-written semaphore',
    note: 'acquire(): a promise and its resolve in an array',
    setup() {
      const sem = new Semaphore(0);
      return () => sem.acquire();
    },
  },
  {
    name: RATE_RUN,
    note: `1/h, one shared fn`,
    setup() {
      const limiter = new RateLimiter({ limits: '1/1h' });
      void limiter.run(fn);
      return () => limiter.run(fn);
    },
  },
  {
    name: RATE_ACQUIRE,
    note: '1/h',
    setup() {
      const limiter = new RateLimiter({ limits: '1/1h' });
      void limiter.acquire();
      return () => limiter.acquire();
    },
  },
  {
    name: CONC_RUN,
    note: 'limit 1, held by a task that never ends',
    setup() {
      const limiter = new ConcurrencyLimiter({ limit: 1 });
      void limiter.run(fn);
      return () => limiter.run(fn);
    },
  },
  {
    name: CONC_ACQUIRE,
    note: 'limit 1, first permit never released',
    setup() {
      const limiter = new ConcurrencyLimiter({ limit: 1 });
      void limiter.acquire();
      return () => limiter.acquire();
    },
  },
  {
    name: 'cockatiel bulkhead',
    note: 'bulkhead(1, Infinity).execute(fn)',
    ref: CONC_RUN,
    setup() {
      const policy = bulkhead(1, Number.POSITIVE_INFINITY);
      return () => policy.execute(fn);
    },
  },
  {
    name: 'p-throttle',
    // A timer per pending call, each set for its slot: at 1/h a million slots overflow setTimeout.
    note: '1 per second (a timer per call; 1/h overflows), throttled(fn)',
    ref: RATE_RUN,
    setup() {
      const throttled = pThrottle({ limit: 1, interval: 1000 })(fn);
      return () => throttled();
    },
  },
  {
    name: 'p-limit',
    note: 'pLimit(1)(fn)',
    ref: CONC_RUN,
    setup() {
      const limit = pLimit(1);
      return () => limit(fn);
    },
  },
  {
    name: 'async-sema',
    note: 'Sema(1).acquire()',
    ref: CONC_ACQUIRE,
    setup() {
      const sema = new Sema(1);
      void sema.acquire();
      return () => sema.acquire();
    },
  },
  {
    name: 'p-queue',
    note: 'concurrency 1, add(fn)',
    ref: CONC_RUN,
    setup() {
      const queue = new PQueue({ concurrency: 1 });
      return () => queue.add(fn);
    },
  },
  {
    name: 'bottleneck',
    note: 'maxConcurrent 1, schedule(fn)',
    ref: CONC_RUN,
    setup() {
      const limiter = new Bottleneck({ maxConcurrent: 1 });
      return () => limiter.schedule(fn);
    },
  },
  {
    name: 'rate-limiter-flexible',
    note: 'RateLimiterQueue, 1 point per hour, removeTokens(1)',
    ref: RATE_ACQUIRE,
    setup() {
      const queue = new RateLimiterQueue(new RateLimiterMemory({ points: 1, duration: 3600 }), { maxQueueSize: TASKS + 1 });
      return () => queue.removeTokens(1);
    },
  },
  {
    name: 'limiter',
    note: '1 token per hour, removeTokens(1)',
    ref: RATE_ACQUIRE,
    setup() {
      const limiter = new TokenLimiter({ tokensPerInterval: 1, interval: 'hour' });
      return () => limiter.removeTokens(1);
    },
  },
];

/** In a child: queue TASKS callers on one contender, print bytes per pending caller, exit. */
async function measureOne(name: string): Promise<void> {
  const contender = contenders.find((c) => c.name === name);
  if (contender === undefined) throw new Error(`unknown contender ${name}`);
  const held = new Array<Promise<unknown> | undefined>(TASKS).fill(undefined);
  const submit = contender.setup();
  alive = submit;
  // Settle the limiter's own start-up (first admission, timers) before the baseline.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const before = await heapAfterGc();
  for (let i = 0; i < TASKS; i++) {
    held[i] = submit();
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  const after = await heapAfterGc();
  process.stdout.write(`${JSON.stringify({ bytes: (after - before) / TASKS, held: held.length, alive: typeof alive })}\n`);
  process.exit(0);
}

async function main(): Promise<void> {
  console.log(`memory: ${TASKS.toLocaleString('en-US')} pending callers, heap after GC — ${await machineLine()}`);
  const self = fileURLToPath(import.meta.url);
  const rows: Row[] = [];
  for (const contender of contenders) {
    const samples: number[] = [];
    for (let run = 0; run < flag('rounds', 1); run++) {
      const child = spawnSync(process.execPath, [...process.execArgv, self, '--one', contender.name, '--tasks', String(TASKS)], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      const line = child.stdout.trim().split('\n').pop() ?? '';
      if (child.status !== 0 || !line.startsWith('{')) {
        process.stderr.write(`  ${contender.name}: failed (${child.status}) ${child.stderr.slice(-400)}\n`);
        continue;
      }
      samples.push((JSON.parse(line) as { bytes: number }).bytes);
    }
    const bytes = median(samples);
    process.stderr.write(`  ${contender.name.padEnd(36)} ${bytes.toFixed(0)} B\n`);
    rows.push({ name: contender.name, note: contender.note, ref: contender.ref, values: { bytes } });
  }
  printTable(
    'Pending memory (heap bytes per pending caller after GC, lower is better; ratio = sluice / this row)',
    [{ key: 'bytes', title: 'bytes / pending', format: fmtInt }],
    rows,
    'Each row in its own process. The caller-held promise is included; the array holding the promises is not.',
  );
  console.log('\nTarget: <= 260 B per pending task\n');
  for (const name of [RATE_RUN, RATE_ACQUIRE, CONC_RUN, CONC_ACQUIRE]) {
    const bytes = rows.find((r) => r.name === name)?.values.bytes;
    if (typeof bytes === 'number') console.log(`- ${name}: ${bytes.toFixed(0)} B — ${bytes <= 260 ? 'MET' : 'MISSED'}`);
  }
}

const oneIndex = process.argv.indexOf('--one');
if (oneIndex >= 0) await measureOne(process.argv[oneIndex + 1]!);
else await main();
