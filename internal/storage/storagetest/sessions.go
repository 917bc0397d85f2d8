package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/internal/storage"
)

// The lifetimes of docs/api.md defaults.
const (
	idleTTL = 7 * 24 * time.Hour
	maxAge  = 30 * 24 * time.Hour
	grace   = 30 * time.Second
)

// RunSessions runs the [storage.Sessions] conformance suite. newStore must
// return a fresh, empty store for each subtest and clean it up with
// t.Cleanup.
func RunSessions(t *testing.T, newStore func(t *testing.T) storage.Sessions) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Sessions)
	}{
		{"CreateSession", testCreateSession},
		{"CreateSession/Duplicate", testCreateSessionDuplicate},
		{"SessionKey", testSessionKey},
		{"Session/NotFound", testSessionNotFound},
		{"Session/Expired", testSessionExpired},
		{"UserSessions", testUserSessions},
		{"RevokeSession", testRevokeSession},
		{"RevokeUserSessions", testRevokeUserSessions},
		{"Rotate/Live", testRotateLive},
		{"Rotate/Quotas", testRotateQuotas},
		{"Create/Quotas", testCreateQuotas},
		{"Rotate/ExpiryCapped", testRotateExpiryCapped},
		{"Rotate/GraceReplay", testRotateGraceReplay},
		{"Rotate/ReusedAfterGrace", testRotateReusedAfterGrace},
		{"Rotate/ReusedAncestor", testRotateReusedAncestor},
		{"Rotate/Chain", testRotateChain},
		{"Rotate/WrongHash", testRotateWrongHash},
		{"Rotate/WrongPrevHash", testRotateWrongPrevHash},
		{"Rotate/FutureGen", testRotateFutureGen},
		{"Rotate/Unknown", testRotateUnknown},
		{"Rotate/Expired", testRotateExpired},
		{"Rotate/Revoked", testRotateRevoked},
		{"Rotate/MatchesDecideRotation", testRotateMatchesDecide},
		{"Copies", testSessionsCopies},
		{"Ping", func(t *testing.T, s storage.Sessions) {
			if err := s.Ping(t.Context()); err != nil {
				t.Errorf("Ping() = %v, want nil", err)
			}
		}},
		{"Race/CreateSession", testRaceCreateSession},
		{"Race/Rotate", testRaceRotate},
		{"Race/RotateRevoke", testRaceRotateRevoke},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

// tok is the hash of the refresh token of generation gen of session sid.
func tok(sid string, gen uint64) [32]byte {
	return sha256.Sum256(fmt.Appendf(nil, "%s.%d", sid, gen))
}

// sealedKey stands for the sealed session_key of session id: binary, with
// a NUL and bytes that are not UTF-8.
func sealedKey(id string) []byte {
	h := sha256.Sum256([]byte("session_key|" + id))
	return append([]byte{1, 0, 0xff, '\n'}, h[:]...)
}

// newSession is a fresh session opened at at by a mini program login (it
// has a sealed session_key).
func newSession(id, userID string, at time.Time) storage.Session {
	return storage.Session{
		ID: id, UserID: userID, App: "mp", SessionKey: sealedKey(id),
		CreatedAt: at, LastUsedAt: at,
		ExpiresAt: at.Add(idleTTL), MaxExpiresAt: at.Add(maxAge),
		Hash: tok(id, 0),
	}
}

// rotateReq presents the token of generation gen of sid at now.
func rotateReq(sid string, gen uint64, now time.Time) storage.RotateRequest {
	return storage.RotateRequest{
		SessionID: sid, Gen: gen, Hash: tok(sid, gen), NextHash: tok(sid, gen+1),
		Now: now, Grace: grace, IdleTTL: idleTTL,
	}
}

func mustCreate(t *testing.T, s storage.Sessions, sess storage.Session) {
	t.Helper()
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession(%q) = %v, want nil", sess.ID, err)
	}
}

func mustSession(t *testing.T, s storage.Sessions, id string, now time.Time) storage.Session {
	t.Helper()
	sess, err := s.Session(t.Context(), id, now)
	if err != nil {
		t.Fatalf("Session(%q) = %v, want nil", id, err)
	}
	return sess
}

