import type { LimitSpec } from '../../algorithms/limit-spec.js';
import { emissionOf, QUANTUM_SHARE } from '../../algorithms/sliding-window.js';
import { gcraWait, refundedTat, rescaleTat } from './gcra.js';
import { indented, type LimitLua } from './limit-lua.js';

// Twin: src/algorithms/sliding-window.ts — the same math; parity proven by
// test/store/redis/memory-vs-redis.test.ts, test/store/redis/sliding-window-log.test.ts and
// test/store/redis/conformance.test.ts.

/**
 * Sliding window log, paced, in Lua: the same math as src/algorithms/sliding-window.ts.
 *
 * State: one list per limit. Its last element is a header of seven packed doubles {tat,
 * emission, span, sum, last, oldest, first}: the pacer as in gcra.ts, the span the log was
 * kept for, the cost in the log, the times of the log's newest and oldest entries (-INF /
 * INF while it is empty), and the first start in the newest entry (-INF while empty).
 * Before it, oldest first, the log: one element per bucket of starts (QUANTUM_SHARE in
 * sliding-window.ts: a start less than `q` after the newest entry's first start joins that
 * entry, whose time becomes the latest start), two packed doubles {time, cost} (16 bytes;
 * the header is 56). Times increase along the log. Knowing the oldest start, most calls
 * read nothing but the header; recording a start in a new entry puts it in the old
 * header's place and the new header after it. TTL: until the pacer is full and the newest
 * start has left the window.
 *
 * The key layout is version 3 (redis.ts: `:s3`): a version-2 key has a six-double header,
 * and is never read as one.
 *
 * The window is `span$` = intervalMs + the larger of the store's start lag and the limit's
 * arrival jitter: a start decided here happens in the caller a little later, and reaches
 * the server later still, not always equally late; counting it that much longer keeps the
 * limit in every window of the callers' start times and of the server's arrivals
 * (spanOf in sliding-window.ts). With lag 0 this is MemoryStore.
 */

const HEADER = `struct.pack('<ddddddd', tat$, e$, span$, sum$, last$, oldest$, first$)`;

/**
 * Sets the local `out` to when a start at `t` leaves the window: leavesAt in
 * sliding-window.ts, the same two steps (2^-52 is Number.EPSILON).
 */
function leaves(out: string, t: string): string {
  return `local ${out} = ${t} + span$
if ${out} - ${t} < span$ then ${out} = ${out} + math.abs(${out}) * 2^-52 end`;
}

/**
 * Writes the header and the TTL, or deletes a state already equal to a fresh one. `newest`:
 * the time of the newest start as SlidingWindowState.idleAt sees it.
 */
function store(newest: string): string {
  return `do
  ${indented(leaves('gone', newest))}
  local idle = math.max(tat$, gone)
  if idle <= now then
    redis.call('DEL', KEYS[$])
  else
    redis.call('LSET', KEYS[$], -1, ${HEADER})
    redis.call('PEXPIRE', KEYS[$], ttl(idle - now))
  end
end`;
}

/** expire in sliding-window.ts: drops starts that have left, judged by leavesAt as there. */
const EXPIRE = `${leaves('oldest_leaves', 'oldest$')}
if oldest_leaves <= now then
  -- the oldest start has left: pop it and look at the next (most calls drop one start)
  local _, c = struct.unpack('<dd', redis.call('LPOP', KEYS[$]))
  sum$ = sum$ - c
  local nx = redis.call('LINDEX', KEYS[$], 0)
  oldest$ = INF
  if #nx == 16 then oldest$ = struct.unpack('<d', nx) end
  ${indented(leaves('next_leaves', 'oldest$'))}
  if next_leaves <= now then
    -- many have left (a quiet spell after a busy one): read on in growing chunks
    local gone, chunk, more = 0, 4, true
    while more do
      local h = redis.call('LRANGE', KEYS[$], gone, gone + chunk - 1)
      more = #h == chunk
      for j = 1, #h do
        if #h[j] ~= 16 then
          oldest$ = INF
          more = false
          break
        end
        local t, c2 = struct.unpack('<dd', h[j])
        ${indented(indented(indented(indented(leaves('t_leaves', 't')))))}
        if t_leaves > now then
          oldest$ = t
          more = false
          break
        end
        sum$ = sum$ - c2
        gone = gone + 1
      end
      if chunk < 64 then chunk = chunk * 2 end
    end
    redis.call('LTRIM', KEYS[$], gone, -1)
  end
  -- the header must be written: its oldest start has changed
  changed$ = true
end
if oldest$ == INF then
  -- the log is empty: drop accumulated float error; the next start opens a bucket
  sum$ = 0
  last$ = -INF
  first$ = -INF
end`;

