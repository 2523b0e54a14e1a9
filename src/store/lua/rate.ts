import { FIXED_WINDOW } from './fixed-window.js';
import { GCRA } from './gcra.js';
import { PRELUDE, STALE_GUARD } from './prelude.js';
import { script, type Script } from './script.js';
import { SLIDING_WINDOW } from './sliding-window.js';

/**
 * The limits of one request, parsed from ARGV[7..] (five values per limit) with their keys
 * taken from KEYS in order: gcra 'g' and fixed-window 'f' use one key, sliding-window 's'
 * two (state, log).
 */
const LIMITS = `
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

/** The fragments a script needs for a set of algorithms ('g', 's', 'f'); GCRA's helpers always. */
function fragments(algorithms: string): string {
  const table = [...algorithms].map((a) => `${a} = ${a === 'g' ? 'gcra' : a === 's' ? 'sliding' : 'fixed'}`).join(', ');
  return `${PRELUDE}${STALE_GUARD}
-- the fullest sliding window after an admission (sum / limit), returned to the client
local FILL = 0
${GCRA}${algorithms.includes('s') ? SLIDING_WINDOW : ''}${algorithms.includes('f') ? FIXED_WINDOW : ''}
local ALG = { ${table} }
${LIMITS}`;
}

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
const RESERVE_BODY = `
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
`;

/**
 * refund — gives back `cost` taken from every limit of one key (MemoryStore.refund). With a
 * decision time (ARGV[6]) windows give it back from that very start, not the newest one:
 * in a fleet the newest start may be another process's.
 *
 * KEYS  as for reserve     ARGV  as for reserve
 * Reply {'0' | 'stale', now}
 */
const REFUND_BODY = `
local at = nil
if ARGV[6] ~= '' then at = tonumber(ARGV[6]) end
for i = 1, #limits do limits[i].impl.refund(limits[i], now, cost, at) end
return {'0', fmt(now)}
`;

const cache = new Map<string, { reserve: Script; refund: Script }>();

/**
 * The reserve and refund scripts for requests whose limits use `algorithms` (a sorted
 * string of 'f', 'g', 's'): each script holds only the algorithms it needs, since Redis
 * runs a script's every definition on every call.
 */
export function rateScripts(algorithms: string): { reserve: Script; refund: Script } {
  let scripts = cache.get(algorithms);
  if (scripts === undefined) {
    const head = fragments(algorithms);
    scripts = { reserve: script(`reserve-${algorithms}`, head + RESERVE_BODY), refund: script(`refund-${algorithms}`, head + REFUND_BODY) };
    cache.set(algorithms, scripts);
  }
  return scripts;
}
