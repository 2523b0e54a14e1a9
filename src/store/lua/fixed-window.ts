import type { LimitSpec } from '../../algorithms/limit-spec.js';
import type { LimitLua } from './limit-lua.js';

// Twin: src/algorithms/fixed-window.ts — the same math; parity proven by
// test/store/redis/memory-vs-redis.test.ts and test/store/redis/conformance.test.ts.

/**
 * Fixed window in Lua: the same math as src/algorithms/fixed-window.ts. State: a string key
 * holding three packed doubles {window index, cost used in it, the interval it was counted
 * with}; a changed interval starts afresh, as FixedWindowState.update does. TTL: until the
 * window ends.
 */

/** The window index of `now` — Redis TIME may step back (NTP): stay in the newer window rather than reopen an old one. */
const INDEX = `local k = math.floor(now / iv$)
  if k < win$ then k = win$ end`;

/** Writes the state; at least 1 ms of TTL, for a refund that comes after its window ended. */
const STORE = `redis.call('SET', KEYS[$], struct.pack('<ddd', win$, used$, iv$), 'PX', math.max(1, ttl((win$ + 1) * iv$ - now)))`;

/** Records `cost` in window `k` (INDEX) and stores the state. */
const TAKE = `if k ~= win$ then
    win$ = k
    used$ = 0
  end
  used$ = used$ + cost
  ${STORE}
  -- written afresh: a refusal later in the same script (reserveMany) must not delete it
  stale$ = false`;

export const FIXED_WINDOW: LimitLua = {
  params: [
    { name: 'limit', about: 'units per window' },
    { name: 'iv', about: 'the window, ms' },
  ],
  values(spec: LimitSpec): number[] {
    return [spec.limit, spec.intervalMs];
  },
  load: `local win$, used$, stale$ = -INF, 0, false
do
  local s = redis.call('GET', KEYS[$])
  if s then
    local w, n, iv = struct.unpack('<ddd', s)
    if iv == iv$ then
      win$ = w
      used$ = n
    else
      -- a changed interval starts afresh (FixedWindowState.update); so must a later change back
      stale$ = true
    end
  end
end`,
  wait: `do
  ${INDEX}
  local used = 0
  if k == win$ then used = used$ end
  if used + cost <= limit$ + EPS then w = 0
  elseif cost > limit$ then w = INF
  else w = math.max(0, (k + 1) * iv$ - now) end
end`,
  save: `if stale$ then redis.call('DEL', KEYS[$]) end`,
  take: `do
  ${INDEX}
  ${TAKE}
end`,
  refund: `if stale$ then
  -- counted with another interval: gone, as FixedWindowState.update resets it (else a later
  -- change back would find the old count)
  redis.call('DEL', KEYS[$])
elseif win$ ~= -INF and math.floor((at or now) / iv$) == win$ then
  used$ = math.max(0, used$ - cost)
  ${STORE}
end`,
  // counted in the window it was used in, if that is still the current one (FixedWindowState.charge)
  charge: `do
  ${INDEX}
  if math.floor(at / iv$) == k then
    ${TAKE.replace(/\n {2}/g, '\n    ')}
  elseif stale$ then
    redis.call('DEL', KEYS[$])
  end
end`,
};