func wantNoSession(t *testing.T, s storage.Sessions, id string, now time.Time) {
	t.Helper()
	if sess, err := s.Session(t.Context(), id, now); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Session(%q) = %+v, %v; want ErrNotFound", id, sess, err)
	}
}

// wantStored checks that the stored session is want.
func wantStored(t *testing.T, s storage.Sessions, want storage.Session, now time.Time) {
	t.Helper()
	if diff := cmp.Diff(want, mustSession(t, s, want.ID, now), cmpOpts); diff != "" {
		t.Errorf("Session(%q) mismatch (-want +got):\n%s", want.ID, diff)
	}
}

// rotate calls Rotate and checks its outcome and, for Rotated and
// GraceReplay, that the session it returns is the stored one.
func rotate(t *testing.T, s storage.Sessions, req storage.RotateRequest, want storage.Outcome) storage.Session {
	t.Helper()
	got, out, err := s.Rotate(t.Context(), req)
	if err != nil {
		t.Fatalf("Rotate(%q, gen %d) = %v, want nil", req.SessionID, req.Gen, err)
	}
	if out != want {
		t.Fatalf("Rotate(%q, gen %d) = %v, want %v", req.SessionID, req.Gen, out, want)
	}
	switch out {
	case storage.Rotated, storage.GraceReplay:
		wantStored(t, s, got, req.Now)
	case storage.Reused:
		// Whose session ended, and nothing else.
		if diff := cmp.Diff(storage.Session{ID: req.SessionID, UserID: got.UserID}, got, cmpOpts); diff != "" || got.UserID == "" {
			t.Errorf("Rotate(%q, gen %d) = Reused with session %+v, want only its ID and UserID (-want +got):\n%s", req.SessionID, req.Gen, got, diff)
		}
	default:
		if diff := cmp.Diff(storage.Session{}, got, cmpOpts); diff != "" {
			t.Errorf("Rotate(%q, gen %d) = %v with a session, want the zero session (-want +got):\n%s", req.SessionID, req.Gen, out, diff)
		}
	}
	return got
}

// rotated is sess after a rotation of its live token at now.
func rotated(sess storage.Session, now time.Time) storage.Session {
	sess.PrevHash = sess.Hash
	sess.Gen++
	sess.Hash = tok(sess.ID, sess.Gen)
	sess.RotatedAt = now
	sess.LastUsedAt = now
	sess.ExpiresAt = storage.SlideExpiry(now, idleTTL, sess.MaxExpiresAt)
	return sess
}

func testCreateSession(t *testing.T, s storage.Sessions) {
	sess := newSession("s1", "u1", t0)
	mustCreate(t, s, sess)
	wantStored(t, s, sess, t0)
	// Every field round-trips, including a chain already under way, and a
	// session with no session_key (not opened by a mini program).
	other := rotated(newSession("s2", "u1", t0), t0.Add(time.Hour))
	other.App = "oa"
	other.SessionKey = nil
	mustCreate(t, s, other)
	wantStored(t, s, other, t0.Add(time.Hour))
}

func testCreateSessionDuplicate(t *testing.T, s storage.Sessions) {
	sess := newSession("s1", "u1", t0)
	mustCreate(t, s, sess)
	dup := newSession("s1", "u2", t0.Add(time.Hour))
	if err := s.CreateSession(t.Context(), dup); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("CreateSession(duplicate id) = %v, want ErrConflict", err)
	}
	wantStored(t, s, sess, t0)
	if got, err := s.UserSessions(t.Context(), "u2", t0.Add(time.Hour)); err != nil || len(got) != 0 {
		t.Errorf("UserSessions(u2) = %d sessions, %v; want 0, nil", len(got), err)
	}
}

func testSessionNotFound(t *testing.T, s storage.Sessions) {
	mustCreate(t, s, newSession("s1", "u1", t0))
	wantNoSession(t, s, "s2", t0)
	wantNoSession(t, s, "", t0)
}

func testSessionExpired(t *testing.T, s storage.Sessions) {
	sess := newSession("s1", "u1", t0)
	mustCreate(t, s, sess)
	wantStored(t, s, sess, sess.ExpiresAt.Add(-time.Nanosecond))
	wantNoSession(t, s, "s1", sess.ExpiresAt)
	wantNoSession(t, s, "s1", sess.ExpiresAt.Add(time.Hour))
}

