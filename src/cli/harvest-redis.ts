import { redactText } from '../core/redact.js';
import type { RateStore } from '../store/store.js';

/** How long `--redis` may take to answer at the start before the harvest gives up on it. */
export const REDIS_CONNECT_TIMEOUT_MS = 5000;

/**
 * openRedisStore: a RedisStore on `url` for `--redis`. ioredis is imported here, on demand,
 * so neither the core nor a harvest without --redis ever loads it; it is an optional peer
 * dependency, and a clear message says so when it is missing.
 *
 * The first connection must succeed within REDIS_CONNECT_TIMEOUT_MS, or the harvest stops
 * before any request, naming Redis and where it was looked for (never its password). Once
 * connected, a connection lost mid-run is retried; meanwhile the store's policy holds
 * (wait, never admit unlimited).
 */
export async function openRedisStore(url: string): Promise<{ store: RateStore; close(): Promise<void> }> {
  let Redis: typeof import('ioredis').Redis;
  try {
    ({ Redis } = await import('ioredis'));
  } catch {
    throw new Error('--redis needs the ioredis package: npm install ioredis');
  }
  const { RedisStore } = await import('../store/redis.js');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: REDIS_CONNECT_TIMEOUT_MS, retryStrategy: () => null });
  let trouble: Error | undefined;
  // Connection trouble is the store's to handle (it waits and retries); do not crash on the event.
  client.on('error', (error: Error) => {
    trouble = error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${REDIS_CONNECT_TIMEOUT_MS / 1000} s`)), REDIS_CONNECT_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    client.disconnect();
    const why = (trouble as NodeJS.ErrnoException | undefined)?.code ?? trouble?.message ?? (error as Error).message;
    throw new Error(`--redis: cannot reach Redis at ${whereOf(url)} (${redactText(why)}); is it running, and is the URL right? Nothing was fetched`);
  } finally {
    clearTimeout(timer);
  }
  client.options.retryStrategy = (times: number) => Math.min(times * 100, 2000);
  return {
    store: new RedisStore(client, { prefix: 'sluice:harvest:' }),
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** host:port of a Redis URL, without its credentials. */
function whereOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'the --redis URL';
  }
}
