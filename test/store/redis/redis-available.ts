/**
 * Where the Redis tests find Redis: the target SLUICE_REDIS_TARGET chooses (redis-target.ts)
 * — REDIS_URL, else redis://127.0.0.1:6379; or with `cluster` the Redis Cluster at
 * REDIS_CLUSTER_NODES, else 127.0.0.1:7101–7103. When it is not reachable (a cluster: not
 * serving every slot) the Redis suites are skipped with a message — except under CI=true,
 * where a missing Redis is a failure, not a reason to pass. Each skip is also written to the
 * file SLUICE_REDIS_SKIP_LOG names, if set: `npm test` (scripts/run-tests.mjs) sets it and
 * ends the run with a notice no one can miss, since a green run without Redis has not
 * checked a single Lua twin against its TypeScript original.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { CLUSTER_NODES, connectTo, REDIS_ADDRESS, REDIS_TARGET, REDIS_URL, type TestClient } from './redis-target.js';

export { REDIS_URL, REDIS_ADDRESS, REDIS_TARGET, commandCalls, connectTo, flushScripts, keysUnder, keysWithTtl, mastersOf, type TestClient } from './redis-target.js';
export { cleanup } from './cleanup.js';

/**
 * The reply timeout of the stores in the parity suites (memory vs Redis, conformance,
 * reservations), which compare decisions, not timing: with the default 1 s a Redis reply
 * slowed past it on a loaded machine is answered by the outage policy instead, and the two
 * stores part ways for a reason the suites do not test (outage.test.ts and
 * late-reply.test.ts do).
 */
export const PARITY_TIMEOUT_MS = 60_000;

async function probeSingle(): Promise<string | undefined> {
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

async function probeCluster(): Promise<string | undefined> {
  const cluster = new Cluster(CLUSTER_NODES, { clusterRetryStrategy: () => null, redisOptions: { connectTimeout: 1000, maxRetriesPerRequest: 0 }, lazyConnect: true });
  cluster.on('error', () => {});
  try {
    await cluster.connect();
    const info = await cluster.cluster('INFO');
    return /cluster_state:ok/.test(info) ? undefined : `the Redis Cluster at ${REDIS_ADDRESS} is not serving every slot`;
  } catch (error) {
    return `no Redis Cluster at ${REDIS_ADDRESS} (${(error as Error).message})`;
  } finally {
    cluster.disconnect();
  }
}

const problem = REDIS_TARGET === 'single' ? await probeSingle() : await probeCluster();
const howToStart = REDIS_TARGET === 'single' ? 'set REDIS_URL or start redis-server' : "run .ci/run's cluster lines or set REDIS_CLUSTER_NODES";
if (problem !== undefined && process.env.CI === 'true') throw new Error(`${problem}; CI=true requires it (${howToStart})`);
if (problem !== undefined) {
  console.warn(`skipping Redis tests (target ${REDIS_TARGET}): ${problem}; ${howToStart}`);
  const log = process.env.SLUICE_REDIS_SKIP_LOG;
  // one line per test file that skipped: the file node --test runs, the target, and why
  if (log !== undefined && log !== '') appendFileSync(log, `${relative(process.cwd(), process.argv[1] ?? '?')}\t${REDIS_TARGET}\t${problem}\n`);
}

/** `false` when the target answers; otherwise the reason, for `describe(name, { skip })`. */
export const skipRedis: string | false = problem ?? false;

/** A new client on the target (single or cluster), resolved once it is ready. */
export async function connect(options: RedisOptions = {}): Promise<TestClient> {
  return connectTo(REDIS_ADDRESS, options);
}

/** A key prefix no other test run shares. */
export function uniquePrefix(name: string): string {
  return `sluice-test:${name}:${randomBytes(4).toString('hex')}:`;
}
