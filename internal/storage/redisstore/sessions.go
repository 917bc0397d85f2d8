package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/internal/storage"
)

// Session hash fields. One letter each: a hash this small is kept by Redis
// as one listpack, where every field name costs its own length.
const (
	fUser       = "u"
	fApp        = "a"
	fCreated    = "c" // Unix ns, decimal; absent when zero
	fLastUsed   = "l" // Unix ns
	fExpires    = "e" // Unix ns, always present
	fMaxExpires = "m" // Unix ns, always present
	fGen        = "g" // decimal
	fHash       = "h" // 32 raw bytes
	fPrevHash   = "p" // 32 raw bytes; absent while zero
	fRotated    = "r" // Unix ns; absent while zero
	fSessionKey = "k" // the sealed session_key, raw bytes; absent when empty
)

// sessionKey is the hash of one session. The braces make the id its hash
// tag: every key a session may ever get shares its slot.
func (s *Store) sessionKey(id string) string { return s.prefix + "s:{" + id + "}" }

// userKey is a user's session index.
func (s *Store) userKey(userID string) string { return s.prefix + "u:{" + userID + "}" }

// epoch is the earliest time the store keeps: times are stored as
// non-negative Unix nanoseconds, which the scripts compare exactly.
var epoch = time.Unix(0, 0)

func encodeTime(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// unixMilliCeil is t in Unix ms, rounded up, so that a key expiring then
// outlives t (reads also check ExpiresAt exactly).
func unixMilliCeil(ns int64) int64 {
	ms := ns / 1e6
	if ns%1e6 > 0 {
		ms++
	}
	return ms
}

// checkTimes refuses times the store cannot keep exactly.
func checkTimes(sess storage.Session) error {
	if sess.ExpiresAt.IsZero() || sess.MaxExpiresAt.IsZero() {
		return errors.New("ExpiresAt and MaxExpiresAt are required")
	}
	for _, t := range []time.Time{sess.CreatedAt, sess.LastUsedAt, sess.ExpiresAt, sess.MaxExpiresAt, sess.RotatedAt} {
		if !t.IsZero() && (t.Before(epoch) || t.Year() >= 2262) {
			return fmt.Errorf("time %v out of range (1970–2261)", t)
		}
	}
	return nil
}

// sessionFields is sess as hash fields, zero optional fields left out.
func sessionFields(sess storage.Session) []any {
	f := make([]any, 0, 22)
	f = append(f,
		fUser, sess.UserID, fApp, sess.App,
		fExpires, encodeTime(sess.ExpiresAt), fMaxExpires, encodeTime(sess.MaxExpiresAt),
		fGen, strconv.FormatUint(sess.Gen, 10), fHash, sess.Hash[:])
	for _, t := range []struct {
		name string
		at   time.Time
	}{{fCreated, sess.CreatedAt}, {fLastUsed, sess.LastUsedAt}, {fRotated, sess.RotatedAt}} {
		if !t.at.IsZero() {
			f = append(f, t.name, encodeTime(t.at))
		}
	}
	if sess.PrevHash != ([32]byte{}) {
		f = append(f, fPrevHash, sess.PrevHash[:])
	}
	if len(sess.SessionKey) > 0 {
		f = append(f, fSessionKey, sess.SessionKey)
	}
	return f
}

// decodeSession reads a session hash.
func decodeSession(id string, f map[string]string) (storage.Session, error) {
	sess := storage.Session{ID: id, UserID: f[fUser], App: f[fApp]}
	if v, ok := f[fSessionKey]; ok {
		sess.SessionKey = []byte(v)
	}
	var err error
	times := []struct {
		name string
		to   *time.Time
	}{
		{fCreated, &sess.CreatedAt}, {fLastUsed, &sess.LastUsedAt}, {fExpires, &sess.ExpiresAt},
		{fMaxExpires, &sess.MaxExpiresAt}, {fRotated, &sess.RotatedAt},
	}
	for _, t := range times {
		v, ok := f[t.name]
		if !ok {
			continue
		}
		ns, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			return storage.Session{}, fmt.Errorf("field %s: %w", t.name, perr)
		}
		*t.to = time.Unix(0, ns).UTC()
	}
	if v, ok := f[fGen]; ok {
		if sess.Gen, err = strconv.ParseUint(v, 10, 64); err != nil {
			return storage.Session{}, fmt.Errorf("field %s: %w", fGen, err)
		}
	}
	for _, h := range []struct {
		name string
		to   *[32]byte
	}{{fHash, &sess.Hash}, {fPrevHash, &sess.PrevHash}} {
		v, ok := f[h.name]
		if !ok {
			continue
		}
		if len(v) != len(h.to) {
			return storage.Session{}, fmt.Errorf("field %s: %d bytes, want %d", h.name, len(v), len(h.to))
		}
		copy(h.to[:], v)
	}
	return sess, nil
}

