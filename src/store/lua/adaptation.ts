import { PRELUDE, STALE_GUARD } from './prelude.js';
import { script } from './script.js';

/**
 * adapt — applies one fleet member's news to the fleet's adaptation state and answers the
 * state after it: `advance` in src/algorithms/rate-adaptation.ts, line for line, on Redis's
 * clock. Atomic, so a throttle several members report at once cuts once: the first sets
 * the last-throttle instant, and the others' requests were sent before it.
 *
 * State: a hash {r rate, m mode, w wMax, c cutAt, t lastThrottleAt, s strikes,
 * p pauseUntil, b bucketStart, n successes in the current second, o in the one before,
 * k cuts, g generation: throttles counted}; '' is "never". A missing hash starts from the member's seed. TTL: the state's
 * own (ARGV[4]), or longer while a pause lasts.
 *
 * KEYS  [1] state hash
 * ARGV  [1] now ms, '' = Redis TIME   [2] deadline in Redis ms, '' = none   [3] TTL floor ms
 *       [4] state TTL ms
 *       [5] ceiling  [6] min  [7] beta  [8] scale  [9] backoffMs  [10] maxPauseMs
 *       [11] successes  [12] ms since the latest success arrived
 *       [13] ms since a throttled request was sent, '' = no throttle  [14] its Retry-After ms, ''
 *       [15] a stated rate per second, ''   [16] a requested pause ms, ''
 *       [17..25] seed: rate, mode, wMax, ms since the cut (''), ms since the throttle (''),
 *                strikes, pause ms left (''), cuts, generation
 *       [26] the throttle generation the member knew when it sent the throttled request, ''
 * Reply {'ok', now, rate, mode, wMax, ms since the cut, ms since the throttle, strikes,
 *        pause ms left, cuts, generation} (ages '' = never, pause '' = none) | {'stale', now}
 */
export const ADAPT = script(
  'adapt',
  `${PRELUDE}${STALE_GUARD}
local function never_or(x) if x == false or x == nil or x == '' then return -INF end return tonumber(x) end
local function ago(x) if x == '' then return -INF end return now - tonumber(x) end
local function stamp(x) if x == -INF then return '' end return fmt(x) end

local P = { ceiling = tonumber(ARGV[5]), min = tonumber(ARGV[6]), beta = tonumber(ARGV[7]),
            scale = tonumber(ARGV[8]), backoff = tonumber(ARGV[9]), max_pause = tonumber(ARGV[10]) }
local function clamp(rate) return math.min(P.ceiling, math.max(P.min, rate)) end

local S = {}
local h = redis.call('HMGET', KEYS[1], 'r', 'm', 'w', 'c', 't', 's', 'p', 'b', 'n', 'o', 'k', 'g')
if h[1] then
  S.rate = tonumber(h[1]); S.mode = h[2]; S.wMax = tonumber(h[3]); S.cutAt = never_or(h[4])
  S.lastThrottleAt = never_or(h[5]); S.strikes = tonumber(h[6]); S.pauseUntil = never_or(h[7])
  S.bucketStart = never_or(h[8]); S.current = tonumber(h[9]); S.previous = tonumber(h[10]); S.cuts = tonumber(h[11])
  S.generation = tonumber(h[12])
else
  S.rate = tonumber(ARGV[17]); S.mode = ARGV[18]; S.wMax = tonumber(ARGV[19]); S.cutAt = ago(ARGV[20])
  S.lastThrottleAt = ago(ARGV[21]); S.strikes = tonumber(ARGV[22])
  S.pauseUntil = -INF
  if ARGV[23] ~= '' then S.pauseUntil = now + tonumber(ARGV[23]) end
  S.bucketStart = -INF; S.current = 0; S.previous = 0; S.cuts = tonumber(ARGV[24])
  S.generation = tonumber(ARGV[25])
end

local function pause(ms)
  local until_ = now + math.min(math.max(0, ms), P.max_pause)
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
if ARGV[15] ~= '' then
  S.mode = 'stated'
  S.rate = clamp(tonumber(ARGV[15]))
  S.wMax = S.rate
end

-- successes
local successes = tonumber(ARGV[11])
if successes > 0 then
  if now - tonumber(ARGV[12]) >= S.lastThrottleAt then S.strikes = 0 end
  roll()
  S.current = S.current + successes
  if S.mode ~= 'stated' and S.cutAt ~= -INF then
    local t = (now - S.cutAt) / 1000
    local k = ((S.wMax * (1 - P.beta)) / P.scale) ^ (1 / 3)
    S.rate = clamp(P.scale * (t - k) ^ 3 + S.wMax)
  end
end

-- a throttle
if ARGV[13] ~= '' then
  local retry_after = nil
  if ARGV[14] ~= '' then retry_after = tonumber(ARGV[14]) end
  if retry_after then pause(retry_after) end
  local known = S.generation
  if ARGV[26] ~= '' then known = tonumber(ARGV[26]) end
  if now - tonumber(ARGV[13]) >= S.lastThrottleAt and known >= S.generation then
    S.lastThrottleAt = now
    S.generation = S.generation + 1
    S.strikes = S.strikes + 1
    if S.strikes > 1 then
      if not retry_after then pause(P.backoff * 2 ^ math.min(S.strikes - 2, 30)) end
    elseif S.mode ~= 'stated' then
      roll()
      local recent = S.previous * (1 - (now - S.bucketStart) / 1000) + S.current
      local base = S.rate
      if recent >= 1 then base = math.min(S.rate, recent) end
      S.wMax = base
      S.rate = math.max(P.min, base * P.beta)
      S.cutAt = now
      S.cuts = S.cuts + 1
    end
  end
end

-- a requested pause
if ARGV[16] ~= '' then pause(tonumber(ARGV[16])) end

redis.call('HSET', KEYS[1], 'r', fmt(S.rate), 'm', S.mode, 'w', fmt(S.wMax), 'c', stamp(S.cutAt),
  't', stamp(S.lastThrottleAt), 's', fmt(S.strikes), 'p', stamp(S.pauseUntil), 'b', stamp(S.bucketStart),
  'n', fmt(S.current), 'o', fmt(S.previous), 'k', fmt(S.cuts), 'g', fmt(S.generation))
redis.call('PEXPIRE', KEYS[1], ttl(math.max(tonumber(ARGV[4]), S.pauseUntil - now)))

local function age(x) if x == -INF then return '' end return fmt(now - x) end
local pause_left = ''
if S.pauseUntil > now then pause_left = fmt(S.pauseUntil - now) end
return {'ok', fmt(now), fmt(S.rate), S.mode, fmt(S.wMax), age(S.cutAt), age(S.lastThrottleAt), fmt(S.strikes), pause_left, fmt(S.cuts), fmt(S.generation)}
`,
);
