import type { LimitSpec } from '../../algorithms/limit-spec.js';
import { indented, type LimitLua } from './limit-lua.js';

// Twin: src/algorithms/smoothing.ts — the same math; parity proven by
// test/store/redis/memory-vs-redis.test.ts.

/**
 * A limit's `smooth` rule in Lua: the same math as SmoothingState in
 * src/algorithms/smoothing.ts, pasted beside the limit's own algorithm as one more "limit"
 * of the request (rate.ts), with a key of its own.
 *
 * State: one list. Its last element is a header of six packed doubles {units, floor,
 * emission, span, last, top}: the units counted since the state was fresh, the largest lag
 * among starts at least G units old, the emission and G it was counted with (a change
 * starts afresh), the newest start's time and the largest lag recorded. Before it, oldest
 * first, the starts of the last G units: two packed doubles {units before it, lag} each.
 * TTL: until idle (SmoothingState.idleAt), when the state equals a fresh one.
 */

const HEADER = `struct.pack('<dddddd', units$, floor$, e$, span$, last$, top$)`;

/** Writes the header and the TTL, or deletes a state already equal to a fresh one. */
const STORE = `do
  local idle = top$ + (units$ + span$) * e$
  if idle <= now then
    redis.call('DEL', KEYS[$])
  else
    if exists$ then
      redis.call('LSET', KEYS[$], -1, ${HEADER})
    else
      redis.call('RPUSH', KEYS[$], ${HEADER})
      exists$ = true
    end
    redis.call('PEXPIRE', KEYS[$], ttl(idle - now))
  end
end`;

/** settle in smoothing.ts: folds starts now at least G units old into the floor. */
const SETTLE = `while exists$ do
  local h = redis.call('LINDEX', KEYS[$], 0)
  if #h ~= 16 then break end
  local mark, lag = struct.unpack('<dd', h)
  if not (units$ - mark >= span$ - EPS) then break end
  if lag > floor$ then floor$ = lag end
  redis.call('LPOP', KEYS[$])
  changed$ = true
end`;

/** take in smoothing.ts: records a start of `cost` at `now` and stores the state. */
const TAKE = `if now ~= last$ then
  local lag = now + lag$ - units$ * e$
  if lag > top$ then top$ = lag end
  local entry = struct.pack('<dd', units$, lag)
  if exists$ then
    -- the entry goes where the header was, the header after it
    redis.call('RPOP', KEYS[$])
    redis.call('RPUSH', KEYS[$], entry, ${HEADER})
  else
    redis.call('RPUSH', KEYS[$], entry, ${HEADER})
    exists$ = true
  end
  last$ = now
end
units$ = units$ + cost
${STORE}`;

/** refund in smoothing.ts: the newest start's units come back; an older start's, none. */
const REFUND = `if exists$ and (not at or at >= last$) then
  -- an older start's units are not given back (SmoothingState.refund)
  units$ = math.max(0, units$ - cost)
  -- starts whose units are all given back leave, newest first (index -2: the header is -1)
  while true do
    local h = redis.call('LINDEX', KEYS[$], -2)
    if not h or #h ~= 16 then break end
    local mark = struct.unpack('<d', h)
    if not (mark >= units$) then break end
    local header = redis.call('RPOP', KEYS[$])
    redis.call('RPOP', KEYS[$])
    redis.call('RPUSH', KEYS[$], header)
    last$ = -INF
  end
  ${indented(STORE)}
end`;

export const SMOOTHING: LimitLua = {
  params: [
    { name: 'e', about: 'emission: ms per unit' },
    { name: 'tol', about: '(burst − 1) · e, ms' },
    { name: 'span', about: 'G: the units smoothMs holds' },
    { name: 'lag', about: 'the start lag counted into each start, ms' },
  ],
  values(spec: LimitSpec, startLagMs: number): number[] {
    // as SmoothingState's constructor
    const emission = spec.intervalMs / spec.limit;
    const smoothMs = spec.smoothMs ?? 0;
    return [emission, (spec.burst - 1) * emission, (smoothMs * spec.limit) / spec.intervalMs, Math.min(startLagMs, smoothMs / 1000)];
  },
  load: `local units$, floor$, last$, top$ = 0, -INF, -INF, -INF
local exists$, changed$ = false, false
do
  local s = redis.call('LINDEX', KEYS[$], -1)
  if s then
    local u, f, old_e, old_span, l, t = struct.unpack('<dddddd', s)
    if old_e == e$ and old_span == span$ and not (t + (u + old_span) * old_e <= now) then
      units$, floor$, last$, top$ = u, f, l, t
      exists$ = true
    else
      -- idle (freshen in smoothing.ts), or a changed rate or window: start afresh
      redis.call('DEL', KEYS[$])
    end
  end
end`,
  wait: `do
  ${indented(SETTLE)}
  w = floor$ - tol$ + units$ * e$ - now
  if not (w > EPS) then w = 0 end
end`,
  save: `if changed$ then
  ${indented(STORE)}
end`,
  take: TAKE,
  // as a start now (SmoothingState.charge: take, which settles first)
  charge: `${SETTLE}\n${TAKE}`,
  refund: REFUND,
};
