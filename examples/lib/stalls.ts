/**
 * watchStalls: the longest this process's event loop stalled since it was called. The mock an
 * example runs lives in the example's own process and counts a request when this loop reads
 * it; a stall longer than the limiter's arrival jitter (its margin) can make the mock count
 * a request in a window it did not start in — on a busy machine, what the margin does not
 * claim to cover, and why each example prints both.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export function watchStalls(): { longestMs(): number } {
  const delays = monitorEventLoopDelay({ resolution: 1 });
  delays.enable();
  return { longestMs: () => delays.max / 1e6 };
}
