/**
 * Fixed window in Lua: the same math as src/admission/fixed-window.ts. State: a hash
 * {w: window index, n: cost used in it, iv: the interval it was counted with}; a changed
 * interval starts afresh, as FixedWindowState.update does. TTL: until the window ends.
 */
export const FIXED_WINDOW = `
local fixed = {}
function fixed.load(L, now)
  local h = redis.call('HMGET', L.key, 'w', 'n', 'iv')
  if h[1] and tonumber(h[3]) == L.interval then
    L.window = tonumber(h[1])
    L.used = tonumber(h[2])
  else
    -- a changed interval starts afresh (FixedWindowState.update); so must a later change back
    L.stale = h[1] and true or false
    L.window = -INF
    L.used = 0
  end
end

function fixed.index(L, now)
  local w = math.floor(now / L.interval)
  -- Redis TIME may step back (NTP): stay in the newer window rather than reopen an old one
  if w < L.window then w = L.window end
  return w
end

function fixed.wait(L, now, cost)
  local w = fixed.index(L, now)
  local used = 0
  if w == L.window then used = L.used end
  if used + cost <= L.limit + EPS then return 0 end
  if cost > L.limit then return INF end
  return math.max(0, (w + 1) * L.interval - now)
end

function fixed.save(L, now)
  if L.stale then redis.call('DEL', L.key) end
end

function fixed.take(L, now, cost)
  local w = fixed.index(L, now)
  if w ~= L.window then
    L.window = w
    L.used = 0
  end
  L.used = L.used + cost
  redis.call('HSET', L.key, 'w', fmt(w), 'n', fmt(L.used), 'iv', fmt(L.interval))
  redis.call('PEXPIRE', L.key, ttl((w + 1) * L.interval - now))
end

function fixed.refund(L, now, cost, at)
  if L.window == -INF then return end
  if math.floor((at or now) / L.interval) == L.window then
    L.used = math.max(0, L.used - cost)
    redis.call('HSET', L.key, 'n', fmt(L.used))
  end
end
`;
