import type { Field } from './contract.js';
import { gcraWait, rescaleTat } from './gcra.js';

// Twin: src/store/fair-share.ts (fairLevel, memberPace, memberWait, memberTake, memberRow) —
// the same math; parity proven by test/store/redis/fair-share.test.ts. Change both, or neither.

/**
 * Fair shares in Lua, pasted into reserve-many's shared variant (rate.ts) when a store leases
 * permits: a HASH per key (`members`) maps each fleet member to five packed doubles
 * {demand, expiresAt, tat, emission, turn}. Each call reads the rows not expired (deleting the
 * others), computes the max-min fair level of the limit among them with this member's
 * `demand`, and paces this member's requests at that level on top of the limit itself; then
 * writes the member's row back. The limit stays exact whatever the shares say: a pacer
 * only refuses.
 */

export const SHARE_KEY: Field = { name: 'members', about: 'the HASH: member → packed {demand units/ms, expiresAt, tat, emission, turn} (lua/fair-share.ts)' };

export const SHARE_ARGV: readonly Field[] = [
  { name: 'member', about: "this fleet member's name, unique to its store" },
  { name: 'demand', about: "units/ms this member asks for; '' = more than it gets", number: true },
  { name: 'capacity', about: 'units/ms the fleet shares: the smallest limit / its interval', number: true },
  { name: 'headroom', about: "the member's pacer runs at its fair level times this (≥ 1): what one member may leave unused, the others may take", number: true },
  { name: 'shareTol', about: "ms of slack of the member's own pacer", number: true },
  { name: 'keepMs', about: 'how long after it said it would ask again a silent member still counts', number: true },
];

/** Declares `m_tat`, `m_e`, `m_turn` (memberPace) and deletes expired rows. The members key is the last of KEYS. */
export const SHARE_LOAD = `local m_tat, m_e, m_turn = -INF, 0, -INF
-- the longest finite wait answered: when this member will ask again
local m_wait = 0
local m_demand = demand or INF
-- the latest expiry of the other rows: the hash must outlive them all
local m_last = now
do
  local rows = redis.call('HGETALL', KEYS[#KEYS])
  local demands, dead, old_e = {}, {}, 0
  for i = 1, #rows, 2 do
    local d, exp, tat, e, turn = struct.unpack('<ddddd', rows[i + 1])
    if exp <= now then dead[#dead + 1] = rows[i]
    elseif rows[i] == member then m_tat, old_e, m_turn = tat, e, turn
    else
      demands[#demands + 1] = d
      if exp > m_last then m_last = exp end
    end
  end
  -- in chunks: unpack is bounded by Lua's C stack
  for i = 1, #dead, 100 do redis.call('HDEL', KEYS[#KEYS], unpack(dead, i, math.min(i + 99, #dead))) end
  demands[#demands + 1] = m_demand
  local level = INF
  if #demands > 1 then
    -- fairLevel: the max-min fair level of capacity among the demands
    table.sort(demands)
    local left = capacity
    for i = 1, #demands do
      local share = left / (#demands - i + 1)
      if demands[i] >= share then level = share break end
      left = left - demands[i]
    end
  end
  -- a pacer at the whole limit or above would only refuse bursts the limit allows
  if level * headroom < capacity then m_e = 1 / (level * headroom) end
  if old_e > 0 then
    if m_e == 0 then m_tat, m_turn = math.min(m_tat, now), math.min(m_turn, now) else
      local old_tat, old_turn = m_tat, m_turn
      ${rescaleTat('m_tat', 'old_tat', 'old_e', 'm_e')}
      ${rescaleTat('m_turn', 'old_turn', 'old_e', 'm_e')}
    end
  end
end`;

/**
 * After the limit refused `cost` with `wait`: the later of that and this member's own turn
 * (memberTurn) — the members the limit refuses at one instant would all ask again at the
 * instant the next unit frees, and all but one be refused again; each comes back at its own
 * turn instead, and a member behind its share (its turn past) at once.
 */
export const SHARE_SPREAD = `w = m_turn - now
if w > wait then wait = w end`;

/** Sets `w` for `cost` (memberWait). */
export const SHARE_WAIT = gcraWait('w', 'm_tat', 'cost', 'm_e', 'math.max(shareTol + m_e, cost * m_e)');

/** After a refusal with `wait`: remembers when this member will ask again. */
export const SHARE_REFUSED = 'if wait > m_wait and wait < INF then m_wait = wait end';

/** Records `cost` (memberTake). */
export const SHARE_TAKE = `m_tat = math.max(m_tat, now) + cost * m_e
m_turn = math.max(m_turn, now) + cost * m_e * headroom`;

/** Writes the member's row (memberRow), admitted or not: its demand is news either way. */
export const SHARE_SAVE = `do
  local exp = now + m_wait + keepMs
  redis.call('HSET', KEYS[#KEYS], member, struct.pack('<ddddd', m_demand, exp, m_tat, m_e, m_turn))
  redis.call('PEXPIRE', KEYS[#KEYS], ttl(math.max(exp, m_last) - now))
end`;
