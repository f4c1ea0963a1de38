//! The Lua scripts that make each fleet decision atomic. Ages are judged by Redis `TIME`, so
//! clock skew between hosts never matters. An entry is a hash: `v` (version, "" if none), `etag`,
//! `data` (JSON text), `at` (fetched-at, ms of Redis time), `fails` (consecutive failed fetches
//! by lease holders), `inv` ("1" after an invalidation). EVALSHA with a fallback to EVAL comes
//! from `redis::Script`, so a Redis restarted empty reloads them by itself.

use once_cell::sync::Lazy;

/// `claim(entry, lease; fresh_ms, lease_ms, token, mode, our_v, our_etag)` →
/// `{status, age_ms, v, etag, fails, has_data, data, lease_pttl}`, status ∈
/// `fresh` (adopt), `leased` (you fetch; re-entrant for the same token), `busy` (someone else is fetching; `lease_pttl` ms
/// left), and with mode `read` (no lease taken) `stale` or `none`. `data` is sent only when the
/// entry differs from the caller's (`our_v`, `our_etag`).
pub(crate) static CLAIM: Lazy<redis::Script> = Lazy::new(|| {
    redis::Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = redis.call('HMGET', KEYS[1], 'at', 'v', 'etag', 'inv', 'fails')
local at = tonumber(e[1])
local age, v, etag, fails = -1, e[2] or '', e[3] or '', tonumber(e[5]) or 0
local has, data = 0, ''
if at then
  age = math.max(0, now - at)
  if not (v == ARGV[5] and etag == ARGV[6]) then
    has, data = 1, redis.call('HGET', KEYS[1], 'data') or ''
  end
end
local status
if at and age < tonumber(ARGV[1]) and e[4] ~= '1' then
  status = 'fresh'
elseif ARGV[4] == 'read' then
  if at then status = 'stale' else status = 'none' end
else
  local pttl = redis.call('PTTL', KEYS[2])
  if (pttl > 0 or pttl == -1) and redis.call('GET', KEYS[2]) ~= ARGV[3] then
    if pttl == -1 then pttl = tonumber(ARGV[2]) end
    return {'busy', age, v, etag, fails, has, data, pttl}
  end
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
  status = 'leased'
end
return {status, age, v, etag, fails, has, data, 0}
"#,
    )
});

/// `publish(entry, lease; token, kind, v, etag, data, retention_ms, channel, key, age_ms)` →
/// `written`, `older` (a higher version is stored: refused), `missing` (kind `same` found no
/// entry), `exists` (kind `restore` found one). Kinds: `new` (a fetched value), `same` (a 304:
/// renew fetched-at only), `restore` (write back a value `age_ms` old into an emptied store).
/// Frees the lease when the token holds it; announces `p|v|at|key` on the channel.
pub(crate) static PUBLISH: Lazy<redis::Script> = Lazy::new(|| {
    redis::Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local kind = ARGV[2]
local exists = redis.call('EXISTS', KEYS[1]) == 1
local cur = redis.call('HGET', KEYS[1], 'v')
local result = 'written'
local at = now
if kind == 'same' then
  if exists and (cur or '') == ARGV[3] then
    redis.call('HSET', KEYS[1], 'at', now, 'fails', 0, 'inv', 0)
  else
    result = 'missing'
  end
elseif kind == 'restore' and exists then
  result = 'exists'
else
  local cv, nv = tonumber(cur), tonumber(ARGV[3])
  if cv and nv and nv < cv then
    result = 'older'
  else
    if kind == 'restore' then at = now - tonumber(ARGV[9]) end
    redis.call('HSET', KEYS[1], 'v', ARGV[3], 'etag', ARGV[4], 'data', ARGV[5], 'at', at, 'fails', 0, 'inv', 0)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
if result == 'written' and kind ~= 'restore' then
  redis.call('PUBLISH', ARGV[7], 'p|' .. ARGV[3] .. '|' .. at .. '|' .. ARGV[8])
end
return result
"#,
    )
});

/// `fail(entry, lease; token, hold_ms)`: the holder's fetch failed. It keeps the lease for the
/// backoff step, so the fleet retries once per step, and counts the failure in the entry.
pub(crate) static FAIL: Lazy<redis::Script> = Lazy::new(|| {
    redis::Script::new(
        r#"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'fails', 1) end
return 1
"#,
    )
});

/// `invalidate(entry, lease; channel, key)`: the entry stops counting as fresh (it stays the last
/// known good), any backoff lease is dropped, and `i|key` tells every process to refresh.
pub(crate) static INVALIDATE: Lazy<redis::Script> = Lazy::new(|| {
    redis::Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'inv', 1) end
redis.call('DEL', KEYS[2])
return redis.call('PUBLISH', ARGV[1], 'i|' .. ARGV[2])
"#,
    )
});
