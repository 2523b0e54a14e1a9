import type { LimitSpec } from '../../algorithms/limit-spec.js';
import { indented, type LimitLua } from './limit-lua.js';

// Twin: src/algorithms/gcra.ts (GcraState, gcraWait) and rescaleTat in
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

/**
 * GCRA in Lua: the same math as src/algorithms/gcra.ts. State: a string key holding two
 * packed doubles {tat, emission} — the theoretical arrival time and the emission interval
 * it was counted in (so a changed rate carries the debt over in units, as rescaleTat does).
 * A missing key is a fresh limit, and a full bucket deletes its key. TTL: until tat.
 */
const STORE = `if tat$ <= now then
  -- tat <= now is a full bucket: the same as no key at all
  redis.call('DEL', KEYS[$])
else
  redis.call('SET', KEYS[$], struct.pack('<dd', tat$, e$), 'PX', ttl(tat$ - now))
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
  load: `local tat$, changed$ = -INF, false
do
  local s = redis.call('GET', KEYS[$])
  if s then
    local old_tat, old_e = struct.unpack('<dd', s)
    ${rescaleTat('tat$', 'old_tat', 'old_e', 'e$')}
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
${STORE}`,
  refund: `if tat$ ~= -INF then
  tat$ = math.max(now, tat$ - cost * e$)
  ${indented(STORE)}
end`,
};
