/**
 * Resilience overhead: what compose(retry, breaker, timeout) costs on a call that
 * succeeds, beside cockatiel 4's wrap(retry, circuitBreaker, timeout) and opossum 9
 * (a breaker with its built-in timeout; opossum has no retry). Every contender runs the
 * same task (`async () => 1`); "direct" is the task alone.
 *
 * Two shapes: calls one after another (latency overhead per call), and batches of 1,000
 * started together (the cost when many calls are in flight: one timer and signal each).
 * Each figure is the median of `--rounds` runs (default 3), interleaved in this one
 * process so a noisy spell hits everyone alike.
 *
 *   node --expose-gc --import tsx bench/resilience.bench.ts [--calls 200000] [--rounds 3]
 */
import {
  circuitBreaker as cockatielBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleAll,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import OpossumBreaker from 'opossum';
import { circuitBreaker, compose, retry, timeout } from '../src/policies/index.js';
import { collect, flag, median, noise, now } from './lib/measure.js';
import { fmtNumber, machineLine, printTable, type Row } from './lib/table.js';

const CALLS = flag('calls', 200_000);
const ROUNDS = flag('rounds', 3);
const BATCH = 1000;
const WARMUP = 100_000;

const task = async (): Promise<number> => 1;

interface Contender {
  name: string;
  note: string;
  /** A fresh policy stack; `close` releases what the library keeps running. */
  make(): { call: () => Promise<unknown>; close?: () => void };
}

const SLUICE = 'sluice';

const contenders: Contender[] = [
  { name: 'direct', note: 'the task alone', make: () => ({ call: task }) },
  {
    name: SLUICE,
    note: 'compose(retry, circuitBreaker, timeout)',
    make() {
      const policy = compose(retry({ attempts: 3 }), circuitBreaker({ consecutiveFailures: 5, openMs: 10_000 }), timeout(1000));
      return { call: () => policy.execute(task) };
    },
  },
  {
    name: 'cockatiel 4',
    note: 'wrap(retry, circuitBreaker, timeout)',
    make() {
      const policy = wrap(
        cockatielRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
        cockatielBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
        cockatielTimeout(1000, TimeoutStrategy.Aggressive),
      );
      return { call: () => policy.execute(task) };
    },
  },
  {
    name: 'opossum 9',
    note: 'CircuitBreaker with timeout (no retry)',
    make() {
      const breaker = new OpossumBreaker(task, { timeout: 1000, errorThresholdPercentage: 50, resetTimeout: 10_000 });
      return { call: () => breaker.fire(), close: () => breaker.shutdown() };
    },
  },
];

async function sequential(call: () => Promise<unknown>, n: number): Promise<number> {
  const start = now();
  for (let i = 0; i < n; i++) await call();
  return n / ((now() - start) / 1000);
}

async function batched(call: () => Promise<unknown>, n: number): Promise<number> {
  const start = now();
  const pending: Promise<unknown>[] = new Array<Promise<unknown>>(BATCH);
  for (let done = 0; done < n; done += BATCH) {
    for (let i = 0; i < BATCH; i++) pending[i] = call();
    await Promise.all(pending);
  }
  return n / ((now() - start) / 1000);
}

const shapes = { sequential, batched } as const;
type Shape = keyof typeof shapes;

async function main(): Promise<void> {
  console.log(await machineLine());
  console.log(`${fmtNumber(CALLS)} calls per figure, median of ${ROUNDS} rounds`);
  const figures = new Map<string, Record<Shape, number[]>>();
  for (const c of contenders) figures.set(c.name, { sequential: [], batched: [] });
  // Warm up every contender in both shapes until the JIT has optimised its code, so no
  // figure includes compilation (deeper call chains take longer to reach the optimiser).
  for (const c of contenders) {
    const { call, close } = c.make();
    await sequential(call, WARMUP);
    await batched(call, WARMUP);
    close?.();
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const shape of Object.keys(shapes) as Shape[]) {
      for (const c of contenders) {
        const { call, close } = c.make();
        await collect();
        figures.get(c.name)![shape].push(await shapes[shape](call, CALLS));
        close?.();
      }
    }
  }
  const direct = figures.get('direct')!;
  const rows: Row[] = contenders.map((c) => {
    const f = figures.get(c.name)!;
    const seq = median(f.sequential);
    return {
      name: c.name,
      note: c.note,
      ref: c.name === SLUICE || c.name === 'direct' ? undefined : SLUICE,
      values: {
        sequential: seq,
        batched: median(f.batched),
        overhead: c.name === 'direct' ? undefined : 1e9 / seq - 1e9 / median(direct.sequential),
        noise: `±${Math.max(noise(f.sequential), noise(f.batched)).toFixed(1)}%`,
      },
    };
  });
  printTable(
    'Resilience overhead on a call that succeeds (calls/s, higher is better; ratio = sluice / peer)',
    [
      { key: 'sequential', title: 'one at a time, calls/s' },
      { key: 'batched', title: `${BATCH} at once, calls/s` },
      { key: 'overhead', title: 'added ns per call', format: (v) => v.toFixed(0), ratio: false },
      { key: 'noise', title: 'noise', ratio: false },
    ],
    rows,
    'Ratios: sluice / peer, so above 1× sluice is faster. "added ns per call" is one-at-a-time latency above the direct call.',
  );
}

await main();