func testUserSessions(t *testing.T, s storage.Sessions) {
	now := t0.Add(24 * time.Hour)
	s1 := newSession("s1", "u1", t0)
	s2 := newSession("s2", "u1", t0.Add(time.Hour))
	s3 := newSession("s3", "u1", t0.Add(2*time.Hour))
	s3.ExpiresAt = now // expired at now
	old := newSession("s0", "u1", t0.Add(-8*24*time.Hour))
	s4 := newSession("s4", "u2", t0.Add(3*time.Hour))
	for _, sess := range []storage.Session{s2, s1, s3, s4, old} {
		mustCreate(t, s, sess)
	}
	got, err := s.UserSessions(t.Context(), "u1", now)
	if err != nil {
		t.Fatalf("UserSessions(u1) = %v, want nil", err)
	}
	if diff := cmp.Diff([]storage.Session{s2, s1}, got, cmpOpts); diff != "" {
		t.Errorf("UserSessions(u1) mismatch (-want +got):\n%s", diff)
	}
	got, err = s.UserSessions(t.Context(), "nobody", now)
	if err != nil || len(got) != 0 {
		t.Errorf("UserSessions(nobody) = %d sessions, %v; want 0, nil", len(got), err)
	}
}

func testRevokeSession(t *testing.T, s storage.Sessions) {
	mustCreate(t, s, newSession("s1", "u1", t0))
	s2 := newSession("s2", "u1", t0)
	mustCreate(t, s, s2)
	if err := s.RevokeSession(t.Context(), "s1"); err != nil {
		t.Fatalf("RevokeSession(s1) = %v, want nil", err)
	}
	wantNoSession(t, s, "s1", t0)
	if err := s.RevokeSession(t.Context(), "s1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("RevokeSession(s1) again = %v, want ErrNotFound", err)
	}
	if err := s.RevokeSession(t.Context(), "nobody"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("RevokeSession(unknown) = %v, want ErrNotFound", err)
	}
	got, err := s.UserSessions(t.Context(), "u1", t0)
	if err != nil {
		t.Fatalf("UserSessions(u1) = %v, want nil", err)
	}
	if diff := cmp.Diff([]storage.Session{s2}, got, cmpOpts); diff != "" {
		t.Errorf("UserSessions(u1) after revoking s1 mismatch (-want +got):\n%s", diff)
	}
	// A revoked id may not come back through its refresh token.
	rotate(t, s, rotateReq("s1", 0, t0.Add(time.Minute)), storage.Rejected)
}

func testRevokeUserSessions(t *testing.T, s storage.Sessions) {
	for i := range 3 {
		mustCreate(t, s, newSession(fmt.Sprintf("a%d", i), "u1", t0.Add(time.Duration(i)*time.Minute)))
	}
	other := newSession("b", "u2", t0)
	mustCreate(t, s, other)
	n, err := s.RevokeUserSessions(t.Context(), "u1")
	if err != nil || n != 3 {
		t.Errorf("RevokeUserSessions(u1) = %d, %v; want 3, nil", n, err)
	}
	for i := range 3 {
		wantNoSession(t, s, fmt.Sprintf("a%d", i), t0.Add(time.Hour))
	}
	if got, err := s.UserSessions(t.Context(), "u1", t0.Add(time.Hour)); err != nil || len(got) != 0 {
		t.Errorf("UserSessions(u1) = %d sessions, %v; want 0, nil", len(got), err)
	}
	wantStored(t, s, other, t0.Add(time.Hour))
	n, err = s.RevokeUserSessions(t.Context(), "u1")
	if err != nil || n != 0 {
		t.Errorf("RevokeUserSessions(u1) again = %d, %v; want 0, nil", n, err)
	}
}

func testRotateLive(t *testing.T, s storage.Sessions) {
	sess := newSession("s1", "u1", t0)
	mustCreate(t, s, sess)
	now := t0.Add(2 * time.Hour)
	got := rotate(t, s, rotateReq("s1", 0, now), storage.Rotated)
	want := sess
	want.Gen = 1
	want.Hash = tok("s1", 1)
	want.PrevHash = tok("s1", 0)
	want.RotatedAt = now
	want.LastUsedAt = now
	want.ExpiresAt = now.Add(idleTTL)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("Rotate(s1, gen 0) session mismatch (-want +got):\n%s", diff)
	}
}

