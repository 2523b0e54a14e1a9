/**
 * Start-time analysis for the accuracy and timer benchmarks. Times are ms from
 * `performance.now()`, recorded by the task itself as its first statement, so every
 * library is judged on when work really started, not on when it says it admitted it.
 */

/**
 * The most starts in any half-open window `[t, t + windowMs)`, over every t. A limit of
 * N per T is kept when this is at most N for windowMs = T.
 */
export function maxInWindow(starts: readonly number[], windowMs: number): number {
  const times = [...starts].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** The gaps between consecutive starts, sorted ascending. */
export function gaps(starts: readonly number[]): number[] {
  const times = [...starts].sort((a, b) => a - b);
  const out: number[] = [];
  for (let i = 1; i < times.length; i++) out.push(times[i]! - times[i - 1]!);
  return out.sort((a, b) => a - b);
}

/**
 * Achieved rate, in starts per second: the first start is free (a limiter with burst 1
 * may admit it at once), so the rate is (count - 1) over the span first → last start.
 */
export function achievedRate(starts: readonly number[]): number {
  if (starts.length < 2) return 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const t of starts) {
    first = Math.min(first, t);
    last = Math.max(last, t);
  }
  return ((starts.length - 1) / (last - first)) * 1000;
}
