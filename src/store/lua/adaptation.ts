import type { SharedView } from '../shared-adaptation.js';
import { argvOf, contractScript, type ArgvValues } from './contract.js';
import { preambleArgv } from './preamble.js';

/**
 * adapt — applies one fleet member's news to the fleet's adaptation state and answers the
 * state after it, on Redis's clock. Atomic, so a throttle several members report at once
 * cuts once: the first sets the last-throttle instant, and the others' requests were sent
 * before it.
 *
 * Twin: `advance` in src/algorithms/rate-adaptation.ts, line for line, as
 * MemorySharedAdaptation (src/store/shared-adaptation.ts) runs it; parity proven by
 * test/store/redis/shared-adaptation.test.ts (random schedules of proposals).
 *
 * State: a hash {r rate, m mode, w wMax, c cutAt, t lastThrottleAt, s strikes,
 * p pauseUntil, b bucketStart, n successes in the current second, o in the one before,
 * k cuts, g generation: throttles counted}; '' is "never". A missing hash starts from the
 * member's seed. TTL: the state's own (`stateTtlMs`), or longer while a pause lasts.
 */

/** ADAPT's ARGV after the preamble's, in order; '' (undefined to adaptArgv) is "none". */
const ADAPT_ARGV = [
  { name: 'stateTtlMs', about: 'how long the state outlives its last exchange', number: true },
  { name: 'ceiling', about: 'params: the highest rate, per second', number: true },
  { name: 'min', about: 'params: the lowest rate, per second', number: true },
  { name: 'beta', about: 'params: the share of the rate a cut keeps', number: true },
  { name: 'scale', about: "params: CUBIC's growth constant", number: true },
  { name: 'backoffMs', about: 'params: the pause after a second throttle in a row, doubling', number: true },
  { name: 'maxPauseMs', about: 'params: the longest pause', number: true },
  { name: 'successes', about: "successes since the member's last exchange", number: true },
  { name: 'lastSuccessAgoMs', about: 'ms since the latest of them arrived', number: true },
  { name: 'throttleSentAgoMs', about: "ms since a throttled request was sent; '' = no throttle", number: true },
  { name: 'retryAfterMs', about: "the throttle's Retry-After, ms; ''", number: true },
  { name: 'stated', about: "a rate per second the server stated; ''", number: true },
  { name: 'pauseMs', about: "a pause the server asked for, ms; ''", number: true },
  { name: 'seedRate', about: "seed (the member's view, for a missing hash): rate", number: true },
  { name: 'seedMode', about: "seed: 'probing' | 'stated'" },
  { name: 'seedWMax', about: 'seed: wMax', number: true },
  { name: 'seedCutAgoMs', about: "seed: ms since the cut; ''", number: true },
  { name: 'seedThrottleAgoMs', about: "seed: ms since the throttle; ''", number: true },
  { name: 'seedStrikes', about: 'seed: strikes', number: true },
  { name: 'seedPauseMs', about: "seed: pause ms left; ''", number: true },
  { name: 'seedCuts', about: 'seed: cuts', number: true },
  { name: 'seedGeneration', about: 'seed: generation', number: true },
  { name: 'knownGeneration', about: "the throttle generation the member knew when it sent the throttled request; ''", number: true },
] as const;