// testRotateQuotas: quotas are charged with the rotation; one over its
// limit refuses the call with a *LimitError and leaves the session alone.
func testRotateQuotas(t *testing.T, s storage.Sessions) {
	ctx := t.Context()
	mustCreate(t, s, newSession("s1", "u1", t0))
	mustCreate(t, s, newSession("s2", "u1", t0))
	// Mid-window, so that the next minute is the next window.
	now := t0.Truncate(time.Minute).Add(time.Minute + 10*time.Second)
	quotas := func(sid string) []storage.Quota {
		return []storage.Quota{
			{Key: "test_ip:" + t.Name(), Limit: 100, Window: time.Minute},
			{Key: "test_session:" + t.Name() + ":" + sid, Limit: 2, Window: time.Minute},
		}
	}
	for gen := range uint64(2) {
		req := rotateReq("s1", gen, now)
		req.Quotas = quotas("s1")
		rotate(t, s, req, storage.Rotated)
	}
	before := mustSession(t, s, "s1", now)
	req := rotateReq("s1", 2, now)
	req.Quotas = quotas("s1")
	_, _, err := s.Rotate(ctx, req)
	var le *storage.LimitError
	if !errors.Is(err, storage.ErrLimited) || !errors.As(err, &le) || le.RetryAfter < time.Second || le.RetryAfter > time.Minute {
		t.Fatalf("third Rotate in a window with a limit of 2 = %v, want a *LimitError with a retry within the window", err)
	}
	wantStored(t, s, before, now)
	// Other sessions' quotas are their own.
	req = rotateReq("s2", 0, now)
	req.Quotas = quotas("s2")
	rotate(t, s, req, storage.Rotated)
	// The next window counts afresh.
	req = rotateReq("s1", 2, now.Add(time.Minute))
	req.Quotas = quotas("s1")
	rotate(t, s, req, storage.Rotated)
}

// testCreateQuotas: a quota over its limit refuses a new session and
// stores nothing.
func testCreateQuotas(t *testing.T, s storage.Sessions) {
	at := t0.Truncate(time.Minute).Add(time.Minute + 10*time.Second)
	q := []storage.Quota{{Key: "test_user:" + t.Name(), Limit: 2, Window: time.Minute}}
	for _, id := range []string{"s1", "s2"} {
		if err := s.CreateSession(t.Context(), newSession(id, "u1", at), q...); err != nil {
			t.Fatalf("CreateSession(%q) within the quota = %v", id, err)
		}
	}
	err := s.CreateSession(t.Context(), newSession("s3", "u1", at), q...)
	if !errors.Is(err, storage.ErrLimited) {
		t.Fatalf("third CreateSession with a limit of 2 = %v, want a *LimitError", err)
	}
	wantNoSession(t, s, "s3", at)
	list, err := s.UserSessions(t.Context(), "u1", at)
	if err != nil || len(list) != 2 {
		t.Errorf("UserSessions(u1) after a refused create = %d sessions, %v; want 2", len(list), err)
	}
	if err := s.CreateSession(t.Context(), newSession("s3", "u1", at.Add(time.Minute)), q...); err != nil {
		t.Errorf("CreateSession in the next window = %v", err)
	}
}

func testRotateExpiryCapped(t *testing.T, s storage.Sessions) {
	sess := newSession("s1", "u1", t0)
	sess.MaxExpiresAt = t0.Add(idleTTL + time.Hour)
	mustCreate(t, s, sess)
	now := t0.Add(idleTTL - time.Hour) // now+idleTTL is past the cap
	got := rotate(t, s, rotateReq("s1", 0, now), storage.Rotated)
	if !got.ExpiresAt.Equal(sess.MaxExpiresAt) || !got.MaxExpiresAt.Equal(sess.MaxExpiresAt) {
		t.Errorf("Rotate(s1) near MaxExpiresAt: ExpiresAt, MaxExpiresAt = %v, %v; want %v, %v",
			got.ExpiresAt, got.MaxExpiresAt, sess.MaxExpiresAt, sess.MaxExpiresAt)
	}
	// Past the cap the session is over, whatever the idle TTL says.
	rotate(t, s, rotateReq("s1", 1, sess.MaxExpiresAt), storage.Rejected)
	wantNoSession(t, s, "s1", sess.MaxExpiresAt)
}

