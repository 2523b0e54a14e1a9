import { FIXED_WINDOW } from './fixed-window.js';
import { GCRA } from './gcra.js';
import { PRELUDE, STALE_GUARD } from './prelude.js';
import { script } from './script.js';
import { SLIDING_WINDOW } from './sliding-window.js';

/**
 * The limits of one request, parsed from ARGV[7..] (five values per limit) with their keys
 * taken from KEYS in order: gcra 'g' and fixed-window 'f' use one key, sliding-window 's'
 * two (state, log).
 */
const LIMITS = `
local ALG = { g = gcra, s = sliding, f = fixed }
local limits = {}
local k = 1
local LAG = tonumber(ARGV[5])
for a = 7, #ARGV - 4, 5 do
  local L = { alg = ARGV[a], limit = tonumber(ARGV[a + 1]), interval = tonumber(ARGV[a + 2]),
              burst = tonumber(ARGV[a + 3]), slack = tonumber(ARGV[a + 4]) }
  L.emission = L.interval / L.limit
  L.tolerance = L.burst * L.emission + L.slack
  L.span = L.interval + LAG
  L.key = KEYS[k]
  k = k + 1
  if L.alg == 's' then
    L.log = KEYS[k]
    k = k + 1
  end
  L.impl = ALG[L.alg]
  L.impl.load(L, now)
  limits[#limits + 1] = L
end
local cost = tonumber(ARGV[4])
`;

/**
 * reserve — decides `cost` against every limit of one key atomically: if all admit, records
 * it in all and answers '0'; otherwise records nothing and answers the wait in ms
 * (MemoryStore.reserve, line for line).
 *
 * KEYS  per limit, in order: gcra → state; sliding-window → state, log; fixed-window → state
 * ARGV  [1] now ms, '' = Redis TIME   [2] deadline in Redis ms, '' = none   [3] TTL floor ms
 *       [4] cost   [5] start lag ms (sliding windows count each start this much longer)
 *       [6] (refund only) the decision time of the start to give back, '' = the newest
 *       [7..] per limit: algorithm (g|s|f), limit, intervalMs, burst, slackMs
 * Reply {wait, now[, fill]}: wait '0' = admitted, 'inf' = never, 'stale' = past the
 *       deadline; now = the time the decision was made at (lets the client track Redis's
 *       clock); fill, on admission = how full the fullest sliding window now is (0..1).
 */
export const RESERVE = script(
  'reserve',
  `${PRELUDE}${STALE_GUARD}${GCRA}${SLIDING_WINDOW}${FIXED_WINDOW}${LIMITS}
local wait = 0
for i = 1, #limits do
  local L = limits[i]
  local w = L.impl.wait(L, now, cost)
  if w > wait then wait = w end
end
if wait > 0 then
  for i = 1, #limits do limits[i].impl.save(limits[i], now) end
  return {fmt(wait), fmt(now)}
end
for i = 1, #limits do limits[i].impl.take(limits[i], now, cost) end
return {'0', fmt(now), fmt(FILL)}
`,
);

/**
 * refund — gives back `cost` taken from every limit of one key (MemoryStore.refund). With a
 * decision time (ARGV[6]) windows give it back from that very start, not the newest one:
 * in a fleet the newest start may be another process's.
 *
 * KEYS  as for reserve     ARGV  as for reserve
 * Reply {'0' | 'stale', now}
 */
export const REFUND = script(
  'refund',
  `${PRELUDE}${STALE_GUARD}${GCRA}${SLIDING_WINDOW}${FIXED_WINDOW}${LIMITS}
local at = nil
if ARGV[6] ~= '' then at = tonumber(ARGV[6]) end
for i = 1, #limits do limits[i].impl.refund(limits[i], now, cost, at) end
return {'0', fmt(now)}
`,
);
