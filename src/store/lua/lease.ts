import { argvOf, contractScript, type Field } from './contract.js';
import { preambleArgv } from './preamble.js';

/**
 * The lease scripts of distributed concurrency (src/limiters/redis-concurrency-limiter.ts):
 * one ZSET per limiter maps each lease holder to the Redis time its lease expires. A holder
 * that dies stops renewing and its lease simply expires; every script first drops expired
 * leases. The ZSET's TTL is its latest lease.
 *
 * No TypeScript twin: leases exist only in Redis (ConcurrencyLimiter, in one process, counts
 * permits and needs no expiry). Always on Redis TIME (`now` is ''), no TTL floor.
 */

/** Drops expired leases; `keep_alive()` sets the set's TTL to its latest lease. */
const LEASES = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local function keep_alive()
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIRE', KEYS[1], ttl(tonumber(last[2]) - now)) end
end
`;

const LEASES_KEY: readonly Field[] = [{ name: 'leases', about: 'the ZSET: holder → the Redis time, ms, its lease expires' }];
const HOLDER = { name: 'holder', about: "a lease's name, unique to its process and request" } as const;

const ACQUIRE_ARGV = [HOLDER, { name: 'limit', about: 'most leases held at once', number: true }, { name: 'leaseMs', about: 'how long the lease lasts unless renewed', number: true }] as const;

export const LEASE_ACQUIRE = contractScript(
  {
    name: 'lease-acquire',
    about: ['takes a lease if fewer than `limit` are held.'],
    keys: LEASES_KEY,
    argv: ACQUIRE_ARGV,
    reply: ["'1,time' granted | '0,time,ms until the earliest lease expires' | 'stale,time'"],
  },
  `${LEASES}
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + leaseMs, holder)
  keep_alive()
  return '1,' .. clock
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return '0,' .. clock .. ',' .. fmt(tonumber(first[2]) - now)
`,
);

/** lease-acquire's ARGV. */
export function acquireArgv(values: { holder: string; limit: number; leaseMs: number }): string[] {
  return argvOf(preambleArgv('', '0'), ACQUIRE_ARGV, values);
}

/** lease-acquire's reply: granted, or the ms until the earliest lease expires (when one may be free). */
export function readAcquire(reply: readonly string[]): { granted: true } | { granted: false; freeInMs: number } {
  return reply[0] === '1' ? { granted: true } : { granted: false, freeInMs: Number(reply[2]) };
}

const RENEW_ARGV = [{ name: 'leaseMs', about: 'how long each lease lasts from now unless renewed again', number: true }] as const;

export const LEASE_RENEW = contractScript(
  {
    name: 'lease-renew',
    about: ['extends every live lease of the given holders; names the ones already lost.'],
    keys: LEASES_KEY,
    argv: RENEW_ARGV,
    rest: { name: 'holders', about: 'the holders to renew' },
    reply: ["'ok,time,lost holder,…' | 'stale,time'"],
  },
  `${LEASES}
local lost = {'ok', clock}
for i = REST, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', now + leaseMs, ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
keep_alive()
return table.concat(lost, ',')
`,
);

/** lease-renew's ARGV: `holders` after the named fields. */
export function renewArgv(values: { leaseMs: number }, holders: readonly string[]): string[] {
  const argv = argvOf(preambleArgv('', '0'), RENEW_ARGV, values);
  for (const holder of holders) argv.push(holder);
  return argv;
}

/** lease-renew's reply: the holders whose leases had already expired, or `undefined` if it did not run ('stale'). */
export function readRenew(reply: readonly string[]): string[] | undefined {
  return reply[0] === 'ok' ? reply.slice(2) : undefined;
}

const RELEASE_ARGV = [HOLDER, { name: 'channel', about: 'where to tell waiting processes a lease is free' }] as const;

export const LEASE_RELEASE = contractScript(
  {
    name: 'lease-release',
    about: ['gives a lease back and tells waiting processes. Sent with no deadline: a late release is still right.'],
    keys: LEASES_KEY,
    argv: RELEASE_ARGV,
    reply: ["'1,time' released | '0,time' no such lease"],
  },
  `${LEASES}
if redis.call('ZREM', KEYS[1], holder) == 0 then return '0,' .. clock end
redis.call('PUBLISH', channel, '1')
keep_alive()
return '1,' .. clock
`,
);

/** lease-release's ARGV. */
export function releaseArgv(values: { holder: string; channel: string }): string[] {
  return argvOf(preambleArgv('', '0'), RELEASE_ARGV, values);
}
