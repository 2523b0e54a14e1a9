/**
 * Sliding window log, paced, in Lua: the same math as src/admission/sliding-window.ts.
 * State: a hash `L.key` {tat, e, iv, sum} — the pacer as in gcra.ts, the span the log
 * was kept for, and the cost in the log — and a list `L.log` of alternating start time,
 * cost: oldest first, one pair per distinct start instant. Both keys get the same TTL:
 * until the pacer is full and the newest start has left the window. Needs `gcra_wait` and
 * `rescale_tat` from gcra.ts.
 *
 * The window is `L.span` = intervalMs + the store's start lag (ARGV[5]): a start decided
 * here happens in the caller a little later, and counting it that much longer keeps the
 * limit in every window of the callers' own start times. With lag 0 this is MemoryStore.
 */
export const SLIDING_WINDOW = `
local sliding = {}
function sliding.load(L, now)
  local h = redis.call('HMGET', L.key, 'tat', 'e', 'iv', 'sum')
  L.exists = h[1] and true or false
  if L.exists then
    L.tat = rescale_tat(tonumber(h[1]), now, tonumber(h[2]), L.emission)
    L.sum = tonumber(h[4])
    -- a changed rate or interval changes the TTL the keys need
    L.changed = tonumber(h[2]) ~= L.emission or tonumber(h[3]) ~= L.span
  else
    L.tat = -INF
    L.sum = 0
    L.changed = false
    -- a log without its hash cannot be trusted (cannot happen while both share a TTL)
    redis.call('DEL', L.log)
  end
end

-- expire in sliding-window.ts: drop starts that have left (now - span, now]
function sliding.expire(L, now)
  local before = L.sum
  local chunk = 4 -- elements: two starts; most calls expire one or none
  while true do
    local h = redis.call('LRANGE', L.log, 0, chunk - 1)
    local n = #h
    local gone = 0
    while gone < n and now - tonumber(h[gone + 1]) >= L.span do
      L.sum = L.sum - tonumber(h[gone + 2])
      gone = gone + 2
    end
    if gone > 0 then redis.call('LTRIM', L.log, gone, -1) end
    if gone < n then break end
    if n < chunk then L.sum = 0; break end -- the log is empty: drop accumulated float error
    if chunk < 64 then chunk = chunk * 2 end
  end
  if L.sum ~= before then L.changed = true end
end

function sliding.window_wait(L, now, cost)
  sliding.expire(L, now)
  if L.sum + cost <= L.limit + EPS then return 0 end
  -- walk from the oldest start until enough has expired for cost to fit
  local remaining = L.sum
  local from = 0
  while true do
    local h = redis.call('LRANGE', L.log, from, from + 63)
    if #h == 0 then return L.span end
    for j = 1, #h - 1, 2 do
      remaining = remaining - tonumber(h[j + 1])
      if remaining + cost <= L.limit + EPS then return math.max(0, tonumber(h[j]) + L.span - now) end
    end
    from = from + 64
  end
end

function sliding.wait(L, now, cost)
  if cost > L.limit then return INF end
  local pace = 0
  if L.burst < L.limit then pace = gcra_wait(L.tat, now, math.min(cost, L.burst), L.emission, L.tolerance) end
  return math.max(pace, sliding.window_wait(L, now, cost))
end

-- writes the state and sets both TTLs; a state already equal to a fresh one is deleted.
-- newest: the time of the newest start, if the caller knows it
local function sliding_store(L, now, newest)
  if not newest then newest = redis.call('LINDEX', L.log, -2) end
  local idle = L.tat
  if newest then idle = math.max(idle, tonumber(newest) + L.span) end
  if idle <= now then
    redis.call('DEL', L.key, L.log)
    return
  end
  redis.call('HSET', L.key, 'tat', fmt(L.tat), 'e', fmt(L.emission), 'iv', fmt(L.span), 'sum', fmt(L.sum))
  local px = ttl(idle - now)
  redis.call('PEXPIRE', L.key, px)
  if newest then redis.call('PEXPIRE', L.log, px) end
end

-- after a refusal: keep what expiry or a changed rate did to the state
function sliding.save(L, now)
  if L.exists and L.changed then sliding_store(L, now) end
end

function sliding.take(L, now, cost)
  L.tat = math.max(L.tat, now) + cost * L.emission
  L.sum = L.sum + cost
  local last = redis.call('LRANGE', L.log, -2, -1)
  local newest = now
  if #last == 2 and tonumber(last[1]) == now then
    redis.call('LSET', L.log, -1, fmt(tonumber(last[2]) + cost))
  else
    redis.call('RPUSH', L.log, fmt(now), fmt(cost))
    if #last == 2 and tonumber(last[1]) > now then newest = tonumber(last[1]) end
  end
  sliding_store(L, now, newest)
  -- how full the window is now (FILL, declared by rate.ts), for the client's start-lag check
  local fill = L.sum / L.limit
  if fill > FILL then FILL = fill end
end

function sliding.refund(L, now, cost, at)
  if not L.exists then return end
  L.tat = math.max(now, L.tat - cost * L.emission)
  sliding.expire(L, now)
  local i = redis.call('LLEN', L.log) - 1
  if at then
    -- the start decided at \`at\`: find its entry from the newest end (it is recent)
    while i >= 1 and tonumber(redis.call('LINDEX', L.log, i - 1)) > at do i = i - 2 end
    if i < 1 or tonumber(redis.call('LINDEX', L.log, i - 1)) ~= at then i = -1 end
    local c = i >= 1 and tonumber(redis.call('LINDEX', L.log, i)) or 0
    local back = math.min(cost, c)
    if back > 0 then
      redis.call('LSET', L.log, i, fmt(c - back))
      L.sum = L.sum - back
    end
    sliding_store(L, now)
    return
  end
  -- take it back from the newest starts: the refunded start is the most recent one
  while i >= 1 and cost > 0 do
    local c = tonumber(redis.call('LINDEX', L.log, i))
    local back = math.min(cost, c)
    if back > 0 then redis.call('LSET', L.log, i, fmt(c - back)) end
    L.sum = L.sum - back
    cost = cost - back
    i = i - 2
  end
  sliding_store(L, now)
end
`;
