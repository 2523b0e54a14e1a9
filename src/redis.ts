// sluice/redis: the Redis backend. Re-exports only; importing it loads ioredis (an optional
// peer dependency), which the main entry never does.
export { RedisStore, type RedisStoreOptions, type UnavailablePolicy } from './store/redis.js';
export type { LeaseOptions } from './store/lease-book.js';
export { encodeKeyPart } from './store/redis-keys.js';
export type { RedisClient } from './store/redis-runner.js';
export { PartitionedRateLimiter, type PartitionedRateLimiterOptions } from './limiters/partitioned-limiter.js';
export {
  RedisConcurrencyLimiter,
  type RedisConcurrencyLimiterOptions,
  type LeasePermit,
  type RedisConcurrencyStats,
} from './limiters/redis-concurrency-limiter.js';
