/**
 * Timing, GC and heap helpers for the benchmarks. Run scripts with `--expose-gc` so
 * `collect()` can force full collections; without it heap figures are not meaningful.
 */

/** Milliseconds on the monotonic clock (the one sluice's systemClock uses). */
export const now = (): number => performance.now();

/** Runs `fn` once and returns how long it took, in ms (awaiting it if it is async). */
export async function timed(fn: () => unknown): Promise<number> {
  const start = now();
  await fn();
  return now() - start;
}

/** Forces full GCs until the heap stops shrinking; throws if node lacks --expose-gc. */
export async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run node with --expose-gc');
  // Let pending finalizers and promise callbacks run between collections.
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Heap bytes in use after a full collection. */
export async function heapAfterGc(): Promise<number> {
  await collect();
  return process.memoryUsage().heapUsed;
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0–100) of already sorted values, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** Spread of repeated figures as ±% of their median: (max - min) / 2 / median. */
export function noise(values: readonly number[]): number {
  if (values.length < 2) return 0;
  return ((Math.max(...values) - Math.min(...values)) / 2 / median(values)) * 100;
}

/** Reads `--name value` or `--name=value` from argv; `fallback` when absent. */
export function flag(name: string, fallback: number): number {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === `--${name}`) return Number(args[i + 1]);
    if (arg.startsWith(`--${name}=`)) return Number(arg.slice(name.length + 3));
  }
  return fallback;
}
