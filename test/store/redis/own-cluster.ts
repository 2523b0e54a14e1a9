/**
 * A private Redis Cluster for the failover test: three masters and three replicas on
 * 127.0.0.1:7201–7206 (ports no other suite uses), each a child process of the test so it can
 * be killed with SIGKILL, a short cluster-node-timeout so a replica is promoted within a few
 * seconds, and no persistence. The shared cluster on 7101–7103 has no replicas and is never
 * touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const OWN_CLUSTER_PORTS = [7201, 7202, 7203, 7204, 7205, 7206];

/** How long a master may be silent before the others count it failed (ms). */
export const NODE_TIMEOUT_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Why a cluster cannot be started here (no redis-server or redis-cli), or undefined. */
export function ownClusterUnavailable(): string | undefined {
  for (const tool of ['redis-server', 'redis-cli']) {
    const probe = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (probe.error !== undefined || probe.status !== 0) return `${tool} cannot be started here (${probe.error?.message ?? `exit ${probe.status}`})`;
  }
  return undefined;
}

function cli(port: number, ...args: string[]): string {
  const out = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 });
  return out.stdout ?? '';
}

export class OwnCluster {
  private readonly children = new Map<number, ChildProcess>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'sluice-own-cluster-'));

  /** Starts six servers, joins them as three masters with a replica each, and waits until every replica is in sync. */
  static async start(): Promise<OwnCluster> {
    const cluster = new OwnCluster();
    try {
      await cluster.boot();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  private async boot(): Promise<void> {
    for (const port of OWN_CLUSTER_PORTS) cli(port, 'shutdown', 'nosave'); // a server left by a crashed run of this test
    for (const port of OWN_CLUSTER_PORTS) {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`];
      args.push('--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no');
      // the keys of the other masters keep deciding while one master's slots have no server (docs/redis.md, Failover)
      args.push('--cluster-require-full-coverage', 'no');
      this.children.set(port, spawn('redis-server', args, { stdio: 'ignore' }));
    }
    for (const port of OWN_CLUSTER_PORTS) await this.until(() => cli(port, 'ping').startsWith('PONG'), `redis-server on ${port} did not start`);
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...OWN_CLUSTER_PORTS.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await this.until(() => OWN_CLUSTER_PORTS.every((port) => cli(port, 'cluster', 'info').includes('cluster_state:ok')), 'the cluster did not reach cluster_state:ok');
    await this.until(() => this.replicasInSync(), 'the replicas did not finish their first sync');
  }

  private replicasInSync(): boolean {
    const replicas = OWN_CLUSTER_PORTS.filter((port) => cli(port, 'role').startsWith('slave'));
    if (replicas.length !== 3 || !replicas.every((port) => /master_link_status:up/.test(cli(port, 'info', 'replication')))) return false;
    // and every node has heard of every replica (gossip), so CLUSTER SLOTS lists them
    return OWN_CLUSTER_PORTS.every((port) => cli(port, 'cluster', 'nodes').split('\n').filter((line) => /[ ,]slave /.test(line)).length === 3);
  }

  private async until(done: () => boolean, message: string, ms = 20_000): Promise<void> {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (done()) return;
    throw new Error(message);
  }

  /** host:port of every node, for a Cluster client. */
  get nodes(): { host: string; port: number }[] {
    return OWN_CLUSTER_PORTS.map((port) => ({ host: '127.0.0.1', port }));
  }

  /** The port of the master serving `key`'s slot, and of its replica (CLUSTER NODES: CLUSTER SLOTS leaves out a replica until it reports an offset). */
  masterAndReplicaOf(key: string): { master: number; replica: number } {
    const slot = Number(cli(OWN_CLUSTER_PORTS[0]!, 'cluster', 'keyslot', key).trim());
    // id host:port@bus flags master-id ping pong epoch link slot-range…
    const nodes = cli(OWN_CLUSTER_PORTS[0]!, 'cluster', 'nodes')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split(' '));
    const port = (fields: string[]): number => Number(fields[1]!.split('@')[0]!.split(':')[1]);
    const master = nodes.find((fields) =>
      fields.slice(8).some((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return from! <= slot && slot <= to!;
      }),
    )!;
    const replica = nodes.find((fields) => /slave/.test(fields[2]!) && fields[3] === master[0])!;
    return { master: port(master), replica: port(replica) };
  }

  /** Whether the server on `port` is a master now (ROLE), false when it does not answer. */
  isMaster(port: number): Promise<boolean> {
    const client = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 300, commandTimeout: 300 });
    client.on('error', () => {});
    return client
      .connect()
      .then(() => client.role())
      .then((role) => (role as string[])[0] === 'master')
      .catch(() => false)
      .finally(() => client.disconnect());
  }

  /** SIGKILL to the server on `port`: no goodbye to clients or replicas. Resolves once it has exited. */
  async kill(port: number): Promise<void> {
    const child = this.children.get(port);
    this.children.delete(port);
    if (child === undefined || child.exitCode !== null) return;
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGKILL');
    });
  }

  /** Kills every server and removes their files. */
  async stop(): Promise<void> {
    await Promise.all([...this.children.keys()].map((port) => this.kill(port)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
