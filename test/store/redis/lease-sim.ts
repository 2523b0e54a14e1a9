// A fleet of members with leases on virtual time (unsafeCallerClockForTests): each member is
// a RedisStore of its own, asking as a RateLimiter's one caller would (spendHeld, else
// reserveInOrder), one event at a time in time order. The decisions are Redis's own, the
// clock is the test's: what it measures — shares, calls per admission, how soon survivors
// take a dead member's part — is the mechanism's, not this machine's load.
import { toLimitSpecs, type LimitSpec } from '../../../src/index.js';
import { RedisStore, type RedisClient } from '../../../src/redis.js';

/** What a member wants at virtual time `t`: every unit it can get, one start per `gapMs`, or nothing (dead or gone). */
export type Want = { kind: 'greedy' } | { kind: 'light'; gapMs: number } | { kind: 'none' };

export interface SimOptions {
  members: number;
  /** e.g. '1000/1s' */
  rate: string;
  durationMs: number;
  /** What member `i` wants at `t`. */
  want: (member: number, t: number) => Want;
  /** A round trip to Redis, virtual ms: after an answer the member's next ask is this much later. */
  rttMs?: number;
  /** Members that die (kill -9) at `at`: their leases are neither spent nor given back. */
  kill?: { at: number; members: readonly number[] } | undefined;
}

export interface SimResult {
  /** Each member's start times. */
  starts: number[][];
  /** Script calls each member made (refunds included). */
  calls: number[];
  /** Each member's RedisStore stats at the end. */
  stats: ReturnType<RedisStore['stats']>[];
}

/** Counts every script call a member's client makes. */
function counting(client: RedisClient): { client: RedisClient; calls: () => number } {
  let calls = 0;
  const wrapped = new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if ((prop === 'evalsha' || prop === 'eval') && typeof value === 'function') {
        return (...args: unknown[]) => {
          calls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { client: wrapped, calls: () => calls };
}

export async function simulateFleet(client: RedisClient, prefix: string, key: string, options: SimOptions): Promise<SimResult> {
  const rttMs = options.rttMs ?? 0.5;
  const specs: LimitSpec[] = toLimitSpecs([options.rate], {});
  const members = Array.from({ length: options.members }, () => {
    const counted = counting(client);
    return { store: new RedisStore(counted.client, { prefix, lease: true, unsafeCallerClockForTests: true }), calls: counted.calls, next: 1_000, starts: [] as number[] };
  });
  const start = 1_000;
  const end = start + options.durationMs;
  const killed = new Set<number>();
  for (;;) {
    // The member whose next ask is earliest.
    let i = -1;
    for (let m = 0; m < members.length; m++) if (!killed.has(m) && (i < 0 || members[m]!.next < members[i]!.next)) i = m;
    if (i < 0) break;
    const member = members[i]!;
    const now = member.next;
    if (now >= end) break;
    if (options.kill !== undefined && now - start >= options.kill.at) for (const m of options.kill.members) killed.add(m);
    if (killed.has(i)) continue;
    const want = options.want(i, now - start);
    if (want.kind === 'none') {
      member.next = now + 1;
      continue;
    }
    if (member.store.spendHeld(key, specs, 1, now)) {
      member.starts.push(now - start);
      member.next = now + (want.kind === 'light' ? want.gapMs : 0.01);
      continue;
    }
    const [wait] = await member.store.reserveInOrder(key, specs, [1], now);
    if (wait === 0) {
      member.starts.push(now - start);
      member.next = now + (want.kind === 'light' ? Math.max(rttMs, want.gapMs) : rttMs);
    } else {
      member.next = now + Math.max(rttMs, wait!);
    }
  }
  for (const [m, member] of members.entries()) if (!killed.has(m)) await member.store.close(end);
  return { starts: members.map((m) => m.starts), calls: members.map((m) => m.calls()), stats: members.map((m) => m.store.stats()) };
}

/** Starts of `starts` (ms from the run's start) in [from, to). */
export function countIn(starts: readonly number[], from: number, to: number): number {
  let n = 0;
  for (const t of starts) if (t >= from && t < to) n++;
  return n;
}