/**
 * entryOf in sliding-window.ts, for a start still in the window: from the newest entry (list
 * index -2; the header is -1), the oldest whose time is at or after `at` — its index `found`
 * (nil if none), time `ft` and cost `fc` — and `from_found`, the cost from it to the newest.
 * The four are declared by the fragment that pastes it.
 */
const ENTRY_OF = `local j = -2
local x = redis.call('LINDEX', KEYS[$], j)
while x and #x == 16 do
  local t, c = struct.unpack('<dd', x)
  if t < at then break end
  found, ft, fc = j, t, c
  from_found = from_found + c
  j = j - 1
  x = redis.call('LINDEX', KEYS[$], j)
end`;

/** record in sliding-window.ts: a start of `cost` at `now` into the pacer and the log, leaving the locals true to the state. */
const TAKE = `tat$ = math.max(tat$, now) + cost * e$
sum$ = sum$ + cost
do
  if now < first$ + q$ or now <= last$ then
    -- less than q after the newest entry's first start (or not after its time): add to
    -- that entry, the one before the header; its time becomes the latest start
    local _, c = struct.unpack('<dd', redis.call('LINDEX', KEYS[$], -2))
    if now > last$ then
      -- times increase along the log: the newest entry is also the oldest only when alone
      if oldest$ == last$ then oldest$ = now end
      last$ = now
    end
    redis.call('LSET', KEYS[$], -2, struct.pack('<dd', last$, c + cost))
    redis.call('LSET', KEYS[$], -1, ${HEADER})
  else
    last$ = now
    first$ = now
    if oldest$ == INF then oldest$ = now end
    -- the entry goes where the old header was, the new header after it (RPOP and RPUSH
    -- cost Redis less than an LSET)
    if exists$ then redis.call('RPOP', KEYS[$]) end
    redis.call('RPUSH', KEYS[$], struct.pack('<dd', now, cost), ${HEADER})
    -- the list exists now: a second take in the same script (reserveMany) must replace its header
    exists$ = true
  end
  redis.call('PEXPIRE', KEYS[$], ttl(math.max(tat$, last$ + span$) - now))
  -- how full the window is now (FILL, declared by rate.ts), for the client's start-lag check
  local fill = sum$ / limit$
  if fill > FILL then FILL = fill end
end`;

