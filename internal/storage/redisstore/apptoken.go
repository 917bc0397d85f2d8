package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/wechat"
)

var _ wechat.TokenCache = (*Store)(nil)

// The app access token cache (reference §2.1, "中控服务器") keeps two keys
// per app, in one slot (the app id is their hash tag):
//
//	wxauth:t:{<appid>}        hash   the token: t the token, e its ExpiresAt (Unix ns, decimal);
//	                                 the key expires at ExpiresAt (PEXPIREAT, rounded up to the ms)
//	wxauth:t:{<appid>}:lock   string the fetch lock: a random value naming its holder, PX its ttl
//
// Every write is one command or one script on one key. Reads compare
// ExpiresAt with the local clock as well, so a token is never served past
// its ExpiresAt even in the millisecond Redis still keeps it.

// appTokenKey is the key of an app's cached access token.
func (s *Store) appTokenKey(appID string) string { return s.prefix + "t:{" + appID + "}" }

// appTokenLockKey is the key of an app's fetch lock, in the token's slot.
func (s *Store) appTokenLockKey(appID string) string { return s.appTokenKey(appID) + ":lock" }

// setAppTokenScript stores a token and its expiry as one hash that expires
// with it.
//
//	KEYS[1]  the token hash
//	ARGV[1]  the token              ARGV[2]  its ExpiresAt, Unix ns
//	ARGV[3]  its ExpiresAt, Unix ms, rounded up (a time already past deletes the key)
var setAppTokenScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 't', ARGV[1], 'e', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
`)

// dropAppTokenScript deletes the token hash if it holds the given token.
//
//	KEYS[1]  the token hash
//	ARGV[1]  the token to drop
//
// Returns 1 if it deleted the hash, 0 if not.
var dropAppTokenScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 't') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// unlockAppTokenScript deletes a fetch lock if the given holder holds it.
//
//	KEYS[1]  the lock
//	ARGV[1]  the holder's value
//
// Returns 1 if it deleted the lock, 0 if not.
var unlockAppTokenScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// AppToken implements [wechat.TokenCache.AppToken] with one HMGET.
// ExpiresAt comes back in UTC, to the nanosecond as it was set.
func (s *Store) AppToken(ctx context.Context, appID string) (wechat.AppToken, bool, error) {
	vals, err := s.client.HMGet(ctx, s.appTokenKey(appID), "t", "e").Result()
	if err != nil {
		return wechat.AppToken{}, false, wrap("get app token", err)
	}
	tok, _ := vals[0].(string)
	e, _ := vals[1].(string)
	if tok == "" && e == "" {
		return wechat.AppToken{}, false, nil
	}
	ns, err := strconv.ParseInt(e, 10, 64)
	if tok == "" || err != nil {
		return wechat.AppToken{}, false, fmt.Errorf("redisstore: get app token of %q: malformed hash (t %d bytes, e %q)", appID, len(tok), e)
	}
	if time.Now().UnixNano() >= ns {
		return wechat.AppToken{}, false, nil
	}
	return wechat.AppToken{Token: tok, ExpiresAt: time.Unix(0, ns).UTC()}, true, nil
}

// SetAppToken implements [wechat.TokenCache.SetAppToken] with one script.
// It replaces the app's token, whatever it was; a tok already expired
// leaves none.
func (s *Store) SetAppToken(ctx context.Context, appID string, tok wechat.AppToken) error {
	switch {
	case tok.Token == "":
		return fmt.Errorf("redisstore: set app token of %q: token is empty", appID)
	case tok.ExpiresAt.IsZero():
		return fmt.Errorf("redisstore: set app token of %q: ExpiresAt is zero", appID)
	}
	ms := tok.ExpiresAt.UnixMilli()
	if tok.ExpiresAt.After(time.UnixMilli(ms)) {
		ms++
	}
	ms = max(ms, 1) // PEXPIREAT refuses what is not positive; 1 is long past
	err := setAppTokenScript.Run(ctx, s.client, []string{s.appTokenKey(appID)},
		tok.Token, tok.ExpiresAt.UnixNano(), ms).Err()
	return wrap("set app token", err)
}

// DropAppToken implements [wechat.TokenCache.DropAppToken] with one
// compare-and-delete script.
func (s *Store) DropAppToken(ctx context.Context, appID, token string) (bool, error) {
	n, err := dropAppTokenScript.Run(ctx, s.client, []string{s.appTokenKey(appID)}, token).Int64()
	if err != nil {
		return false, wrap("drop app token", err)
	}
	return n == 1, nil
}

// LockAppToken implements [wechat.TokenCache.LockAppToken] with SET NX PX
// (a ttl under a millisecond counts as one) and a random value naming the
// holder. release deletes the lock by a compare-and-delete script, so a
// release that comes after the ttl ran out and someone else took the lock
// leaves theirs alone; it may be called more than once. release keeps
// ctx's values but not its cancellation (it often runs deferred, after the
// request is done), and is bounded by the store's timeouts; if it fails,
// the failure is logged and the lock ends with its ttl. When ok is false,
// release is a no-op.
func (s *Store) LockAppToken(ctx context.Context, appID string, ttl time.Duration) (func(), bool, error) {
	if ttl <= 0 {
		return nil, false, fmt.Errorf("redisstore: lock app token of %q: ttl %v is not positive", appID, ttl)
	}
	key := s.appTokenLockKey(appID)
	holder := rand.Text()
	ok, err := s.client.SetNX(ctx, key, holder, max(ttl, time.Millisecond)).Result()
	if err != nil {
		return nil, false, wrap("lock app token", err)
	}
	if !ok {
		return func() {}, false, nil
	}
	release := func() {
		ctx := context.WithoutCancel(ctx)
		err := unlockAppTokenScript.Run(ctx, s.client, []string{key}, holder).Err()
		if err != nil {
			s.log.WarnContext(ctx, "redisstore: release app token lock; it ends with its ttl",
				"app", appID, "err", wrap("unlock app token", err))
		}
	}
	return release, true, nil
}
