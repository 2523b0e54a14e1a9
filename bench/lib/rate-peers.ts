/**
 * Rate limiters configured to "N starts per T ms", side by side: sluice and every peer
 * that has a rate feature, each in its own terms (the `note` says what that is). Used by
 * the accuracy and timer benchmarks; each `make()` returns a fresh limiter as a function
 * that runs a task once admitted.
 */
import Bottleneck from 'bottleneck';
import { RateLimit } from 'async-sema';
import { RateLimiter as TokenLimiter } from 'limiter';
import PQueue from 'p-queue';
import pThrottle from 'p-throttle';
import { RateLimiterMemory, RateLimiterQueue } from 'rate-limiter-flexible';
import { RateLimiter } from '../../src/limiters/rate-limiter.js';
import { preciseClock } from '../../src/core/clock.js';

export type Task = () => Promise<unknown>;
export type Limited = (task: Task) => Promise<unknown>;

export interface RatePeer {
  name: string;
  /** What the library's limit actually is with this configuration. */
  note: string;
  /** True for sluice's own rows. */
  sluice?: boolean;
  make(): Limited;
}

/** Every rate limiter, configured for `limit` starts per `intervalMs`, evenly paced where the library can. */
export function ratePeers(limit: number, intervalMs: number): RatePeer[] {
  const spacing = intervalMs / limit;
  return [
    {
      name: 'sluice sliding-window',
      note: `default: exact ${limit}/${intervalMs} ms log + pacing, burst 1, slack ${new RateLimiter({ limits: `${limit}/${intervalMs}ms` }).limits[0]!.slackMs} ms`,
      sluice: true,
      make() {
        const limiter = new RateLimiter({ limits: `${limit}/${intervalMs}ms` });
        return (task) => limiter.run(task);
      },
    },
    {
      name: 'sluice smooth 100ms',
      note: `the default plus smooth: '100ms' — never more than the limit's share in any window of 100 ms or longer`,
      sluice: true,
      make() {
        const limiter = new RateLimiter({ limits: `${limit}/${intervalMs}ms`, smooth: '100ms' });
        return (task) => limiter.run(task);
      },
    },
    {
      name: 'sluice smooth 100ms precise',
      note: `the same on preciseClock: the last millisecond of each wait on setImmediate (polls)`,
      sluice: true,
      make() {
        const limiter = new RateLimiter({ limits: `${limit}/${intervalMs}ms`, smooth: '100ms', clock: preciseClock });
        return (task) => limiter.run(task);
      },
    },
    {
      name: 'sluice sliding-window slack 1ms',
      note: `the same with the slack it had by default until 2026-12-01: min(1 ms, T/N/2) = ${Math.min(1, spacing / 2)} ms`,
      sluice: true,
      make() {
        const limiter = new RateLimiter({ limits: `${limit}/${intervalMs}ms`, slack: Math.min(1, spacing / 2) });
        return (task) => limiter.run(task);
      },
    },
    {
      name: 'sluice gcra',
      note: 'token bucket, burst 1',
      sluice: true,
      make() {
        const limiter = new RateLimiter({ limits: `${limit}/${intervalMs}ms`, algorithm: 'gcra' });
        return (task) => limiter.run(task);
      },
    },
    {
      name: 'p-throttle',
      note: `${limit} per ${intervalMs} ms window`,
      make() {
        const throttle = pThrottle({ limit, interval: intervalMs });
        return throttle((task: Task) => task());
      },
    },
    {
      name: 'p-throttle strict',
      note: `strict: ${limit} in any ${intervalMs} ms`,
      make() {
        const throttle = pThrottle({ limit, interval: intervalMs, strict: true });
        return throttle((task: Task) => task());
      },
    },
    {
      name: 'p-queue',
      note: `intervalCap ${limit} per ${intervalMs} ms (fixed windows)`,
      make() {
        const queue = new PQueue({ interval: intervalMs, intervalCap: limit });
        return (task) => queue.add(task);
      },
    },
    {
      name: 'p-queue strict',
      note: `strict: sliding ${intervalMs} ms window`,
      make() {
        const queue = new PQueue({ interval: intervalMs, intervalCap: limit, strict: true });
        return (task) => queue.add(task);
      },
    },
    {
      name: 'limiter',
      note: `token bucket of ${limit}, removeTokens(1)`,
      make() {
        const limiter = new TokenLimiter({ tokensPerInterval: limit, interval: intervalMs });
        return (task) => limiter.removeTokens(1).then(task);
      },
    },
    {
      name: 'rate-limiter-flexible',
      note: `RateLimiterQueue, ${limit} points per ${intervalMs / 1000} s (fixed window)`,
      make() {
        const queue = new RateLimiterQueue(new RateLimiterMemory({ points: limit, duration: intervalMs / 1000 }), { maxQueueSize: 1e9 });
        return (task) => queue.removeTokens(1).then(task);
      },
    },
    {
      name: 'async-sema RateLimit',
      note: `${limit} per ${intervalMs} ms, a timer per call`,
      make() {
        const wait = RateLimit(limit, { timeUnit: intervalMs });
        return (task) => wait().then(task);
      },
    },
    {
      name: 'async-sema uniform',
      note: `uniformDistribution: one per ${spacing} ms`,
      make() {
        const wait = RateLimit(limit, { timeUnit: intervalMs, uniformDistribution: true });
        return (task) => wait().then(task);
      },
    },
    {
      name: 'bottleneck',
      note: `minTime ${spacing} ms`,
      make() {
        const limiter = new Bottleneck({ minTime: spacing });
        return (task) => limiter.schedule(task);
      },
    },
  ];
}