// pairs turns a flat field, value list from a script into a map.
func pairs(v any) (map[string]string, error) {
	list, ok := v.([]any)
	if !ok || len(list)%2 != 0 {
		return nil, fmt.Errorf("unexpected reply %T", v)
	}
	m := make(map[string]string, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		k, ok1 := list[i].(string)
		val, ok2 := list[i+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("unexpected reply element %T, %T", list[i], list[i+1])
		}
		m[k] = val
	}
	return m, nil
}

// CreateSession implements [storage.Sessions.CreateSession] in two steps:
// the session hash (createScript: refused if the id exists), then the
// user's index (indexScript). In that order, a concurrent
// RevokeUserSessions either sees the new session in the index or misses it
// entirely, never deletes the index entry of a session it did not delete.
// If the index cannot be written the session is deleted again and the
// error returned.
//
// On one node (or Sentinel) both scripts go in one pipeline: one round
// trip, executed in order on one connection. On a cluster the two keys
// live on different nodes, which would run a pipeline's commands in no
// particular order, so the steps are sequential there.
func (s *Store) CreateSession(ctx context.Context, sess storage.Session, quotas ...storage.Quota) error {
	if err := checkTimes(sess); err != nil {
		return fmt.Errorf("redisstore: create session %q: %w", sess.ID, err)
	}
	qkeys, qargs, err := s.quotas(ctx, quotas, sess.CreatedAt)
	if err != nil {
		return err
	}
	create := scriptCall{createScript, append([]string{s.sessionKey(sess.ID)}, qkeys...),
		append(append([]any{unixMilliCeil(sess.ExpiresAt.UnixNano()), len(qkeys)}, qargs...), sessionFields(sess)...)}
	until := unixMilliCeil(max(sess.ExpiresAt.UnixNano(), sess.MaxExpiresAt.UnixNano()))
	index := scriptCall{indexScript, []string{s.userKey(sess.UserID)}, []any{sess.ID, until}}

	var created, indexed *redis.Cmd
	if _, ok := s.client.(*redis.ClusterClient); ok {
		created = create.run(ctx, s.client)
		if n, err := created.Int(); err == nil && n == 1 {
			indexed = index.run(ctx, s.client)
		}
	} else {
		created, indexed = s.createPipelined(ctx, create, index)
	}
	n, err := created.Int()
	if err != nil {
		return wrap("create session", err)
	}
	if n < 0 {
		// A quota refused it: nothing was created, but the pipelined index
		// entry was written; take it back.
		if indexed != nil {
			s.unindexForeign(ctx, sess)
		}
		return &storage.LimitError{Key: limitedKey(quotas), RetryAfter: time.Duration(-n) * time.Millisecond}
	}
	if n == 0 {
		if indexed != nil {
			s.unindexForeign(ctx, sess)
		}
		return fmt.Errorf("redisstore: session %q exists: %w", sess.ID, storage.ErrConflict)
	}
	if err := indexed.Err(); err != nil {
		if derr := s.client.Del(context.WithoutCancel(ctx), create.keys[0]).Err(); derr != nil {
			s.log.WarnContext(ctx, "redisstore: session left out of its user's index", "sid", sess.ID, "user_id", sess.UserID, "err", derr)
		}
		return wrap("index session", err)
	}
	return nil
}