export const SLIDING_WINDOW: LimitLua = {
  params: [
    { name: 'limit', about: 'most units in any window' },
    { name: 'e', about: "the pacer's emission: ms per unit" },
    { name: 'tol', about: "the pacer's tolerance, ms" },
    { name: 'burst', about: "the pacer's burst" },
    { name: 'span', about: 'the window each start is counted for: interval + max(start lag, arrival jitter), ms' },
    { name: 'q', about: 'the bucket quantum, ms (interval / QUANTUM_SHARE)' },
  ],
  values(spec: LimitSpec, startLagMs: number): number[] {
    // as SlidingWindowState's constructor (spanOf): each start is counted the larger of the
    // start lag and the limit's arrival jitter longer; the store's lag is not capped here
    const emission = emissionOf(spec);
    return [spec.limit, emission, spec.burst * emission + spec.slackMs, spec.burst, spec.intervalMs + Math.max(startLagMs, spec.jitterMs ?? 0), spec.intervalMs / QUANTUM_SHARE];
  },
  load: `local tat$, sum$, last$, oldest$, first$ = -INF, 0, -INF, INF, -INF
local exists$, changed$ = false, false
do
  local s = redis.call('LINDEX', KEYS[$], -1)
  if s then
    exists$ = true
    local old_tat, old_e, old_span
    old_tat, old_e, old_span, sum$, last$, oldest$, first$ = struct.unpack('<ddddddd', s)
    ${rescaleTat('tat$', 'old_tat', 'old_e', 'e$')}
    -- a changed rate or interval changes the TTL the key needs
    changed$ = old_e ~= e$ or old_span ~= span$
  end
end`,
  wait: `if cost > limit$ then w = INF else
  local pace = 0
  if burst$ < limit$ then
    ${gcraWait('pace', 'tat$', 'math.min(cost, burst$)', 'e$', 'tol$')}
  end
  ${indented(EXPIRE)}
  if sum$ + cost <= limit$ + EPS then w = 0 else
    -- walk from the oldest start until enough has expired for cost to fit
    local remaining, from = sum$, 0
    w = nil
    while not w do
      local h = redis.call('LRANGE', KEYS[$], from, from + 63)
      for j = 1, #h do
        if #h[j] ~= 16 then break end
        local t, c = struct.unpack('<dd', h[j])
        remaining = remaining - c
        if remaining + cost <= limit$ + EPS then
          ${indented(indented(indented(indented(indented(leaves('t_leaves', 't'))))))}
          w = math.max(0, t_leaves - now)
          break
        end
      end
      -- unreachable for cost <= limit; a safe bound all the same
      if not w and #h < 64 then w = span$ end
      from = from + 64
    end
  end
  w = math.max(pace, w)
end`,
  // after a refusal: keep what expiry or a changed rate did to the state
  save: `if exists$ and changed$ then
  ${indented(store('last$'))}
end`,
  take: TAKE,
  refund: `if exists$ then
  ${indented(EXPIRE)}
  if at then
    -- the start decided at \`at\` (SlidingWindowState.refundAt): while it is still counted,
    -- from the entry that holds it (entryOf), the pacer bounded by the log
    ${indented(indented(leaves('at_leaves', 'at')))}
    if at_leaves > now then
      local found, ft, fc, from_found = nil, 0, 0, 0
      ${indented(indented(indented(ENTRY_OF)))}
      if found then
        local back = math.min(cost, fc)
        if back > 0 then redis.call('LSET', KEYS[$], found, struct.pack('<dd', ft, fc - back)) end
        sum$ = sum$ - back
        local later = -INF
        if at < last$ then later = last$ + (from_found - back) * e$ end
        ${refundedTat('tat$', 'back', 'e$', 'later')}
      end
    end
  else
    -- take it back from the newest starts: the refunded start is the most recent one
    ${refundedTat('tat$', 'cost', 'e$', '-INF')}
    local j = -2
    local x = redis.call('LINDEX', KEYS[$], j)
    local left = cost
    while left > 0 and x and #x == 16 do
      local t, c = struct.unpack('<dd', x)
      local back = math.min(left, c)
      if back > 0 then redis.call('LSET', KEYS[$], j, struct.pack('<dd', t, c - back)) end
      sum$ = sum$ - back
      left = left - back
      j = j - 1
      x = redis.call('LINDEX', KEYS[$], j)
    end
  end
  ${indented(store('last$'))}
end`,
  charge: `do
  ${indented(EXPIRE)}
  ${indented(leaves('at_leaves', 'at'))}
  local found, ft, fc, from_found = nil, 0, 0, 0
  if at_leaves > now and exists$ then
    ${indented(indented(ENTRY_OF))}
  end
  if at_leaves > now and not found then
    -- still counted, but not in this log (made afresh since): counted from now
    ${indented(indented(TAKE))}
  else
    -- paced from now; in the window where it was used, unless that start has left it
    tat$ = math.max(tat$, now) + cost * e$
    if found then
      redis.call('LSET', KEYS[$], found, struct.pack('<dd', ft, fc + cost))
      sum$ = sum$ + cost
    end
    if exists$ then
      ${indented(indented(indented(store('last$'))))}
    else
      -- no log, only the pacer: a list of the header alone
      ${indented(indented(indented(leaves('gone', 'last$'))))}
      if math.max(tat$, gone) > now then
        redis.call('RPUSH', KEYS[$], ${HEADER})
        redis.call('PEXPIRE', KEYS[$], ttl(math.max(tat$, gone) - now))
      end
    end
  end
end`,
};