export const ADAPT = contractScript(
  {
    name: 'adapt',
    about: ["applies one fleet member's news to the fleet's adaptation state (advance in rate-adaptation.ts)."],
    keys: [{ name: 'state', about: "the fleet's adaptation hash" }],
    argv: ADAPT_ARGV,
    reply: [
      "'ok,time,rate,mode,wMax,ms since the cut,ms since the throttle,strikes,pause ms left,cuts,generation'",
      "(ages '' = never, pause '' = none) | 'stale,time'",
    ],
  },
  `local function never_or(x) if x == false or x == nil or x == '' then return -INF end return tonumber(x) end
local function ago(x) if x == nil then return -INF end return now - x end
local function stamp(x) if x == -INF then return '' end return fmt(x) end
local function clamp(rate) return math.min(ceiling, math.max(min, rate)) end

local S = {}
local h = redis.call('HMGET', KEYS[1], 'r', 'm', 'w', 'c', 't', 's', 'p', 'b', 'n', 'o', 'k', 'g')
if h[1] then
  S.rate = tonumber(h[1]); S.mode = h[2]; S.wMax = tonumber(h[3]); S.cutAt = never_or(h[4])
  S.lastThrottleAt = never_or(h[5]); S.strikes = tonumber(h[6]); S.pauseUntil = never_or(h[7])
  S.bucketStart = never_or(h[8]); S.current = tonumber(h[9]); S.previous = tonumber(h[10]); S.cuts = tonumber(h[11])
  S.generation = tonumber(h[12])
else
  S.rate = seedRate; S.mode = seedMode; S.wMax = seedWMax; S.cutAt = ago(seedCutAgoMs)
  S.lastThrottleAt = ago(seedThrottleAgoMs); S.strikes = seedStrikes
  S.pauseUntil = -INF
  if seedPauseMs then S.pauseUntil = now + seedPauseMs end
  S.bucketStart = -INF; S.current = 0; S.previous = 0; S.cuts = seedCuts
  S.generation = seedGeneration
end

local function pause(ms)
  local until_ = now + math.min(math.max(0, ms), maxPauseMs)
  if until_ > S.pauseUntil then S.pauseUntil = until_ end
end

local function roll()
  local start = math.floor(now / 1000) * 1000
  if start <= S.bucketStart then return end
  if start - S.bucketStart == 1000 then S.previous = S.current else S.previous = 0 end
  S.current = 0
  S.bucketStart = start
end

-- a stated limit
if stated then
  S.mode = 'stated'
  S.rate = clamp(stated)
  S.wMax = S.rate
end

-- successes
if successes > 0 then
  if now - lastSuccessAgoMs >= S.lastThrottleAt then S.strikes = 0 end
  roll()
  S.current = S.current + successes
  if S.mode ~= 'stated' and S.cutAt ~= -INF then
    local t = (now - S.cutAt) / 1000
    local k = ((S.wMax * (1 - beta)) / scale) ^ (1 / 3)
    S.rate = clamp(scale * (t - k) ^ 3 + S.wMax)
  end
end

-- a throttle
if throttleSentAgoMs then
  if retryAfterMs then pause(retryAfterMs) end
  local known = S.generation
  if knownGeneration then known = knownGeneration end
  if now - throttleSentAgoMs >= S.lastThrottleAt and known >= S.generation then
    S.lastThrottleAt = now
    S.generation = S.generation + 1
    S.strikes = S.strikes + 1
    if S.strikes > 1 then
      if not retryAfterMs then pause(backoffMs * 2 ^ math.min(S.strikes - 2, 30)) end
    elseif S.mode ~= 'stated' then
      roll()
      local recent = S.previous * (1 - (now - S.bucketStart) / 1000) + S.current
      local base = S.rate
      if recent >= 1 then base = math.min(S.rate, recent) end
      S.wMax = base
      S.rate = math.max(min, base * beta)
      S.cutAt = now
      S.cuts = S.cuts + 1
    end
  end
end

-- a requested pause
if pauseMs then pause(pauseMs) end

redis.call('HSET', KEYS[1], 'r', fmt(S.rate), 'm', S.mode, 'w', fmt(S.wMax), 'c', stamp(S.cutAt),
  't', stamp(S.lastThrottleAt), 's', fmt(S.strikes), 'p', stamp(S.pauseUntil), 'b', stamp(S.bucketStart),
  'n', fmt(S.current), 'o', fmt(S.previous), 'k', fmt(S.cuts), 'g', fmt(S.generation))
redis.call('PEXPIRE', KEYS[1], ttl(math.max(stateTtlMs, S.pauseUntil - now)))

local function age(x) if x == -INF then return '' end return fmt(now - x) end
local pause_left = ''
if S.pauseUntil > now then pause_left = fmt(S.pauseUntil - now) end
return table.concat({'ok', clock, fmt(S.rate), S.mode, fmt(S.wMax), age(S.cutAt), age(S.lastThrottleAt), fmt(S.strikes), pause_left, fmt(S.cuts), fmt(S.generation)}, ',')
`,
);

/** ADAPT's fields by name; a field left undefined is sent as '' ("none"). */
export type AdaptArgs = ArgvValues<typeof ADAPT_ARGV>;

/** ADAPT's ARGV: the preamble's (`now` '' = Redis TIME), then `args` in the header's order. */
export function adaptArgv(now: string, ttlFloor: string, args: AdaptArgs): string[] {
  return argvOf(preambleArgv(now, ttlFloor), ADAPT_ARGV, args);
}

/** ADAPT's 'ok' reply as a SharedView. */
export function readView(reply: readonly string[]): SharedView {
  const [, , rate, mode, wMax, cutAgo, throttleAgo, strikes, pauseLeft, cuts, generation] = reply;
  const view: SharedView = {
    rate: Number(rate),
    mode: mode === 'stated' ? 'stated' : 'probing',
    wMax: Number(wMax),
    strikes: Number(strikes),
    cuts: Number(cuts),
    generation: Number(generation),
  };
  if (cutAgo !== '') view.cutAgoMs = Number(cutAgo);
  if (throttleAgo !== '') view.throttleAgoMs = Number(throttleAgo);
  if (pauseLeft !== '') view.pauseMs = Number(pauseLeft);
  return view;
}
