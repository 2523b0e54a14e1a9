import type { Algorithm, LimitSpec } from '../../algorithms/limit-spec.js';
import { FIXED_WINDOW } from './fixed-window.js';
import { GCRA } from './gcra.js';
import { indented, type LimitLua } from './limit-lua.js';
import { script, type Script } from './script.js';
import { SLIDING_WINDOW } from './sliding-window.js';
import { SMOOTHING } from './smoothing.js';

const CODE: Record<Algorithm, string> = { gcra: 'g', 'sliding-window': 's', 'fixed-window': 'f' };
/** One letter per part of a request: each algorithm, and 'w', a limit's `smooth` rule. */
const BY_CODE: Record<string, LimitLua> = { g: GCRA, s: SLIDING_WINDOW, f: FIXED_WINDOW, w: SMOOTHING };
const NAME: Record<string, string> = { g: 'gcra', s: 'sliding window', f: 'fixed window', w: 'smoothing' };

/** The parts of a request in script order: each limit's algorithm, then its smoothing if set. */
function partsOf(limits: readonly LimitSpec[]): { code: string; spec: LimitSpec }[] {
  return limits.flatMap((spec) => (spec.smoothMs === undefined ? [{ code: CODE[spec.algorithm], spec }] : [{ code: CODE[spec.algorithm], spec }, { code: 'w', spec }]));
}

/**
 * The most limits one request may have in Redis (a limit with `smooth` counts twice): each
 * limit's state lives in Lua locals, and Lua allows 200 per function.
 */
export const MAX_REDIS_LIMITS = 12;

/**
 * An admission reports `fill` '1' when a sliding window is at least this full after it:
 * only there can a late start push a window over its limit (redis.ts checks those).
 */
export const LATE_CHECK_FILL = 0.5;

/**
 * Numbers reach Redis as JavaScript's shortest exact text (String(x), which tonumber reads
 * back to the same double) and are kept there as packed doubles (struct.pack '<d'), so
 * Redis makes the very decisions the TypeScript state classes make. (Arguments stay text:
 * a Buffer argument sends ioredis down a slower path, ~7 µs of client CPU per call.) A
 * decision's time goes back as `TIME`'s own two parts, 'seconds microseconds' (see
 * redisTime in redis-runner.ts), with no number formatting in Lua. Replies are one string
 * of comma-separated elements rather than a table: Redis converts a table reply element
 * by element, at about the cost of a Redis command.
 */
const HEAD = `local EPS = 1e-9
local INF = math.huge

-- ARGV[1]: '' = Redis TIME (production); a number = the caller's clock (tests only).
local now, clock
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
  clock = t[1] .. ' ' .. t[2]
else
  now = tonumber(ARGV[1])
  clock = ARGV[1]
end

-- ARGV[2]: the latest Redis time at which this request may still act. A request that
-- ioredis resends after a reconnect, or that sat in a queue while the caller gave up,
-- arrives past it and changes nothing.
if ARGV[2] ~= '' and now > tonumber(ARGV[2]) then return 'stale,' .. clock end

local cost = tonumber(ARGV[3])
local at = nil
if ARGV[4] ~= '' then at = tonumber(ARGV[4]) end

-- PX for a state that equals a fresh one after \`ms\`. +1: Redis expires on a
-- millisecond clock while \`now\` has microseconds, so the key must outlive the state.
-- ARGV[5], the least TTL, is 0 in production; tests on virtual time raise it because
-- virtual time and Redis's expiry clock are unrelated.
local TTL_FLOOR = tonumber(ARGV[5])
local function ttl(ms)
  local t = math.ceil(ms) + 1
  if t < TTL_FLOOR then t = TTL_FLOOR end
  return t
end
`;

/** Pastes an algorithm fragment for the limit at `position` (1-based). */
function at(fragment: string, position: number): string {
  return fragment.replace(/\$/g, String(position));
}

function head(sequence: string): string {
  const lua = [...sequence].map((c) => BY_CODE[c]!);
  const names = lua.flatMap((l, i) => l.params.map((p) => `${p}${i + 1}`));
  const params = `local ${names.join(', ')} = ${names.map((_, i) => `tonumber(ARGV[${i + 6}])`).join(', ')}`;
  return `${HEAD}${params}\n${lua.map((l, i) => `\n-- part ${i + 1}: ${NAME[sequence[i]!]}\n${at(l.load, i + 1)}`).join('\n')}\n`;
}

/**
 * reserve — decides `cost` against every limit of one key atomically: if all admit, records
 * it in all and answers '0'; otherwise records nothing and answers the wait in ms
 * (MemoryStore.reserve, line for line).
 *
 * KEYS  one per limit, in order
 * ARGV  [1] now ms, '' = Redis TIME   [2] deadline in Redis ms, '' = none   [3] cost
 *       [4] (refund only) the decision time of the start to give back, '' = the newest
 *       [5] TTL floor ms   [6..] each limit's numbers (LimitLua.params), in order
 * Reply 'wait,time[,late check]': wait '0' = admitted, 'inf' = never, 'stale' = past the
 *       deadline; time = when the decision was made (redisTime; lets the client track
 *       Redis's clock); late check, on admission with a sliding window: '1' when one is at
 *       least LATE_CHECK_FILL full, else '0'.
 */
