/**
 * Where the cluster suite finds a Redis Cluster: REDIS_CLUSTER_NODES, a comma-separated list
 * of host:port (`.ci/run` starts three masters on 127.0.0.1:7101–7103 and sets it), else
 * those three. When it does not answer with every slot served, the suite is skipped with a
 * message — except under CI=true, where a missing cluster is a failure. Not written to
 * `npm test`'s missing-Redis notice: that one says the parity suites did not run, which
 * they did on the single Redis.
 */
import { Cluster, type ClusterOptions } from 'ioredis';
import { CLUSTER_NODES } from './redis-target.js';

export { CLUSTER_NODES };

async function probe(): Promise<string | undefined> {
  const cluster = new Cluster(CLUSTER_NODES, { clusterRetryStrategy: () => null, redisOptions: { connectTimeout: 1000, maxRetriesPerRequest: 0 }, lazyConnect: true });
  cluster.on('error', () => {});
  try {
    await cluster.connect();
    const info = await cluster.cluster('INFO');
    return /cluster_state:ok/.test(info) ? undefined : `the Redis Cluster at ${describeNodes()} is not serving every slot`;
  } catch (error) {
    return `no Redis Cluster at ${describeNodes()} (${(error as Error).message})`;
  } finally {
    cluster.disconnect();
  }
}

function describeNodes(): string {
  return CLUSTER_NODES.map((node) => `${node.host}:${node.port}`).join(',');
}

const problem = await probe();
if (problem !== undefined && process.env.CI === 'true') throw new Error(`${problem}; CI=true requires it (.ci/run starts one)`);
if (problem !== undefined) {
  console.warn(`skipping the Redis Cluster tests: ${problem}; run .ci/run's cluster lines or set REDIS_CLUSTER_NODES`);
}

/** `false` when the cluster serves every slot; otherwise the reason, for `describe(name, { skip })`. */
export const skipCluster: string | false = problem ?? false;

/** A new Cluster client on CLUSTER_NODES, resolved once it is ready. */
export async function connectCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = new Cluster(CLUSTER_NODES, { ...options, redisOptions: { maxRetriesPerRequest: 1, ...options.redisOptions } });
  cluster.on('error', () => {});
  if (cluster.status !== 'ready') await new Promise((resolve) => cluster.once('ready', resolve));
  return cluster;
}

/** Every key under `prefix`, by the master that holds it (host:port). */
export async function keysByMaster(cluster: Cluster, prefix: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const node of cluster.nodes('master')) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    out.set(`${node.options.host}:${node.options.port}`, keys);
  }
  return out;
}

/** Deletes every key under `prefix` on every master. */
export async function cleanupCluster(cluster: Cluster, prefix: string): Promise<void> {
  for (const [, keys] of await keysByMaster(cluster, prefix)) for (const key of keys) await cluster.del(key);
}
