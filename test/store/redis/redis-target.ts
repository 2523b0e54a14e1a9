/**
 * The one place a Redis suite gets its clients: a single Redis or a Redis Cluster, chosen by
 * SLUICE_REDIS_TARGET (`single`, the default, or `cluster`). `npm test` runs the Redis suites
 * once on each (scripts/run-tests.mjs), so every suite proves its claims on both backends with
 * the same lines. No probing here, so fleet workers (child processes) can import it cheaply;
 * redis-available.ts probes the target and decides whether the suites skip.
 *
 * An address names a target in one string a suite can hand to a child process:
 * `redis://host:port` (REDIS_URL) or `redis-cluster://host:port,host:port,…`
 * (REDIS_CLUSTER_NODES; `.ci/run` starts three masters on 127.0.0.1:7101–7103).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisTarget = 'single' | 'cluster';

/** What a suite talks to: either client; RedisStore and the limiters take both. */
export type TestClient = Redis | Cluster;

function targetFromEnv(): RedisTarget {
  const value = process.env.SLUICE_REDIS_TARGET ?? 'single';
  if (value === 'single' || value === 'cluster') return value;
  throw new Error(`SLUICE_REDIS_TARGET must be 'single' or 'cluster', got '${value}'`);
}

export const REDIS_TARGET: RedisTarget = targetFromEnv();

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const CLUSTER_NODES = (process.env.REDIS_CLUSTER_NODES ?? '127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103').split(',').map((node) => {
  const [host, port] = node.trim().split(':');
  return { host: host!, port: Number(port) };
});

const CLUSTER_SCHEME = 'redis-cluster://';

/** The address of the chosen target, for child processes (see connectTo). */
export const REDIS_ADDRESS = REDIS_TARGET === 'single' ? REDIS_URL : `${CLUSTER_SCHEME}${CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(',')}`;

/**
 * A new client on `address`, resolved once it is ready. `options` are each node's
 * connection options (for a Cluster: its redisOptions). Errors are swallowed: reconnects are
 * expected in the outage tests, and ioredis logs unhandled 'error' events otherwise.
 */
export async function connectTo(address: string, options: RedisOptions = {}): Promise<TestClient> {
  let client: TestClient;
  if (address.startsWith(CLUSTER_SCHEME)) {
    const nodes = address
      .slice(CLUSTER_SCHEME.length)
      .split(',')
      .map((node) => ({ host: node.split(':')[0]!, port: Number(node.split(':')[1]) }));
    client = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1, ...options } });
  } else {
    client = new Redis(address, { maxRetriesPerRequest: 1, ...options });
  }
  client.on('error', () => {});
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

/** Every master behind `client`: the client itself on a single Redis. */
export function mastersOf(client: TestClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Every key under `prefix` on every master (SCAN, not KEYS: never blocks a shared Redis). */
export async function keysUnder(client: TestClient, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const node of mastersOf(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      out.push(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  return out;
}

/** Every key under `prefix` with its TTL in ms (-1: none), on every master. */
export async function keysWithTtl(client: TestClient, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const key of await keysUnder(client, prefix)) out.set(key, await client.pttl(key));
  return out;
}

/** SCRIPT FLUSH on every master, as a restart or a failover to a fresh replica does. */
export async function flushScripts(client: TestClient): Promise<void> {
  for (const node of mastersOf(client)) await node.script('FLUSH');
}

/** How many times `command` ran, summed over every master (INFO commandstats is per server). */
export async function commandCalls(client: TestClient, command: string): Promise<number> {
  let calls = 0;
  for (const node of mastersOf(client)) calls += Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await node.info('commandstats'))?.[1] ?? 0);
  return calls;
}