func testRotateGraceReplay(t *testing.T, s storage.Sessions) {
	mustCreate(t, s, newSession("s1", "u1", t0))
	t1 := t0.Add(time.Hour)
	after := rotate(t, s, rotateReq("s1", 0, t1), storage.Rotated)
	for _, d := range []time.Duration{0, time.Second, grace - time.Nanosecond} {
		got := rotate(t, s, rotateReq("s1", 0, t1.Add(d)), storage.GraceReplay)
		if diff := cmp.Diff(after, got, cmpOpts); diff != "" {
			t.Errorf("Rotate(s1, gen 0) replay %v after rotation mismatch (-want +got):\n%s", d, diff)
		}
	}
	wantStored(t, s, after, t1.Add(grace))
	// The successor still rotates normally afterwards.
	rotate(t, s, rotateReq("s1", 1, t1.Add(grace)), storage.Rotated)
}

func testRotateReusedAfterGrace(t *testing.T, s storage.Sessions) {
	mustCreate(t, s, newSession("s1", "u1", t0))
	mustCreate(t, s, newSession("s2", "u1", t0))
	t1 := t0.Add(time.Hour)
	rotate(t, s, rotateReq("s1", 0, t1), storage.Rotated)
	if got := rotate(t, s, rotateReq("s1", 0, t1.Add(grace)), storage.Reused); got.UserID != "u1" {
		t.Errorf("Rotate(s1, reused).UserID = %q, want u1", got.UserID)
	}
	wantNoSession(t, s, "s1", t1.Add(grace))
	// The whole session is gone: its live token no longer works.
	rotate(t, s, rotateReq("s1", 1, t1.Add(grace)), storage.Rejected)
	if err := s.RevokeSession(t.Context(), "s1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("RevokeSession(s1) after reuse = %v, want ErrNotFound", err)
	}
	got, err := s.UserSessions(t.Context(), "u1", t1.Add(grace))
	if err != nil || len(got) != 1 || got[0].ID != "s2" {
		t.Errorf("UserSessions(u1) after reuse of s1 = %d sessions, %v; want only s2", len(got), err)
	}
}

func testRotateReusedAncestor(t *testing.T, s storage.Sessions) {
	mustCreate(t, s, newSession("s1", "u1", t0))
	rotate(t, s, rotateReq("s1", 0, t0.Add(time.Minute)), storage.Rotated)
	rotate(t, s, rotateReq("s1", 1, t0.Add(2*time.Minute)), storage.Rotated)
	// Generation 0 is two behind: reuse even inside the grace of gen 1.
	rotate(t, s, rotateReq("s1", 0, t0.Add(2*time.Minute)), storage.Reused)
	wantNoSession(t, s, "s1", t0.Add(2*time.Minute))
	rotate(t, s, rotateReq("s1", 2, t0.Add(2*time.Minute)), storage.Rejected)
}

func testRotateChain(t *testing.T, s storage.Sessions) {
	sess := newSession("s1", "u1", t0)
	mustCreate(t, s, sess)
	want := sess
	now := t0
	for gen := range uint64(3) {
		now = now.Add(time.Hour)
		got := rotate(t, s, rotateReq("s1", gen, now), storage.Rotated)
		want = rotated(want, now)
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("Rotate(s1, gen %d) session mismatch (-want +got):\n%s", gen, diff)
		}
	}
	if want.Gen != 3 || want.PrevHash != tok("s1", 2) || want.Hash != tok("s1", 3) {
		t.Fatalf("test bug: chain ended at gen %d", want.Gen)
	}
	wantStored(t, s, want, now)
	rotate(t, s, rotateReq("s1", 2, now.Add(time.Second)), storage.GraceReplay)
	rotate(t, s, rotateReq("s1", 1, now.Add(time.Second)), storage.Reused)
	wantNoSession(t, s, "s1", now.Add(time.Second))
}

func testRotateWrongHash(t *testing.T, s storage.Sessions) {
	sess := newSession("s1", "u1", t0)
	mustCreate(t, s, sess)
	req := rotateReq("s1", 0, t0.Add(time.Minute))
	req.Hash = tok("s1-forged", 0)
	rotate(t, s, req, storage.Rejected)
	wantStored(t, s, sess, t0.Add(time.Minute))
	// The right token still works.
	rotate(t, s, rotateReq("s1", 0, t0.Add(time.Minute)), storage.Rotated)
}

