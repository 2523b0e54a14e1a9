// Twin: src/store/lua/fair-share.ts — the same math in Lua, which RedisStore runs with
// leases on; parity proven by test/store/redis/fair-share.test.ts. Change both, or neither.
import { gcraWait } from '../algorithms/gcra.js';
import { rescaleTat } from '../algorithms/limit-state.js';

/**
 * fairLevel: the max-min fair level of `capacity` among members asking `demands` (units per
 * ms; Infinity = all it can get) — the rate λ such that every member asking less than λ gets
 * its demand and every other gets λ: Σ min(dᵢ, λ) = capacity. Infinity when the demands fit
 * (Σ dᵢ ≤ capacity): nobody need be held back. This is how Doorman divides a resource among
 * its clients; a member that asks more than λ gets the rest of the budget, not more.
 */
export function fairLevel(demands: readonly number[], capacity: number): number {
  const sorted = [...demands].sort((a, b) => a - b);
  let left = capacity;
  for (let i = 0; i < sorted.length; i++) {
    const share = left / (sorted.length - i);
    if (sorted[i]! >= share) return share;
    left -= sorted[i]!;
  }
  return Number.POSITIVE_INFINITY;
}

/** One member's row in the fleet's table: what it last reported, and its own pacer. */
export interface MemberRow {
  /** Units/ms it asked for at its last call; Infinity: more than it got. */
  readonly demand: number;
  /** After this instant the member counts as gone (it stopped calling): its share is the others'. */
  readonly expiresAt: number;
  /** Its pacer's theoretical arrival time at `emission`. */
  readonly tat: number;
  /** Ms per unit at the member's share when `tat` was set; 0 = not held back. */
  readonly emission: number;
}

/**
 * MemberPace: one member's pacer for one call — the member's share of the limit as a GCRA
 * (one unit per `emission` ms, `toleranceMs` of slack, and any cost fits an idle pacer so
 * that no request is refused for ever).
 */
export interface MemberPace {
  tat: number;
  readonly emission: number;
  readonly toleranceMs: number;
}

/**
 * The pacer of `member` at `now`, asking `demand`: its share is the fair level among the
 * members whose rows have not expired, itself included with `demand`, times `headroom`. A
 * member alone is not held back (the limit itself is its share), nor is any while the
 * demands fit, nor one whose share with headroom is the whole limit.
 *
 * Why headroom: paced at exactly the fair level the members' pacers add up to the limit, and
 * every slot a member misses (descheduled, a late timer, its next caller not there yet) is
 * lost to the fleet, since every other member is at its own cap. Above it, the others take
 * what one leaves, and the limit itself (exact) decides among them.
 */
export function memberPace(rows: ReadonlyMap<string, MemberRow>, member: string, demand: number, capacity: number, headroom: number, toleranceMs: number, now: number): MemberPace {
  const demands: number[] = [];
  let tat = Number.NEGATIVE_INFINITY;
  let oldEmission = 0;
  for (const [name, row] of rows) {
    if (row.expiresAt <= now) continue;
    if (name === member) {
      tat = row.tat;
      oldEmission = row.emission;
    } else {
      demands.push(row.demand);
    }
  }
  demands.push(demand);
  const level = demands.length === 1 ? Number.POSITIVE_INFINITY : fairLevel(demands, capacity);
  // A pacer at the whole limit or above would only refuse bursts the limit allows.
  const emission = level * headroom < capacity ? 1 / (level * headroom) : 0;
  // A debt carries over in units when the share changes (as GCRA's rescaleTat); a member not
  // held back has none.
  if (oldEmission > 0) tat = emission === 0 ? Math.min(tat, now) : rescaleTat(tat, now, oldEmission, emission);
  return { tat, emission, toleranceMs };
}

/**
 * ms until `cost` fits the member's pacer (0 = now), at most `beatMs`: a member held back
 * asks again within it, so that it keeps reporting (a member silent for `keepMs` counts as
 * gone) — the heartbeat costs a refused call per beat.
 */
export function memberWait(pace: MemberPace, cost: number, now: number, beatMs: number): number {
  return Math.min(beatMs, gcraWait(pace.tat, now, cost, pace.emission, Math.max(pace.toleranceMs + pace.emission, cost * pace.emission)));
}

/** Records `cost` on the member's pacer. */
export function memberTake(pace: MemberPace, cost: number, now: number): void {
  pace.tat = Math.max(pace.tat, now) + cost * pace.emission;
}

/**
 * The member's row after a call at `now`: counted until `keepMs` (one lease period) after
 * it. A member held back asks again within `beatMs` < keepMs (memberWait), so a live one
 * keeps its row and a dead one's share is the others' at most keepMs after its last call.
 */
export function memberRow(pace: MemberPace, demand: number, keepMs: number, now: number): MemberRow {
  return { demand, expiresAt: now + keepMs, tat: pace.tat, emission: pace.emission };
}
