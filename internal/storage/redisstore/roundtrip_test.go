package redisstore

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/internal/ratelimit"
	"github.com/wxauth/wxauth/internal/signer"
	"github.com/wxauth/wxauth/internal/token"
)

// countHook counts what the client sends to Redis: a command or a pipeline
// is one round trip.
type countHook struct{ n atomic.Int32 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// A refresh with every refresh limit on is one round trip to Redis: the
// policy's quotas are charged inside the rotation script.
func TestRefreshOneRoundTripWithLimits(t *testing.T) {
	s := openTest(t, testURL(t, "WXAUTH_TEST_REDIS_URL"))
	now := time.Now()
	key, err := signer.Generate(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := signer.NewSet(key)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.New(token.Config{Issuer: "https://auth.example.com", Keys: keys, Sessions: s,
		Secret: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	rule := func(name string) ratelimit.Rule {
		r, err := ratelimit.ParseRule(name, "1000/1m")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	policy := ratelimit.NewPolicy(ratelimit.Rules{RefreshPerIP: rule("refresh_ip"), RefreshPerSession: rule("refresh_session")}, s, s, nil)
	ctx := t.Context()
	pair, err := tokens.Open(ctx, token.OpenRequest{UserID: "u1", App: "mp"})
	if err != nil {
		t.Fatal(err)
	}
	refresh := func(rt string) token.Pair {
		t.Helper()
		sid, _ := tokens.RefreshSessionID(rt)
		quotas := policy.Refresh("203.0.113.7", sid)
		if len(quotas) != 2 {
			t.Fatalf("policy.Refresh = %d quotas, want 2", len(quotas))
		}
		next, err := tokens.Refresh(ctx, rt, quotas...)
		if err != nil {
			t.Fatalf("Refresh = %v", err)
		}
		return next
	}
	pair = refresh(pair.RefreshToken) // loads the script
	hook := &countHook{}
	s.client.AddHook(hook)
	for range 5 {
		pair = refresh(pair.RefreshToken)
	}
	if n := hook.n.Load(); n != 5 {
		t.Errorf("5 refreshes with limits on sent %d commands to Redis, want 5", n)
	}
}
