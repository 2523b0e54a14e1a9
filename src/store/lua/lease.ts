import { script } from './script.js';

/**
 * Lua for distributed concurrency: one ZSET per limiter maps each lease holder to the
 * Redis time its lease expires. A holder that dies stops renewing and its lease simply
 * expires; every script first drops expired leases. The ZSET's TTL is its latest lease.
 * ARGV[1] is always '' and ARGV[2] the staleness deadline; every reply's second element is
 * Redis's time (see redis-runner.ts).
 */
const COMMON = `
local function fmt(x) return string.format('%.17g', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
if ARGV[2] ~= '' and now > tonumber(ARGV[2]) then return {'stale', fmt(now)} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
-- the set lives until its latest lease ends
local function keep_alive()
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(last[2]) - now) + 1) end
end
`;

/**
 * lease-acquire — takes a lease if fewer than `limit` are held.
 * KEYS  [1] leases ZSET
 * ARGV  [1] ''  [2] deadline  [3] holder  [4] limit  [5] leaseMs
 * Reply {'1', now} granted | {'0', now, ms until the earliest lease expires} | {'stale', now}
 */
export const LEASE_ACQUIRE = script(
  'lease-acquire',
  `${COMMON}
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), ARGV[3])
  keep_alive()
  return {'1', fmt(now)}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {'0', fmt(now), fmt(tonumber(first[2]) - now)}
`,
);

/**
 * lease-renew — extends every live lease of the given holders; names the ones already lost.
 * KEYS  [1] leases ZSET
 * ARGV  [1] ''  [2] deadline  [3] leaseMs  [4..] holders
 * Reply {'ok', now, lost holder…} | {'stale', now}
 */
export const LEASE_RENEW = script(
  'lease-renew',
  `${COMMON}
local reply = {'ok', fmt(now)}
for i = 4, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[i])
  else
    reply[#reply + 1] = ARGV[i]
  end
end
keep_alive()
return reply
`,
);

/**
 * lease-release — gives a lease back and tells waiting processes.
 * KEYS  [1] leases ZSET
 * ARGV  [1] ''  [2] deadline ('' — a late release is still right)  [3] holder  [4] channel
 * Reply {'1' | '0' (no such lease), now}
 */
export const LEASE_RELEASE = script(
  'lease-release',
  `${COMMON}
if redis.call('ZREM', KEYS[1], ARGV[3]) == 0 then return {'0', fmt(now)} end
redis.call('PUBLISH', ARGV[4], '1')
keep_alive()
return {'1', fmt(now)}
`,
);
