// The Redis backend on a real Redis Cluster of three masters (.ci/run starts one on
// 127.0.0.1:7101–7103; REDIS_CLUSTER_NODES names another): hash tags, partitions spread over
// the masters, the rate scripts and the conformance tables, leases, distributed concurrency, NOSCRIPT after a flush on
// every master, and one master unavailable while the others keep deciding.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from 'ioredis';
import { RateLimiter, StoreUnavailableError } from '../../../src/index.js';
import { PartitionedRateLimiter, RedisConcurrencyLimiter, RedisStore } from '../../../src/redis.js';
import { TABLES } from '../conformance-tables.js';
import { cleanupCluster, connectCluster, keysByMaster, skipCluster } from './cluster-available.js';
import { leaseFleetProperty } from './lease-fleet.js';

const LIMITS = [{ rate: '5/1s', burst: 5 }, { rate: '50/1m', algorithm: 'gcra' as const, burst: 10 }, { rate: '500/1h', algorithm: 'fixed-window' as const }];

describe('on a Redis Cluster of three masters', { skip: skipCluster }, () => {
  let cluster: Cluster;
  const prefix = `sluice-test:cluster:${randomBytes(4).toString('hex')}:`;
  before(async () => {
    cluster = await connectCluster();
  });
  after(async () => {
    await cleanupCluster(cluster, prefix);
    cluster.disconnect();
  });

  /** The master (host:port) serving the slot of the hash tag `{tag}`. */
  async function masterOf(tag: string): Promise<string> {
    const slot = (await cluster.cluster('KEYSLOT', `{${tag}}`)) as number;
    return cluster.slots[slot]![0]!;
  }

  it("keeps every key of one limiter in one slot, and spreads a partitioned limiter's partitions over every master", async () => {
    const tenants = new PartitionedRateLimiter({ limits: LIMITS, store: new RedisStore(cluster, { prefix }), name: 'tenants' });
    for (let i = 0; i < 30; i++) await tenants.acquire(`tenant-${i}`);
    const byMaster = await keysByMaster(cluster, prefix);
    assert.equal([...byMaster.values()].filter((keys) => keys.length > 0).length, 3, `keys by master: ${JSON.stringify(Object.fromEntries(byMaster))}`);
    const byTag = new Map<string, string[]>();
    for (const key of [...byMaster.values()].flat()) {
      const tag = /\{[^}]*\}/.exec(key)![0];
      byTag.set(tag, [...(byTag.get(tag) ?? []), key]);
    }
    assert.equal(byTag.size, 30);
    for (const [tag, keys] of byTag) {
      assert.equal(keys.length, 3, `${tag}: one key per limit`);
      const slots = new Set(await Promise.all(keys.map((key) => cluster.cluster('KEYSLOT', key))));
      assert.equal(slots.size, 1, `${tag}: its keys share a slot`);
    }
  });

  it('decides every limit of a request at once, as on one Redis', async () => {
    const limiter = new RateLimiter({ limits: LIMITS, store: new RedisStore(cluster, { prefix }), key: 'multi' });
    const granted = [];
    for (let i = 0; i < 7; i++) granted.push((await limiter.tryAcquire()).granted);
    assert.deepEqual(granted, [true, true, true, true, true, false, false]);
  });

  it('the conformance tables: every step decides as on one Redis and as in memory, and every key has a TTL', async () => {
    for (const [n, table] of TABLES.entries()) {
      const store = new RedisStore(cluster, { prefix: `${prefix}conformance${n}:`, unsafeCallerClockForTests: true });
      for (const [i, step] of table.steps.entries()) {
        const wait = await store.reserve('k', table.limits, step.cost ?? 1, step.at);
        const label = `${table.name}, step ${i} (at ${step.at}, cost ${step.cost ?? 1})`;
        if (step.wait === Number.POSITIVE_INFINITY) assert.equal(wait, Number.POSITIVE_INFINITY, label);
        else assert.ok(Math.abs(wait - step.wait) < 1e-6, `${label}: expected ${step.wait}, got ${wait}`);
      }
    }
    for (const key of [...(await keysByMaster(cluster, `${prefix}conformance`)).values()].flat()) assert.ok((await cluster.pttl(key)) > 0, `${key} has no TTL`);
  });

  it('leases: a fleet of members never starts more than the limit allows', async () => {
    const leased = await leaseFleetProperty(cluster, prefix, 40);
    assert.ok(leased > 0, 'some starts were spent from leases');
  });

  it('reloads its scripts after SCRIPT FLUSH on every master (NOSCRIPT) and goes on deciding', async () => {
    const store = new RedisStore(cluster, { prefix });
    const tenants = new PartitionedRateLimiter({ limits: '1000/1s', store, name: 'flush' });
    for (let i = 0; i < 9; i++) await tenants.acquire(`t${i}`);
    for (const node of cluster.nodes('master')) await node.script('FLUSH');
    for (let i = 0; i < 9; i++) assert.equal((await tenants.tryAcquire(`t${i}`)).granted, true);
    assert.equal(store.stats().unavailable, 0);
  });

  it('distributed concurrency: at most `limit` leases across the cluster, released through pub/sub', async () => {
    const exports = new RedisConcurrencyLimiter(cluster, { prefix, key: 'exports', limit: 2, leaseMs: 1000 });
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        exports.run(async () => {
          most = Math.max(most, ++running);
          await new Promise((resolve) => setTimeout(resolve, 20));
          running--;
        }),
      ),
    );
    await exports.close();
    assert.equal(most, 2);
  });

  it('one master unavailable: its keys follow the outage policy, the keys on the others keep deciding', async () => {
    const store = new RedisStore(cluster, { prefix, onUnavailable: 'reject', timeoutMs: 200 });
    // two limiter keys on different masters
    const keys = Array.from({ length: 40 }, (_, i) => `outage-${i}`);
    const masters = await Promise.all(keys.map(masterOf));
    const paused = masters[0]!;
    const other = keys[masters.findIndex((master) => master !== paused)]!;
    const limiters = new Map([keys[0]!, other].map((key) => [key, new RateLimiter({ limits: '1000/1s', store, key })]));
    for (const limiter of limiters.values()) assert.equal((await limiter.tryAcquire()).granted, true);
    const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === paused)!;
    await node.call('CLIENT', 'PAUSE', '1000', 'ALL');
    await assert.rejects(limiters.get(keys[0]!)!.tryAcquire(), StoreUnavailableError, 'the paused master: the policy (reject)');
    assert.equal((await limiters.get(other)!.tryAcquire()).granted, true, 'another master still decides');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal((await limiters.get(keys[0]!)!.tryAcquire()).granted, true, 'after the pause, the first master decides again');
  });
});
