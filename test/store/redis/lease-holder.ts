/**
 * Holds one distributed concurrency lease until killed; run as a child process by
 * concurrency.test.ts, which SIGKILLs it to show the slot comes back after the lease TTL.
 *
 * argv: url prefix key leaseMs
 */
import { Redis } from 'ioredis';
import { RedisConcurrencyLimiter } from '../../../src/redis.js';

const [url, prefix, key, leaseMs] = process.argv.slice(2);
const client = new Redis(url!);
client.on('error', () => {});
await new Promise((resolve) => client.once('ready', resolve));
const limiter = new RedisConcurrencyLimiter(client, { limit: 1, prefix, key, leaseMs: Number(leaseMs) });
await limiter.acquire();
process.send!('held');
setInterval(() => {}, 1000); // work forever, renewing the lease, until killed
