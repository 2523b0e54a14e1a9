import type { RateStore } from '../store/store.js';

/**
 * openRedisStore: a RedisStore on `url` for `--redis`. ioredis is imported here, on demand,
 * so neither the core nor a harvest without --redis ever loads it; it is an optional peer
 * dependency, and a clear message says so when it is missing.
 */
export async function openRedisStore(url: string): Promise<{ store: RateStore; close(): Promise<void> }> {
  let Redis: typeof import('ioredis').Redis;
  try {
    ({ Redis } = await import('ioredis'));
  } catch {
    throw new Error('--redis needs the ioredis package: npm install ioredis');
  }
  const { RedisStore } = await import('../store/redis.js');
  const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  // Connection trouble is the store's to handle (it waits and retries); do not crash on the event.
  client.on('error', () => {});
  return {
    store: new RedisStore(client, { prefix: 'sluice:harvest:' }),
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
