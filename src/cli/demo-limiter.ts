import { RateLimiter } from '../admission/rate-limiter.js';
import { ConcurrencyLimiter } from '../admission/concurrency.js';

/**
 * A short live demonstration of the admission core: 60 calls with latency that swings
 * between 50 and 400 ms, through a 20/s rate limit and at most 8 in flight. It prints
 * each second's starts, which stay at the limit whatever the latency does.
 */
export async function demoLimiter(log: (line: string) => void = console.log): Promise<void> {
  const rate = new RateLimiter({ limits: '20/s' });
  const concurrency = new ConcurrencyLimiter({ limit: 8 });
  const started: number[] = [];
  const t0 = performance.now();
  const call = async (i: number): Promise<number> => {
    started.push(performance.now() - t0);
    await new Promise((resolve) => setTimeout(resolve, i % 10 < 5 ? 50 : 400));
    return i;
  };
  log('sluice demo: 60 calls, limit 20/s, at most 8 in flight, latency 50–400 ms');
  await Promise.all(Array.from({ length: 60 }, (_, i) => rate.run(() => concurrency.run(() => call(i)))));
  const seconds = Math.ceil(started[started.length - 1]! / 1000);
  for (let s = 0; s < seconds; s++) {
    const n = started.filter((t) => t >= s * 1000 && t < (s + 1) * 1000).length;
    log(`  second ${s + 1}: ${String(n).padStart(2)} starts ${'█'.repeat(n)}`);
  }
  const most = maxInWindow(started, 1000);
  log(`most starts in any 1 s window: ${most} (limit 20); total ${(performance.now() - t0).toFixed(0)} ms`);
}

function maxInWindow(times: number[], window: number): number {
  let most = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= window) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}
