package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/internal/storage"
)

var _ storage.Revocations = (*Store)(nil)

// Revocations live in two keys: a sorted set of sids scored by the Unix ms
// until which they are in force (so a new instance can start with the
// whole picture, and old entries are trimmed by score), and a pub/sub
// channel for the ones that happen while an instance runs. On a Redis
// Cluster, PUBLISH reaches subscribers on every node.
func (s *Store) revokedKey() string     { return s.prefix + "revoked" }
func (s *Store) revokedChannel() string { return s.prefix + "revoked:events" }

type revokedEvent struct {
	SID   string `json:"sid"`
	Until int64  `json:"until_ms"`
}

// PublishRevoked implements [storage.Revocations.PublishRevoked]: ZADD the
// record (trimming what has expired), then PUBLISH, in one pipeline where
// the client allows it.
func (s *Store) PublishRevoked(ctx context.Context, r storage.RevokedSession) error {
	until := r.Until.UnixMilli()
	msg, err := json.Marshal(revokedEvent{SID: r.SID, Until: until})
	if err != nil {
		return err
	}
	key := s.revokedKey()
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAddGT(ctx, key, redis.Z{Score: float64(until), Member: r.SID})
		p.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(time.Now().UnixMilli(), 10))
		// The set outlives its newest entry, then goes: set an expiry if it
		// has none, and only ever push it later.
		keep := strconv.FormatInt(until+time.Minute.Milliseconds(), 10)
		p.Do(ctx, "PEXPIREAT", key, keep, "NX")
		p.Do(ctx, "PEXPIREAT", key, keep, "GT")
		p.Publish(ctx, s.revokedChannel(), msg)
		return nil
	})
	if err != nil {
		return wrap("publish revocation", err)
	}
	return nil
}

// RecentRevocations implements [storage.Revocations.RecentRevocations].
func (s *Store) RecentRevocations(ctx context.Context, now time.Time) ([]storage.RevokedSession, error) {
	zs, err := s.client.ZRangeByScoreWithScores(ctx, s.revokedKey(), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now.UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, wrap("recent revocations", err)
	}
	out := make([]storage.RevokedSession, 0, len(zs))
	for _, z := range zs {
		sid, _ := z.Member.(string)
		out = append(out, storage.RevokedSession{SID: sid, Until: time.UnixMilli(int64(z.Score))})
	}
	return out, nil
}

// SubscribeRevoked implements [storage.Revocations.SubscribeRevoked]. A
// broken connection ends the call with an ErrUnavailable error; the caller
// resubscribes (and reloads RecentRevocations to cover the gap).
func (s *Store) SubscribeRevoked(ctx context.Context, ready func(), fn func(storage.RevokedSession)) error {
	return s.follow(ctx, s.revokedChannel(), "revocation feed", ready, func(payload string) {
		var ev revokedEvent
		if err := json.Unmarshal([]byte(payload), &ev); err != nil || ev.SID == "" {
			s.log.WarnContext(ctx, "redisstore: malformed revocation event", "err", fmt.Sprint(err))
			return
		}
		fn(storage.RevokedSession{SID: ev.SID, Until: time.UnixMilli(ev.Until)})
	})
}