function reserveBody(sequence: string): string {
  const lua = [...sequence].map((c) => BY_CODE[c]!);
  const sliding = lua.includes(SLIDING_WINDOW);
  return `
local wait, w = 0, 0
${lua.map((l, i) => `${at(l.wait, i + 1)}\nif w > wait then wait = w end`).join('\n')}
if wait > 0 then
${lua.map((l, i) => `  ${indented(at(l.save, i + 1))}`).join('\n')}
  return string.format('%.17g', wait) .. ',' .. clock
end
${sliding ? '-- the fullest sliding window after the admission (sum / limit)\nlocal FILL = 0\n' : ''}${lua.map((l, i) => at(l.take, i + 1)).join('\n')}
return '0,' .. clock${sliding ? ` .. (FILL >= ${LATE_CHECK_FILL} and ',1' or ',0')` : ''}
`;
}

/**
 * reserveMany — decides several requests of one key in one call, in order, at one instant:
 * each as `reserve` would if sent alone right after the one before. A fleet's process
 * sends every `reserve` its callers make in the same tick as one such call, so Redis runs
 * one script and one `TIME` for all of them, and the client writes one command.
 *
 * KEYS  as for reserve
 * ARGV  [1] [2] [5] [6..] as for reserve; [3] unused; [4] 'fifo' = stop at the first
 *       refusal (a queue served in order: nobody behind it may start first), '' = decide
 *       each on its own; then one cost per request
 * Reply 'b,time,item,item…' with one item per request decided: '0' admitted, '0!' admitted
 *       with a sliding window at least LATE_CHECK_FILL full (the late check), else the wait
 *       as for reserve. With 'fifo' the items end at the first refusal.
 */
function reserveManyBody(sequence: string, firstCost: number): string {
  const lua = [...sequence].map((c) => BY_CODE[c]!);
  const sliding = lua.includes(SLIDING_WINDOW);
  return `
local fifo = ARGV[4] == 'fifo'
local out, refused = {}, false
${sliding ? 'local FILL = 0\n' : ''}for q = ${firstCost}, #ARGV do
  cost = tonumber(ARGV[q])
  local wait, w = 0, 0
  ${indented(lua.map((l, i) => `${at(l.wait, i + 1)}\nif w > wait then wait = w end`).join('\n'))}
  if wait > 0 then
    refused = true
    out[#out + 1] = string.format('%.17g', wait)
    if fifo then break end
  else
    ${sliding ? 'FILL = 0\n    ' : ''}${indented(indented(lua.map((l, i) => at(l.take, i + 1)).join('\n')))}
    out[#out + 1] = ${sliding ? `FILL >= ${LATE_CHECK_FILL} and '0!' or '0'` : `'0'`}
  end
end
if refused then
${lua.map((l, i) => `  ${indented(at(l.save, i + 1))}`).join('\n')}
end
return 'b,' .. clock .. ',' .. table.concat(out, ',')
`;
}

/**
 * refund — gives back `cost` taken from every limit of one key (MemoryStore.refund). With a
 * decision time (ARGV[4]) windows give it back from that very start, not the newest one:
 * in a fleet the newest start may be another process's.
 *
 * KEYS  as for reserve     ARGV  as for reserve
 * Reply '0,time' | 'stale,time'
 */
function refundBody(sequence: string): string {
  const lua = [...sequence].map((c) => BY_CODE[c]!);
  return `
${lua.map((l, i) => at(l.refund, i + 1)).join('\n')}
return '0,' .. clock
`;
}

/** One letter per part of a request, in order: the script it needs ('g', 's', 'f'; 'w' after a smoothed limit). */
export function sequenceOf(limits: readonly LimitSpec[]): string {
  return partsOf(limits)
    .map((part) => part.code)
    .join('');
}

/** ARGV[5..] for `limits`: the TTL floor and each limit's numbers. */
export function paramArgs(limits: readonly LimitSpec[], ttlFloorMs: number, startLagMs: number): string[] {
  return [ttlFloorMs, ...partsOf(limits).flatMap(({ code, spec }) => BY_CODE[code]!.values(spec, startLagMs))].map(String);
}

export interface RateScripts {
  reserve: Script;
  reserveMany: Script;
  refund: Script;
}

const cache = new Map<string, RateScripts>();

/**
 * The reserve and refund scripts for requests whose limits use the algorithms of
 * `sequence` (sequenceOf), in that order: each limit's Lua is pasted in, so a script holds
 * only what its requests run.
 */
export function rateScripts(sequence: string): RateScripts {
  let scripts = cache.get(sequence);
  if (scripts === undefined) {
    const top = head(sequence);
    const firstCost = 6 + [...sequence].reduce((n, c) => n + BY_CODE[c]!.params.length, 0);
    scripts = {
      reserve: script(`reserve-${sequence}`, top + reserveBody(sequence)),
      reserveMany: script(`reserve-many-${sequence}`, top + reserveManyBody(sequence, firstCost)),
      refund: script(`refund-${sequence}`, top + refundBody(sequence)),
    };
    cache.set(sequence, scripts);
  }
  return scripts;
}
