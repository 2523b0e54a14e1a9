/**
 * GCRA in Lua: the same math as src/admission/gcra.ts. State: a hash {tat, e}: the
 * theoretical arrival time and the emission interval it was counted in (so a changed rate
 * carries the debt over in units, as rescaleTat does); a missing key is a fresh limit.
 * Exposes `gcra_wait` and `rescale_tat` (also used by the sliding window's pacer) and the
 * `gcra` handler.
 */
export const GCRA = `
-- gcraWait in gcra.ts
local function gcra_wait(tat, now, cost, emission, tolerance)
  local after = math.max(tat, now) + cost * emission
  local wait = after - now - tolerance
  if wait > EPS then return wait end
  return 0
end

-- rescaleTat in limit-state.ts
local function rescale_tat(tat, now, old_emission, new_emission)
  if not (tat > now) or old_emission == new_emission then return tat end
  return now + ((tat - now) / old_emission) * new_emission
end

local gcra = {}
function gcra.load(L, now)
  local h = redis.call('HMGET', L.key, 'tat', 'e')
  L.tat = h[1] and rescale_tat(tonumber(h[1]), now, tonumber(h[2]), L.emission) or -INF
  -- a changed rate changes tat: keep it even if this request is refused
  L.changed = h[1] and tonumber(h[2]) ~= L.emission
end
function gcra.wait(L, now, cost)
  if cost > L.burst then return INF end
  return gcra_wait(L.tat, now, cost, L.emission, L.tolerance)
end
local function gcra_store(L, now)
  -- tat <= now is a full bucket: the same as no key at all
  if L.tat <= now then
    redis.call('DEL', L.key)
  else
    redis.call('HSET', L.key, 'tat', fmt(L.tat), 'e', fmt(L.emission))
    redis.call('PEXPIRE', L.key, ttl(L.tat - now))
  end
end
function gcra.save(L, now)
  if L.changed then gcra_store(L, now) end
end
function gcra.take(L, now, cost)
  L.tat = math.max(L.tat, now) + cost * L.emission
  gcra_store(L, now)
end
function gcra.refund(L, now, cost)
  if L.tat == -INF then return end
  L.tat = math.max(now, L.tat - cost * L.emission)
  gcra_store(L, now)
end
`;
