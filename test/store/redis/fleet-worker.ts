/**
 * A member of a test fleet, run as a child process by fleet.test.ts. It connects, reports
 * 'ready' over IPC and waits for `{ startAt, endAt }` (epoch ms); then `callers` loops share
 * one RateLimiter over a RedisStore and acquire until endAt, stamping each start on a clock
 * every process shares (performance.timeOrigin + performance.now()). It answers with the
 * stamps, the store's stats and the longest its event loop stalled during the run.
 *
 * argv: address (redis-target.ts) prefix limits(JSON) storeOptions(JSON) callers
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RateLimiter, type LimitInput } from '../../../src/index.js';
import { RedisStore, type RedisStoreOptions } from '../../../src/redis.js';
import { logLoopStalls } from '../../stall-log.js';
import { connectTo } from './redis-target.js';

const [url, prefix, limits, storeOptions, callers] = process.argv.slice(2);
const epochNow = (): number => performance.timeOrigin + performance.now();

const client = await connectTo(url!); // a single Redis or a Cluster (redis-target.ts)
const store = new RedisStore(client, { ...(JSON.parse(storeOptions!) as RedisStoreOptions), prefix });
const limiter = new RateLimiter({ limits: JSON.parse(limits!) as LimitInput, store, key: 'fleet' });

const { startAt, endAt } = await new Promise<{ startAt: number; endAt: number }>((resolve) => {
  process.once('message', (message) => resolve(message as { startAt: number; endAt: number }));
  process.send!('ready');
});
await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - epochNow())));
const stalls = monitorEventLoopDelay({ resolution: 1 });
stalls.enable();
const stallLog = logLoopStalls();
const starts: number[] = [];
await Promise.all(
  Array.from({ length: Number(callers) }, async () => {
    while (epochNow() < endAt) {
      await limiter.acquire();
      const at = epochNow();
      if (at < endAt) starts.push(at);
    }
  }),
);
stalls.disable();
const stallIntervals = stallLog.stop();
client.disconnect();
process.send!({ starts, stats: store.stats(), maxStallMs: stalls.max / 1e6, stalls: stallIntervals }, () => process.disconnect());
