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
  /** Ms per unit of its pacer (its fair level times the headroom) when `tat` was set; 0 = not held back. */
  readonly emission: number;
  /** Its next turn at exactly its fair level (memberSpread). */
  readonly turn: number;
}

/**
 * MemberPace: one member's pacer for one call — its share of the limit as a GCRA (one unit
 * per `emission` ms, `toleranceMs` of slack; any cost fits an idle pacer, so that no request
 * is refused for ever) — and its turn at exactly its fair level.
 */
export interface MemberPace {
  tat: number;
  turn: number;
  readonly emission: number;
  readonly headroom: number;
  readonly toleranceMs: number;
  /** The longest finite wait answered in this call: when the member will ask again. */
  waitMs: number;
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
  let turn = Number.NEGATIVE_INFINITY;
  let oldEmission = 0;
  for (const [name, row] of rows) {
    if (row.expiresAt <= now) continue;
    if (name === member) {
      tat = row.tat;
      turn = row.turn;
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
  if (oldEmission > 0) {
    if (emission === 0) {
      tat = Math.min(tat, now);
      turn = Math.min(turn, now);
    } else {
      tat = rescaleTat(tat, now, oldEmission, emission);
      turn = rescaleTat(turn, now, oldEmission, emission);
    }
  }
  return { tat, turn, emission, headroom, toleranceMs, waitMs: 0 };
}

/** ms until `cost` fits the member's pacer (0 = now). */
export function memberWait(pace: MemberPace, cost: number, now: number): number {
  return gcraWait(pace.tat, now, cost, pace.emission, Math.max(pace.toleranceMs + pace.emission, cost * pace.emission));
}

/**
 * After the limit refused with `wait`: the later of that and the member's own turn. The
 * members the limit refuses at one instant would all ask again at the instant the next unit
 * frees, and all but one be refused again (the herd); each comes back at its own turn
 * instead, and a member behind its share (its turn past) at once.
 */
export function memberSpread(pace: MemberPace, wait: number, now: number): number {
  return Math.max(wait, pace.turn - now);
}

/** Notes a refusal's final `wait`: the member asks again then (memberRow). */
export function memberRefused(pace: MemberPace, wait: number): void {
  if (wait > pace.waitMs && wait < Number.POSITIVE_INFINITY) pace.waitMs = wait;
}

/** Records `cost` on the member's pacer and turn. */
export function memberTake(pace: MemberPace, cost: number, now: number): void {
  pace.tat = Math.max(pace.tat, now) + cost * pace.emission;
  pace.turn = Math.max(pace.turn, now) + cost * pace.emission * pace.headroom;
}

/**
 * The member's row after a call at `now`: counted until `keepMs` (one lease period) after
 * the latest instant it was told to ask again — a live member asks by then, so a dead one's
 * share is the others' at most keepMs after it would have asked.
 */
export function memberRow(pace: MemberPace, demand: number, keepMs: number, now: number): MemberRow {
  return { demand, expiresAt: now + pace.waitMs + keepMs, tat: pace.tat, emission: pace.emission, turn: pace.turn };
}

/** The limits of one reserve-shared call, as its loop consults them: a request's wait (0 = admitted), and recording it. */
export interface LimitsAtNow {
  wait(cost: number): number;
  take(cost: number): void;
}

/**
 * One reserve-shared call (lua/rate.ts with lua/fair-share.ts pasted in), request by request:
 * the limits' wait, spread to the member's turn if they refuse, the member's pacer, then
 * recording in both. Answers each request's wait (0 = admitted); stops at a refusal among
 * the first `inOrder`. The member's row after is memberRow(pace, …).
 */
export function decideShared(pace: MemberPace, limits: LimitsAtNow, costs: readonly number[], inOrder: number, now: number): number[] {
  const out: number[] = [];
  for (let q = 0; q < costs.length; q++) {
    const cost = costs[q]!;
    let wait = limits.wait(cost);
    if (wait > 0) wait = memberSpread(pace, wait, now);
    wait = Math.max(wait, memberWait(pace, cost, now));
    if (wait > 0) {
      out.push(wait);
      memberRefused(pace, wait);
      if (q < inOrder) break;
    } else {
      limits.take(cost);
      memberTake(pace, cost, now);
      out.push(0);
    }
  }
  return out;
}
