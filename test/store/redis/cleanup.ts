import { Cluster, type Redis } from 'ioredis';

/**
 * Deletes every key under `prefix` on every master (SCAN, not KEYS: never blocks a shared
 * Redis). On a Cluster one key per DEL: a master holds many slots, and a DEL of keys in
 * different slots is refused (CROSSSLOT) even when one master holds them all.
 */
export async function cleanup(client: Redis | Cluster, prefix: string): Promise<void> {
  const perKey = client instanceof Cluster;
  for (const node of client instanceof Cluster ? client.nodes('master') : [client]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0 && perKey) await Promise.all(keys.map((key) => node.del(key)));
      else if (keys.length > 0) await node.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}