// scriptCall is one run of a script.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// run runs c on its own (EVALSHA, then EVAL if the node lacks the script).
func (c scriptCall) run(ctx context.Context, client redis.Scripter) *redis.Cmd {
	return c.script.Run(ctx, client, c.keys, c.args...)
}

// isNoScript reports whether a script was refused because the node did not
// have it cached.
func isNoScript(err error) bool {
	return errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT")
}

// createPipelined runs create and then index in one pipeline, by their
// SHA1. When a node lacks a script (a restart, SCRIPT FLUSH), what did not
// run is sent again with its text, still create before index: if create
// did not run, index runs again after it, so the entry is in place once
// the session exists even if a concurrent RevokeUserSessions dropped the
// first one as stale.
func (s *Store) createPipelined(ctx context.Context, create, index scriptCall) (created, indexed *redis.Cmd) {
	pipe := s.client.Pipeline()
	created = create.script.EvalSha(ctx, pipe, create.keys, create.args...)
	indexed = index.script.EvalSha(ctx, pipe, index.keys, index.args...)
	_, _ = pipe.Exec(ctx) // errors are per command
	switch {
	case isNoScript(created.Err()):
		pipe = s.client.Pipeline()
		created = create.script.Eval(ctx, pipe, create.keys, create.args...)
		indexed = index.script.Eval(ctx, pipe, index.keys, index.args...)
		_, _ = pipe.Exec(ctx)
	case isNoScript(indexed.Err()):
		indexed = index.script.Eval(ctx, s.client, index.keys, index.args...)
	}
	return created, indexed
}

// unindexForeign undoes the index entry that a pipelined create added for
// an id that was taken, unless the session holding the id is this user's
// (a create sent again after a lost reply), whose entry it is. A failure
// leaves an entry that reads ignore (the session's user is checked) and
// RevokeUserSessions removes.
func (s *Store) unindexForeign(ctx context.Context, sess storage.Session) {
	owner, err := s.client.HGet(context.WithoutCancel(ctx), s.sessionKey(sess.ID), fUser).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		s.log.WarnContext(ctx, "redisstore: stale entry left in a user's session index", "sid", sess.ID, "user_id", sess.UserID, "err", err)
		return
	}
	if owner != sess.UserID {
		s.unindex(ctx, sess.UserID, sess.ID)
	}
}

// Session implements [storage.Sessions.Session] with one HGETALL.
func (s *Store) Session(ctx context.Context, id string, now time.Time) (storage.Session, error) {
	f, err := s.client.HGetAll(ctx, s.sessionKey(id)).Result()
	if err != nil {
		return storage.Session{}, wrap("session", err)
	}
	if len(f) == 0 {
		return storage.Session{}, fmt.Errorf("redisstore: session %q: %w", id, storage.ErrNotFound)
	}
	sess, err := decodeSession(id, f)
	if err != nil {
		return storage.Session{}, fmt.Errorf("redisstore: session %q: %w", id, err)
	}
	if !sess.Live(now) {
		return storage.Session{}, fmt.Errorf("redisstore: session %q: %w", id, storage.ErrNotFound)
	}
	return sess, nil
}

