import type { Field } from './contract.js';

/**
 * The preamble: the Lua every sluice script runs first (contract.ts pastes it after the
 * script's header), and the three ARGV every script begins with. No TypeScript twin: it is
 * plumbing, not a limit's math.
 *
 * Numbers cross the wire as text. Lua's own number-to-string keeps only 14 digits, so every
 * value stored or returned is formatted with `%.17g` (`fmt`), which round-trips a double
 * exactly: Redis then makes the very decisions the TypeScript state classes make. A
 * decision's time goes back as `TIME`'s own two parts, 'seconds microseconds' (`clock`; see
 * redisTime in redis-runner.ts), with no number formatting in Lua.
 *
 * Every reply is one string, 'status,time,…': `status` is the script's own ('stale' when
 * the guard below refused to act), `time` is `clock`. One string rather than a table: Redis
 * converts a table reply element by element, each at about the cost of a command
 * (BENCHMARKS.md, Redis-backed limiters).
 */
export const PREAMBLE = `local EPS = 1e-9
local INF = math.huge
local function fmt(x) return string.format('%.17g', x) end

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

-- PX for a state that equals a fresh one after \`ms\`. +1: Redis expires on a
-- millisecond clock while \`now\` has microseconds, so the key must outlive the state.
-- ARGV[3], the least TTL, is 0 in production; tests on virtual time raise it because
-- virtual time and Redis's expiry clock are unrelated.
local TTL_FLOOR = tonumber(ARGV[3])
local function ttl(ms)
  local t = math.ceil(ms) + 1
  if t < TTL_FLOOR then t = TTL_FLOOR end
  return t
end
`;

/** ARGV[1..3] of every script, in order, as the preamble above reads them. */
export const PREAMBLE_ARGV: readonly Field[] = [
  { name: 'now', about: "ms on the caller's clock (unsafeCallerClockForTests); '' = Redis TIME" },
  { name: 'deadline', about: "the latest Redis time, ms, at which the request may act; '' = none (set by ScriptRunner)" },
  { name: 'ttlFloor', about: 'the least TTL, ms: 0 in production, raised by tests on virtual time' },
];

/**
 * ARGV[1..3] for a request: `now` ('' = Redis TIME) and `ttlFloor`; the deadline is left
 * '' for ScriptRunner to set (setDeadline) as it sends. Every script's ARGV builder starts
 * from this array and pushes its own fields after it.
 */
export function preambleArgv(now: string, ttlFloor: string): string[] {
  return [now, '', ttlFloor];
}

/** Sets ARGV[2], the deadline, in an array preambleArgv began. */
export function setDeadline(argv: string[], deadline: string): void {
  argv[1] = deadline;
}
