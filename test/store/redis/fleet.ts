/** Runs fleet-worker.ts in child processes that start together; used by fleet.test.ts. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Interval } from '../../stall-log.js';

const WORKER = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

export interface FleetResult {
  /** Every start of every process, sorted (epoch ms). */
  starts: number[];
  startAt: number;
  endAt: number;
  stats: { late: number; unavailable: number }[];
  /** The longest any worker's event loop stalled during the run, ms. */
  maxStallMs: number;
  /** Every worker's event-loop stalls over 20 ms. */
  stalls: Interval[];
}

/** Starts `processes` workers, waits until all are connected, then runs them for `durationMs`. */
export async function runFleet(processes: number, durationMs: number, args: string[]): Promise<FleetResult> {
  const children: ChildProcess[] = [];
  const results: Promise<{ starts: number[]; stats: { late: number; unavailable: number }; maxStallMs: number; stalls: Interval[] }>[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < processes; i++) {
    const child = fork(WORKER, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    let onReady: () => void = () => {};
    ready.push(new Promise((resolve) => (onReady = resolve)));
    results.push(
      new Promise((resolve, reject) => {
        child.on('message', (message) => (message === 'ready' ? onReady() : resolve(message as never)));
        child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`fleet worker exited with ${code}`))));
        child.on('error', reject);
      }),
    );
  }
  await Promise.all(ready);
  const startAt = performance.timeOrigin + performance.now() + 200;
  const endAt = startAt + durationMs;
  for (const child of children) child.send({ startAt, endAt });
  const all = await Promise.all(results);
  return { starts: all.flatMap((r) => r.starts).sort((a, b) => a - b), startAt, endAt, stats: all.map((r) => r.stats), maxStallMs: Math.max(...all.map((r) => r.maxStallMs)), stalls: all.flatMap((r) => r.stalls) };
}

/** The most stamps in any half-open window [t, t + windowMs), and the t where it is. */
export function maxInWindow(sorted: readonly number[], windowMs: number): { count: number; at: number } {
  let count = 0;
  let at = Number.NaN;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++;
    if (hi - lo + 1 > count) {
      count = hi - lo + 1;
      at = sorted[lo]!;
    }
  }
  return { count, at };
}
