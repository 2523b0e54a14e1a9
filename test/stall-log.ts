/**
 * Where a real-time test's machine stopped: the intervals in which an event loop did not run,
 * or a server did not answer, for longer than a threshold. A throughput floor holds only
 * while the processes that make the throughput are running; on a machine with other work
 * (two CPU-bound processes beside the suite) whole seconds can go by in which they are not.
 * The floors are checked over the windows these logs show clean, not widened for all.
 */

/** [from, to] in epoch ms (performance.timeOrigin + performance.now()). */
export type Interval = readonly [number, number];

export const epochNow = (): number => performance.timeOrigin + performance.now();

/**
 * Logs this process's event-loop stalls: a tick every `tickMs`; a tick that comes more than
 * `thresholdMs` after the one before marks the gap between them as a stall.
 */
export function logLoopStalls(thresholdMs = 20, tickMs = 5): { stop(): Interval[] } {
  const stalls: Interval[] = [];
  let last = epochNow();
  const timer = setInterval(() => {
    const now = epochNow();
    if (now - last > thresholdMs + tickMs) stalls.push([last, now]);
    last = now;
  }, tickMs);
  return {
    stop() {
      clearInterval(timer);
      const now = epochNow();
      if (now - last > thresholdMs + tickMs) stalls.push([last, now]);
      return stalls;
    },
  };
}

/**
 * Logs a server's silences: `ping` is sent every `tickMs`, one at a time; a round trip over
 * `thresholdMs` marks its whole span as a stall (of the server, the probe or the machine —
 * either way the fleet could not be answered then).
 */
export function logServerStalls(ping: () => Promise<unknown>, thresholdMs = 20, tickMs = 5): { stop(): Promise<Interval[]> } {
  const stalls: Interval[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const sent = epochNow();
      await ping().catch(() => undefined);
      const answered = epochNow();
      if (answered - sent > thresholdMs) stalls.push([sent, answered]);
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return stalls;
    },
  };
}

/** How long, in ms, of [t, t + windowMs) some stall covers (overlapping stalls counted once). */
export function stalledMsIn(stalls: readonly Interval[], t: number, windowMs: number): number {
  const cut = stalls
    .map(([a, b]): Interval => [Math.max(a, t), Math.min(b, t + windowMs)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let reach = t;
  for (const [a, b] of cut) {
    if (b <= reach) continue;
    covered += b - Math.max(a, reach);
    reach = b;
  }
  return covered;
}

/** How many of `sorted` stamps fall in [t, t + windowMs). */
export function countIn(sorted: readonly number[], t: number, windowMs: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  let n = 0;
  for (let i = lo; i < sorted.length && sorted[i]! < t + windowMs; i++) n++;
  return n;
}
