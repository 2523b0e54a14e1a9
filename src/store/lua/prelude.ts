/**
 * Lua shared by the rate scripts: time, the staleness guard, number formatting and TTLs.
 *
 * Numbers cross the wire as text. Lua's own number-to-string keeps only 14 digits, so
 * every value stored or returned is formatted with `%.17g`, which round-trips a double
 * exactly: Redis then makes the very decisions the TypeScript state classes make.
 */
export const PRELUDE = `
local EPS = 1e-9
local INF = math.huge
local function fmt(x) return string.format('%.17g', x) end

-- ARGV[1]: '' = Redis TIME (production); a number = the caller's clock (tests only).
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
else
  now = tonumber(ARGV[1])
end

-- ARGV[3]: the least TTL in ms. 0 in production; tests on virtual time raise it because
-- virtual time and Redis's expiry clock are unrelated.
local TTL_FLOOR = tonumber(ARGV[3])

-- PX for a state that equals a fresh one after \`ms\`. +1: Redis expires on a
-- millisecond clock while \`now\` has microseconds, so the key must outlive the state.
local function ttl(ms)
  local t = math.ceil(ms) + 1
  if t < TTL_FLOOR then t = TTL_FLOOR end
  return t
end
`;

/**
 * The staleness guard: ARGV[2] is the latest Redis time at which this request may still
 * act. A request that ioredis resends after a reconnect, or that sat in a queue while the
 * caller gave up, arrives past it and changes nothing.
 */
export const STALE_GUARD = `
if ARGV[2] ~= '' and now > tonumber(ARGV[2]) then return {'stale', fmt(now)} end
`;
