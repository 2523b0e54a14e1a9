import type { LimitSpec } from '../../algorithms/limit-spec.js';
import { indented, type LimitLua } from './limit-lua.js';

// Twin: src/algorithms/gcra.ts (GcraState, gcraWait) and rescaleTat and refundedTat in
// src/algorithms/limit-state.ts — the same math; parity proven by
// test/store/redis/memory-vs-redis.test.ts and test/store/redis/conformance.test.ts.

/**
 * Lua for `gcraWait` in src/algorithms/gcra.ts: sets `out` to the wait for `cost` units.
 * Also the sliding window's pacer.
 */
export function gcraWait(out: string, tat: string, cost: string, emission: string, tolerance: string): string {
  return `${out} = math.max(${tat}, now) + ${cost} * ${emission} - now - ${tolerance}; if not (${out} > EPS) then ${out} = 0 end`;
}

/** Lua for `rescaleTat` in limit-state.ts: sets `out` to `tat`, counted at emission `to` instead of `from`. */
export function rescaleTat(out: string, tat: string, from: string, to: string): string {
  return `if ${tat} - now > EPS and ${from} ~= ${to} then ${out} = now + ((${tat} - now) / ${from}) * ${to} else ${out} = ${tat} end`;
}

/** Lua for `refundedTat` in limit-state.ts: `tat` after `units` of one start come back, `later` bounding the starts after it. */
export function refundedTat(tat: string, units: string, emission: string, later: string): string {
  return `${tat} = math.max(now, ${tat} - ${units} * ${emission}, math.min(${tat}, ${later}))`;
}

/**
 * GCRA in Lua: the same math as src/algorithms/gcra.ts. State: a string key holding three
 * packed doubles {tat, emission, last} — the theoretical arrival time, the emission interval
 * it was counted in (so a changed rate carries the debt over in units, as rescaleTat does),
 * and when the newest start was recorded (a refund of it is exact; of an older one, none).
 * A missing key is a fresh limit, and a full bucket deletes its key — and with it `last`,
 * which GcraState.lastStart forgets then too. TTL: until tat. Key layout version 3 (redis.ts:
 * `:g3`): a version-2 key has no `last`, and is never read as one.
 */
const STORE = `if tat$ <= now then
  -- tat <= now is a full bucket: the same as no key at all
  redis.call('DEL', KEYS[$])
else
  redis.call('SET', KEYS[$], struct.pack('<ddd', tat$, e$, last$), 'PX', ttl(tat$ - now))
end`;

export const GCRA: LimitLua = {
  params: [
    { name: 'e', about: 'emission: ms per unit (interval / limit)' },
    { name: 'tol', about: 'tolerance, ms: burst · e + slack' },
    { name: 'burst', about: 'most units back to back' },
  ],
  values(spec: LimitSpec): number[] {
    // as GcraState's constructor
    const emission = spec.intervalMs / spec.limit;
    return [emission, spec.burst * emission + spec.slackMs, spec.burst];
  },
  load: `local tat$, last$, changed$ = -INF, -INF, false
do
  local s = redis.call('GET', KEYS[$])
  if s then
    local old_tat, old_e
    old_tat, old_e, last$ = struct.unpack('<ddd', s)
    ${rescaleTat('tat$', 'old_tat', 'old_e', 'e$')}
    -- a full bucket forgets its newest start (GcraState.lastStart)
    if tat$ <= now then last$ = -INF end
    -- a changed rate changes tat: keep it even if this request is refused
    changed$ = old_e ~= e$
  end
end`,
  wait: `if cost > burst$ then w = INF else
  ${gcraWait('w', 'tat$', 'cost', 'e$', 'tol$')}
end`,
  save: `if changed$ then
  ${indented(STORE)}
end`,
  take: `tat$ = math.max(tat$, now) + cost * e$
if now > last$ then last$ = now end
${STORE}`,
  refund: `if tat$ ~= -INF then
  -- the newest start's units come back whole; an older one's, none (GcraState.refund)
  local later = -INF
  if at and at < last$ then later = tat$ end
  ${refundedTat('tat$', 'cost', 'e$', 'later')}
  ${indented(STORE)}
end`,
  charge: `tat$ = math.max(tat$, now) + cost * e$
if at > last$ then last$ = at end
${STORE}`,
};