func testRotateWrongPrevHash(t *testing.T, s storage.Sessions) {
	mustCreate(t, s, newSession("s1", "u1", t0))
	after := rotate(t, s, rotateReq("s1", 0, t0.Add(time.Minute)), storage.Rotated)
	for _, d := range []time.Duration{time.Second, grace + time.Second} {
		req := rotateReq("s1", 0, t0.Add(time.Minute+d))
		req.Hash = tok("s1-forged", 0)
		rotate(t, s, req, storage.Rejected)
		wantStored(t, s, after, req.Now)
	}
}

func testRotateFutureGen(t *testing.T, s storage.Sessions) {
	sess := newSession("s1", "u1", t0)
	mustCreate(t, s, sess)
	for _, gen := range []uint64{1, 5, ^uint64(0)} {
		rotate(t, s, rotateReq("s1", gen, t0.Add(time.Minute)), storage.Rejected)
	}
	wantStored(t, s, sess, t0.Add(time.Minute))
}

func testRotateUnknown(t *testing.T, s storage.Sessions) {
	mustCreate(t, s, newSession("s1", "u1", t0))
	rotate(t, s, rotateReq("s2", 0, t0), storage.Rejected)
	wantNoSession(t, s, "s2", t0)
}

func testRotateExpired(t *testing.T, s storage.Sessions) {
	sess := newSession("s1", "u1", t0)
	mustCreate(t, s, sess)
	rotate(t, s, rotateReq("s1", 0, sess.ExpiresAt), storage.Rejected)
	wantNoSession(t, s, "s1", sess.ExpiresAt)
}

func testRotateRevoked(t *testing.T, s storage.Sessions) {
	mustCreate(t, s, newSession("s1", "u1", t0))
	rotate(t, s, rotateReq("s1", 0, t0.Add(time.Minute)), storage.Rotated)
	if n, err := s.RevokeUserSessions(t.Context(), "u1"); err != nil || n != 1 {
		t.Fatalf("RevokeUserSessions(u1) = %d, %v; want 1, nil", n, err)
	}
	rotate(t, s, rotateReq("s1", 1, t0.Add(2*time.Minute)), storage.Rejected)
	rotate(t, s, rotateReq("s1", 0, t0.Add(2*time.Minute)), storage.Rejected)
}

// testRotateMatchesDecideRotation holds the backend to [storage.DecideRotation]
// over a grid of requests: a backend that copies the rules (a script) must
// agree with the Go original on every one.
func testRotateMatchesDecide(t *testing.T, s storage.Sessions) {
	base := newSession("s", "u1", t0)
	base = rotated(rotated(base, t0.Add(time.Hour)), t0.Add(2*time.Hour)) // gen 2
	nows := []time.Duration{2 * time.Hour, 2*time.Hour + grace - 1, 2*time.Hour + grace, 100 * time.Hour, idleTTL + 2*time.Hour}
	i := 0
	for gen := range uint64(5) {
		for _, forged := range []bool{false, true} {
			for _, d := range nows {
				sess := base
				sess.ID = fmt.Sprintf("s%d", i)
				i++
				// Rehash the chain under the new id.
				sess.Hash, sess.PrevHash = tok(sess.ID, 2), tok(sess.ID, 1)
				mustCreate(t, s, sess)
				req := rotateReq(sess.ID, gen, t0.Add(d))
				if forged {
					req.Hash = tok("forged", gen)
				}
				wantSess, wantOut := storage.DecideRotation(&sess, req)
				got, out, err := s.Rotate(t.Context(), req)
				if err != nil || out != wantOut {
					t.Errorf("Rotate(gen %d, forged %v, now +%v) = %v, %v; want %v, nil", gen, forged, d, out, err, wantOut)
					continue
				}
				if diff := cmp.Diff(wantSess, got, cmpOpts); diff != "" {
					t.Errorf("Rotate(gen %d, forged %v, now +%v) session mismatch (-want +got):\n%s", gen, forged, d, diff)
				}
				stored, err := s.Session(t.Context(), sess.ID, req.Now)
				switch wantOut {
				case storage.Rotated, storage.GraceReplay:
					if diff := cmp.Diff(wantSess, stored, cmpOpts); err != nil || diff != "" {
						t.Errorf("Session after Rotate(gen %d, forged %v, now +%v) = %v, mismatch (-want +got):\n%s", gen, forged, d, err, diff)
					}
				case storage.Reused:
					if !errors.Is(err, storage.ErrNotFound) {
						t.Errorf("Session after Rotate(gen %d, now +%v) = %v; want ErrNotFound", gen, d, err)
					}
				case storage.Rejected:
					if sess.Live(req.Now) {
						if diff := cmp.Diff(sess, stored, cmpOpts); err != nil || diff != "" {
							t.Errorf("Session after rejected Rotate(gen %d, forged %v, now +%v) = %v, mismatch (-want +got):\n%s", gen, forged, d, err, diff)
						}
					}
				}
			}
		}
	}
}