// Rotate implements [storage.Sessions.Rotate] with one script run (see
// rotateScript). An expired session is left to its key's expiry. On Reused
// the session is deleted by the script and its index entry right after.
func (s *Store) Rotate(ctx context.Context, req storage.RotateRequest) (storage.Session, storage.Outcome, error) {
	if req.Now.Before(epoch) || req.Now.Year() >= 2262 {
		return storage.Session{}, 0, fmt.Errorf("redisstore: rotate %q: Now %v out of range", req.SessionID, req.Now)
	}
	now := req.Now.UnixNano()
	idleEnd := addSat(now, req.IdleTTL.Nanoseconds())
	qkeys, qargs, err := s.quotas(ctx, req.Quotas, req.Now)
	if err != nil {
		return storage.Session{}, 0, err
	}
	args := append([]any{
		strconv.FormatUint(req.Gen, 10), strconv.FormatUint(req.Gen+1, 10),
		req.Hash[:], req.NextHash[:],
		now, addSat(now, -req.Grace.Nanoseconds()),
		max(idleEnd, 0), unixMilliCeil(max(idleEnd, 0)),
	}, qargs...)
	res, err := rotateScript.Run(ctx, s.client, append([]string{s.sessionKey(req.SessionID)}, qkeys...), args...).Slice()
	if err != nil {
		return storage.Session{}, 0, wrap("rotate", err)
	}
	var code int64
	if len(res) > 0 {
		code, _ = res[0].(int64)
	}
	switch code {
	case codeRotated, codeGraceReplay:
		if len(res) != 2 {
			break
		}
		f, err := pairs(res[1])
		if err != nil {
			return storage.Session{}, 0, fmt.Errorf("redisstore: rotate %q: %w", req.SessionID, err)
		}
		sess, err := decodeSession(req.SessionID, f)
		if err != nil {
			return storage.Session{}, 0, fmt.Errorf("redisstore: rotate %q: %w", req.SessionID, err)
		}
		if code == codeRotated {
			return sess, storage.Rotated, nil
		}
		return sess, storage.GraceReplay, nil
	case codeReused:
		if len(res) != 2 {
			break
		}
		userID, _ := res[1].(string)
		s.unindex(ctx, userID, req.SessionID)
		return storage.Session{ID: req.SessionID, UserID: userID}, storage.Reused, nil
	case codeRejected:
		return storage.Session{}, storage.Rejected, nil
	case codeLimited:
		if len(res) != 2 {
			break
		}
		ms, _ := res[1].(int64)
		return storage.Session{}, 0, &storage.LimitError{Key: limitedKey(req.Quotas), RetryAfter: time.Duration(ms) * time.Millisecond}
	}
	return storage.Session{}, 0, fmt.Errorf("redisstore: rotate %q: unexpected reply %v", req.SessionID, res)
}

// addSat is a+b, saturated to the int64 range.
func addSat(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

// unindex removes deleted sessions from their user's index. The sessions are
// gone already, so a failure only leaves stale entries, which UserSessions
// prunes and the index's expiry ends: it is logged, not returned.
func (s *Store) unindex(ctx context.Context, userID string, ids ...string) {
	if len(ids) == 0 {
		return
	}
	if err := s.client.HDel(context.WithoutCancel(ctx), s.userKey(userID), ids...).Err(); err != nil {
		s.log.WarnContext(ctx, "redisstore: stale entries left in a user's session index", "user_id", userID, "err", err)
	}
}

// RevokeSession implements [storage.Sessions.RevokeSession]: one script
// deletes the session atomically, then its index entry goes.
func (s *Store) RevokeSession(ctx context.Context, id string) error {
	userID, err := revokeScript.Run(ctx, s.client, []string{s.sessionKey(id)}).Text()
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: session %q: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return wrap("revoke session", err)
	}
	s.unindex(ctx, userID, id)
	return nil
}

