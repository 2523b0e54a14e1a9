import type { LimitSpec, MemoryStore } from '../../../src/index.js';
import type { RedisStore } from '../../../src/redis.js';

/**
 * A memory store's wait as RedisStore reports it: never below 1 µs, since 0 means admitted
 * (MIN_WAIT_MS in redis.ts).
 */
export function asRedisReports(wait: number): number {
  return wait > 0 ? Math.max(wait, 0.001) : wait;
}

/** The ops every memory-vs-Redis schedule has: a clock step, and a refund made to both stores. */
export type SharedOp = { kind: 'advance'; ms: number } | { kind: 'refund'; cost: number };

/**
 * Replays a schedule on a MemoryStore and a RedisStore (key 'k') side by side, from the same
 * instant: clock steps and refunds are made here, under the limits `specs()` gives; every
 * other op goes to `decide`, which asks both stores and compares (`at` names the op and the
 * instant for its assertion messages).
 */
export async function replayAlike<Op extends { kind: string }>(
  memory: MemoryStore,
  redis: RedisStore,
  ops: readonly Op[],
  specs: () => readonly LimitSpec[],
  decide: (op: Exclude<Op, SharedOp>, now: number, at: string) => void | Promise<void>,
): Promise<void> {
  let now = 1_000_000; // not 0: fixed windows are aligned to the clock
  for (const [i, op] of ops.entries()) {
    const shared = op as unknown as SharedOp;
    if (shared.kind === 'advance') now += shared.ms;
    else if (shared.kind === 'refund') {
      memory.refund('k', specs(), shared.cost, now);
      await redis.refund('k', specs(), shared.cost, now);
    } else {
      await decide(op as Exclude<Op, SharedOp>, now, `op ${i} at ${now}`);
    }
  }
}