func testSessionsCopies(t *testing.T, s storage.Sessions) {
	sess := newSession("s1", "u1", t0)
	in := sess
	in.SessionKey = bytes.Clone(sess.SessionKey)
	mustCreate(t, s, in)
	in.SessionKey[0] ^= 0xff // the caller reuses its buffer
	list, err := s.UserSessions(t.Context(), "u1", t0)
	if err != nil || len(list) != 1 {
		t.Fatalf("UserSessions(u1) = %d sessions, %v; want 1, nil", len(list), err)
	}
	list[0].Gen = 9
	list[0].Hash[0] ^= 0xff
	list[0].UserID = "scribbled"
	list[0].SessionKey[1] ^= 0xff
	got := mustSession(t, s, "s1", t0)
	got.Gen = 7
	got.SessionKey[2] ^= 0xff
	wantStored(t, s, sess, t0)
	for _, out := range []storage.Outcome{storage.Rotated, storage.GraceReplay} {
		r, o, err := s.Rotate(t.Context(), rotateReq("s1", 0, t0.Add(time.Minute)))
		if err != nil || o != out {
			t.Fatalf("Rotate(s1, gen 0) = %v, %v; want %v, nil", o, err, out)
		}
		r.SessionKey[3] ^= 0xff
	}
	if got := mustSession(t, s, "s1", t0.Add(time.Minute)).SessionKey; !bytes.Equal(got, sess.SessionKey) {
		t.Errorf("Session(s1).SessionKey = %x after mutating returned copies, want %x", got, sess.SessionKey)
	}
}

// testSessionKey: the sealed session_key is stored with the session and
// comes back from every read, unchanged by rotations; a session opened
// without one has none.
func testSessionKey(t *testing.T, s storage.Sessions) {
	withKey := newSession("s1", "u1", t0)
	noKey := newSession("s2", "u1", t0.Add(time.Minute))
	noKey.SessionKey = nil
	mustCreate(t, s, withKey)
	mustCreate(t, s, noKey)
	now := t0.Add(time.Hour)
	wantKey := func(what string, got []byte, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Errorf("%s.SessionKey = %x, want %x", what, got, want)
		}
	}
	wantKey("Session(s1)", mustSession(t, s, "s1", now).SessionKey, withKey.SessionKey)
	wantKey("Session(s2)", mustSession(t, s, "s2", now).SessionKey, nil)
	list, err := s.UserSessions(t.Context(), "u1", now)
	if err != nil || len(list) != 2 || list[0].ID != "s2" || list[1].ID != "s1" {
		t.Fatalf("UserSessions(u1) = %d sessions, %v; want s2, s1", len(list), err)
	}
	wantKey("UserSessions(u1)[s2]", list[0].SessionKey, nil)
	wantKey("UserSessions(u1)[s1]", list[1].SessionKey, withKey.SessionKey)

	// Every rotation keeps it; so does a grace replay.
	for gen := range uint64(3) {
		now = now.Add(time.Hour)
		got := rotate(t, s, rotateReq("s1", gen, now), storage.Rotated)
		wantKey(fmt.Sprintf("Rotate(s1, gen %d)", gen), got.SessionKey, withKey.SessionKey)
		got = rotate(t, s, rotateReq("s1", gen, now.Add(time.Second)), storage.GraceReplay)
		wantKey(fmt.Sprintf("Rotate(s1, gen %d) replayed", gen), got.SessionKey, withKey.SessionKey)
	}
	wantKey("Session(s1) after rotations", mustSession(t, s, "s1", now).SessionKey, withKey.SessionKey)
	got := rotate(t, s, rotateReq("s2", 0, now), storage.Rotated)
	wantKey("Rotate(s2)", got.SessionKey, nil)
}

