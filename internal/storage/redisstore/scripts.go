package redisstore

import "github.com/redis/go-redis/v9"

// Each script touches one key, so it runs whole on the node that owns that
// key's slot, in one round trip (EVALSHA; go-redis falls back to EVAL when
// the node does not have the script cached yet).
//
// Times in session hashes are Unix nanoseconds in decimal, beyond the 2^53
// that a Lua number holds exactly; the scripts therefore compare them as
// two exact halves (lt) and never do arithmetic on them. Sums such as
// now+idle TTL are computed in Go and passed in.

// luaCompare compares non-negative decimal integers (up to 9·10^24, so any
// int64 or uint64) exactly; a may also be negative (a grace window reaching
// before 1970).
const luaCompare = `
local function split(s)
  local n = #s
  if n <= 9 then return 0, tonumber(s) end
  return tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8))
end
local function lt(a, b)
  if string.sub(a, 1, 1) == '-' then return true end
  local ah, al = split(a)
  local bh, bl = split(b)
  return ah < bh or (ah == bh and al < bl)
end
-- ms is the Unix millisecond at or just after the nanosecond ns.
local function ms(ns)
  local h, l = split(ns)
  return string.format('%.0f', h * 1000 + math.ceil(l / 1e6))
end
`

// luaQuotas counts quota hits as allowScript counts them: charge(k, a, n)
// takes n counters from KEYS[k…] and their limit, counter lifetime ms and
// retry-after ms from ARGV[a…] (three each), and returns the longest
// retry-after among those over their limit, or nil.
const luaQuotas = `
local function charge(k, a, n)
  local over = nil
  for i = 0, n - 1 do
    local key, j = KEYS[k + i], a + i * 3
    local c = redis.call('INCR', key)
    if c == 1 then redis.call('PEXPIRE', key, ARGV[j + 1]) end
    if c > tonumber(ARGV[j]) then
      local r = tonumber(ARGV[j + 2])
      if not over or r > over then over = r end
    end
  end
  return over
end
`

// createScript stores a new session hash unless the id is taken, after
// charging its quotas (single node only; on a cluster they are charged
// beforehand).
//
//	KEYS[1]  the session hash          KEYS[2…]  quota counters
//	ARGV[1]  its expiry, Unix ms       ARGV[2]   the number of quotas n
//	ARGV[3…] per quota: limit, counter lifetime ms, retry-after ms
//	then     field, value, field, value…
//
// Returns 1 if created, 0 if the key exists, and minus the retry-after ms
// if a quota is over its limit (nothing is created).
var createScript = redis.NewScript(luaQuotas + `
local n = tonumber(ARGV[2])
local over = charge(2, 3, n)
if over then return -over end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3 + n * 3))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`)

// indexScript adds a session to its user's index (a hash sid → the Unix ms
// after which that session is gone for sure: its absolute expiry), drops
// the entries past theirs by the server's clock, and sets the index's
// expiry to the latest that remains, so the index outlives every session
// it lists and then disappears by itself.
//
//	KEYS[1]  the user's index
//	ARGV[1]  session id
//	ARGV[2]  its absolute expiry, Unix ms
var indexScript = redis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local last = 0
for i = 1, #all, 2 do
  local v = tonumber(all[i + 1])
  if v <= now then
    redis.call('HDEL', KEYS[1], all[i])
  elseif v > last then
    last = v
  end
end
if last > 0 then redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', last)) end
return 1
`)

// revokeScript deletes a session, if it exists (and, when ARGV[1] is given,
// belongs to that user), and returns its user id; nil if nothing was
// deleted.
//
//	KEYS[1]  the session hash
//	ARGV[1]  optional user id
var revokeScript = redis.NewScript(`
local u = redis.call('HGET', KEYS[1], 'u')
if not u or (ARGV[1] and ARGV[1] ~= u) then return false end
redis.call('DEL', KEYS[1])
return u
`)

// Outcome codes of rotateScript, as storage.Outcome.
const (
	codeRotated     = 1
	codeGraceReplay = 2
	codeReused      = 3
	codeRejected    = 4
	codeLimited     = 5
)

// rotateScript is storage.DecideRotation on the stored hash, branch for
// branch, with its effects: Rotated writes the next state and slides the
// key's expiry, Reused deletes the session.
//
// DecideRotation compares hashes in constant time; Lua cannot, and string
// equality here may stop at the first differing byte. That leaks nothing
// useful: the values compared are SHA-256 hashes of 73-byte tokens whose
// 256-bit secret is random (or an HMAC), so learning how many leading bytes
// of a stored hash a guess matches does not help to find a token that
// hashes to it; and a presented token has passed its MAC check before any
// look-up.
//
//	KEYS[1]  the session hash
//	KEYS[2…] quota counters (single node only: they are in other slots)
//	ARGV[1]  req.Gen                    ARGV[2]  req.Gen+1 (wrapping, as in Go)
//	ARGV[3]  req.Hash                   ARGV[4]  req.NextHash
//	ARGV[5]  req.Now, ns                ARGV[6]  req.Now-req.Grace, ns
//	ARGV[7]  req.Now+req.IdleTTL, ns    ARGV[8]  the same in ms, rounded up
//	ARGV[9…] per quota: limit, counter lifetime ms, retry-after ms
//
// The quotas are counted first, as allowScript counts; if one is over its
// limit the script returns {codeLimited, the longest retry-after ms} and
// touches nothing else. Otherwise it returns {code, fields} for Rotated and
// GraceReplay (fields as HGETALL after the call), {code, user id} for
// Reused, {code} for Rejected.
var rotateScript = redis.NewScript(luaCompare + luaQuotas + `
local over = charge(2, 9, #KEYS - 1)
if over then return {5, over} end
local raw = redis.call('HGETALL', KEYS[1])
if #raw == 0 then return {4} end
local s = {}
for i = 1, #raw, 2 do s[raw[i]] = raw[i + 1] end
-- Absent or expired: Rejected (the key's own expiry deletes it).
if not s.e or not lt(ARGV[5], s.e) then return {4} end
local gen = s.g or '0'
if ARGV[1] == gen then
  if ARGV[3] ~= s.h then return {4} end
  -- SlideExpiry: now+idle, capped by the absolute expiry.
  local e, e_ms = ARGV[7], ARGV[8]
  if s.m and lt(s.m, e) then e, e_ms = s.m, ms(s.m) end
  redis.call('HSET', KEYS[1], 'g', ARGV[2], 'p', s.h, 'h', ARGV[4], 'r', ARGV[5], 'l', ARGV[5], 'e', e)
  redis.call('PEXPIREAT', KEYS[1], e_ms)
  return {1, redis.call('HGETALL', KEYS[1])}
elseif ARGV[2] == gen then
  if ARGV[3] ~= (s.p or string.rep('\0', 32)) then return {4} end
  -- Inside the grace window: RotatedAt+Grace > Now, i.e. RotatedAt > Now-Grace.
  if s.r and lt(ARGV[6], s.r) then return {2, raw} end
  redis.call('DEL', KEYS[1])
  return {3, s.u}
elseif lt(ARGV[1], gen) then
  redis.call('DEL', KEYS[1])
  return {3, s.u}
end
return {4}
`)

// allowScript counts one hit in a fixed window's counter; the counter
// expires with its window (plus a second, so clocks a little apart never
// see a fresh counter in a window already counted).
//
//	KEYS[1]  the counter (its name holds the window's index)
//	ARGV[1]  ms until the counter may go
//
// Returns the count, this hit included.
var allowScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`)
