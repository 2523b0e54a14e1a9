/**
 * Holds one distributed concurrency lease until killed; run as a child process by
 * concurrency.test.ts, which SIGKILLs it to show the slot comes back after the lease TTL.
 *
 * argv: address (redis-target.ts) prefix key leaseMs
 */
import { RedisConcurrencyLimiter } from '../../../src/redis.js';
import { connectTo } from './redis-target.js';

const [url, prefix, key, leaseMs] = process.argv.slice(2);
const client = await connectTo(url!, { maxRetriesPerRequest: 20 }); // a single Redis or a Cluster (redis-target.ts)
const limiter = new RedisConcurrencyLimiter(client, { limit: 1, prefix, key, leaseMs: Number(leaseMs) });
await limiter.acquire();
process.send!('held');
setInterval(() => {}, 1000); // work forever, renewing the lease, until killed