func testRaceCreateSession(t *testing.T, s storage.Sessions) {
	ctx := context.WithoutCancel(t.Context())
	var ok, conflict atomic.Int32
	start(raceN, func(i int) {
		err := s.CreateSession(ctx, newSession("s1", fmt.Sprintf("u%d", i), t0))
		switch {
		case err == nil:
			ok.Add(1)
		case errors.Is(err, storage.ErrConflict):
			conflict.Add(1)
		default:
			t.Errorf("CreateSession(s1) #%d = %v, want nil or ErrConflict", i, err)
		}
	})
	if ok.Load() != 1 || conflict.Load() != raceN-1 {
		t.Errorf("%d concurrent CreateSession(s1): %d nil, %d ErrConflict; want 1, %d", raceN, ok.Load(), conflict.Load(), raceN-1)
	}
}

func testRaceRotate(t *testing.T, s storage.Sessions) {
	ctx := context.WithoutCancel(t.Context())
	mustCreate(t, s, newSession("s1", "u1", t0))
	now := t0.Add(time.Hour)
	outs := make([]storage.Outcome, raceN)
	sessions := make([]storage.Session, raceN)
	errs := make([]error, raceN)
	start(raceN, func(i int) {
		sessions[i], outs[i], errs[i] = s.Rotate(ctx, rotateReq("s1", 0, now))
	})
	count := map[storage.Outcome]int{}
	for i := range raceN {
		if errs[i] != nil {
			t.Errorf("Rotate(s1, gen 0) #%d = %v, want nil", i, errs[i])
			continue
		}
		count[outs[i]]++
		if sessions[i].Gen != 1 || sessions[i].Hash != tok("s1", 1) {
			t.Errorf("Rotate(s1, gen 0) #%d = %v at gen %d, want gen 1 with the successor's hash", i, outs[i], sessions[i].Gen)
		}
	}
	want := map[storage.Outcome]int{storage.Rotated: 1, storage.GraceReplay: raceN - 1}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("%d concurrent Rotate(s1, gen 0) outcomes mismatch (-want +got):\n%s", raceN, diff)
	}
	if got := mustSession(t, s, "s1", now); got.Gen != 1 || got.Hash != tok("s1", 1) || got.PrevHash != tok("s1", 0) {
		t.Errorf("Session(s1) after the race = gen %d, want gen 1 with the successor's hash", got.Gen)
	}
}

func testRaceRotateRevoke(t *testing.T, s storage.Sessions) {
	ctx := context.WithoutCancel(t.Context())
	mustCreate(t, s, newSession("s1", "u1", t0))
	mustCreate(t, s, newSession("s2", "u1", t0))
	now := t0.Add(time.Hour)
	var revoked atomic.Int32
	start(raceN, func(i int) {
		switch i % 3 {
		case 0:
			err := s.RevokeSession(ctx, "s1")
			if err == nil {
				revoked.Add(1)
			} else if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("RevokeSession(s1) #%d = %v, want nil or ErrNotFound", i, err)
			}
		case 1:
			if _, _, err := s.Rotate(ctx, rotateReq("s1", 0, now)); err != nil {
				t.Errorf("Rotate(s1) #%d = %v, want nil", i, err)
			}
		case 2:
			if _, _, err := s.Rotate(ctx, rotateReq("s2", 0, now)); err != nil {
				t.Errorf("Rotate(s2) #%d = %v, want nil", i, err)
			}
		}
	})
	if revoked.Load() != 1 {
		t.Errorf("concurrent RevokeSession(s1) succeeded %d times, want 1", revoked.Load())
	}
	wantNoSession(t, s, "s1", now)
	for gen := range uint64(3) {
		if _, out, err := s.Rotate(t.Context(), rotateReq("s1", gen, now)); err != nil || out != storage.Rejected {
			t.Errorf("Rotate(s1, gen %d) after revocation = %v, %v; want %v, nil", gen, out, err, storage.Rejected)
		}
	}
	if got := mustSession(t, s, "s2", now); got.Gen != 1 {
		t.Errorf("Session(s2).Gen = %d, want 1", got.Gen)
	}
}
