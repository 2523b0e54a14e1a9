/**
 * Where the Redis tests find Redis: REDIS_URL, else redis://127.0.0.1:6379. When it is not
 * reachable the Redis suites are skipped with a message — except under CI=true, where a
 * missing Redis is a failure, not a reason to pass. Each skip is also written to the file
 * SLUICE_REDIS_SKIP_LOG names, if set: `npm test` (scripts/run-tests.mjs) sets it and ends
 * the run with a notice no one can miss, since a green run without Redis has not checked
 * a single Lua twin against its TypeScript original.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The reply timeout of the stores in the parity suites (memory vs Redis, conformance,
 * reservations), which compare decisions, not timing: with the default 1 s a Redis reply
 * slowed past it on a loaded machine is answered by the outage policy instead, and the two
 * stores part ways for a reason the suites do not test (outage.test.ts and
 * late-reply.test.ts do).
 */
export const PARITY_TIMEOUT_MS = 60_000;

async function probe(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `Redis not reachable at ${REDIS_URL} (${(error as Error).message})`;
  } finally {
    client.disconnect();
  }
}

const problem = await probe();
if (problem !== undefined && process.env.CI === 'true') throw new Error(`${problem}; CI=true requires Redis`);
if (problem !== undefined) {
  console.warn(`skipping Redis tests: ${problem}; set REDIS_URL or start redis-server`);
  const log = process.env.SLUICE_REDIS_SKIP_LOG;
  // one line per test file that skipped: the file node --test runs, and why
  if (log !== undefined && log !== '') appendFileSync(log, `${relative(process.cwd(), process.argv[1] ?? '?')}\t${problem}\n`);
}

/** `false` when Redis is reachable; otherwise the reason, for `describe(name, { skip })`. */
export const skipRedis: string | false = problem ?? false;

/** A new client on REDIS_URL (or `options.port`), resolved once it is ready. */
export async function connect(options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, ...options });
  client.on('error', () => {}); // reconnects are expected in the outage tests; ioredis logs otherwise
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

/** A key prefix no other test run shares. */
export function uniquePrefix(name: string): string {
  return `sluice-test:${name}:${randomBytes(4).toString('hex')}:`;
}

export { cleanup } from './cleanup.js';

/** Every key under `prefix` with its TTL in ms (-1: none). */
export async function keysWithTtl(client: Redis, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    for (const key of keys) out.set(key, await client.pttl(key));
    cursor = next;
  } while (cursor !== '0');
  return out;
}