// RevokeUserSessions implements [storage.Sessions.RevokeUserSessions]: each
// session in the user's index is deleted by its own atomic script (the
// sessions live in different slots), pipelined; the count is of sessions
// that still existed. A session created while this runs is either deleted
// or stays indexed for the next call.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string) (int, error) {
	ids, err := s.client.HKeys(ctx, s.userKey(userID)).Result()
	if err != nil {
		return 0, wrap("revoke user sessions", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	cmds := s.runPipelined(ctx, revokeScript, ids, func(id string) ([]string, []any) {
		return []string{s.sessionKey(id)}, []any{userID}
	})
	n := 0
	var done []string
	for i, c := range cmds {
		switch err := c.Err(); {
		case err == nil:
			n++
			done = append(done, ids[i])
		case errors.Is(err, redis.Nil):
			done = append(done, ids[i])
		default:
			s.unindex(ctx, userID, done...)
			return n, wrap("revoke user sessions", err)
		}
	}
	s.unindex(ctx, userID, done...)
	return n, nil
}

// runPipelined runs script once per item in one pipeline (per node, on a
// cluster) and returns the commands in item order, each with its own result
// or error. Items whose node did not have the script cached yet run again
// with EVAL.
func (s *Store) runPipelined(ctx context.Context, script *redis.Script, items []string, call func(string) ([]string, []any)) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(items))
	pipe := s.client.Pipeline()
	for i, it := range items {
		keys, args := call(it)
		cmds[i] = script.EvalSha(ctx, pipe, keys, args...)
	}
	_, _ = pipe.Exec(ctx) // errors are per command
	var again []int
	for i, c := range cmds {
		if err := c.Err(); errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT") {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return cmds
	}
	pipe = s.client.Pipeline()
	for _, i := range again {
		keys, args := call(items[i])
		cmds[i] = script.Eval(ctx, pipe, keys, args...)
	}
	_, _ = pipe.Exec(ctx)
	return cmds
}

// UserSessions implements [storage.Sessions.UserSessions]: the index, then
// every listed session in one pipeline. Entries whose session is gone are
// pruned from the index on the way.
func (s *Store) UserSessions(ctx context.Context, userID string, now time.Time) ([]storage.Session, error) {
	ids, err := s.client.HKeys(ctx, s.userKey(userID)).Result()
	if err != nil {
		return nil, wrap("user sessions", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.sessionKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, wrap("user sessions", err)
	}
	var out []storage.Session
	var gone []string
	for i, c := range cmds {
		f := c.Val()
		if len(f) == 0 {
			gone = append(gone, ids[i])
			continue
		}
		sess, err := decodeSession(ids[i], f)
		if err != nil {
			return nil, fmt.Errorf("redisstore: session %q: %w", ids[i], err)
		}
		if sess.UserID == userID && sess.Live(now) {
			out = append(out, sess)
		}
	}
	s.unindex(ctx, userID, gone...)
	slices.SortFunc(out, func(a, b storage.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// limitedKey names the quotas of a refused rotation in the error: the script
// says only how long to wait.
func limitedKey(qs []storage.Quota) string {
	keys := make([]string, len(qs))
	for i, q := range qs {
		keys[i] = q.Key
	}
	return strings.Join(keys, "|")
}

// quotas prepares quota counters for a script that charges them (see
// luaQuotas): on one node they ride along in the same script, one round
// trip; on a cluster they live in other slots than the session, so they are
// charged here first, one call each, and the script gets none.
func (s *Store) quotas(ctx context.Context, quotas []storage.Quota, now time.Time) (keys []string, args []any, err error) {
	if _, cluster := s.client.(*redis.ClusterClient); cluster {
		for _, q := range quotas {
			ok, retry, err := s.Allow(ctx, q.Key, q.Limit, q.Window, now)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				return nil, nil, &storage.LimitError{Key: q.Key, RetryAfter: retry}
			}
		}
		return nil, nil, nil
	}
	for _, q := range quotas {
		if q.Window <= 0 {
			return nil, nil, fmt.Errorf("redisstore: quota %q: window %v is not positive", q.Key, q.Window)
		}
		c := s.counter(q.Key, q.Window, now)
		keys = append(keys, c.key)
		args = append(args, q.Limit, c.keep.Milliseconds(), c.retry.Milliseconds())
	}
	return keys, args, nil
}
