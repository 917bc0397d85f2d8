package account_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/internal/account"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
)

// recorder keeps the events it is given.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// revoker ends the sessions in the store, as token.Service.RevokeUser
// does (without the push).
type revoker struct{ s *memstore.Store }

func (r revoker) RevokeUser(ctx context.Context, userID string) (int, error) {
	return r.s.RevokeUserSessions(ctx, userID)
}

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*account.Service, *memstore.Store, *recorder) {
	st := memstore.New()
	rec := &recorder{}
	svc, err := account.New(account.Config{Users: st, Sessions: st, Tokens: revoker{st}, Recorder: rec,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.LinkIdentity(t.Context(), storage.LinkRequest{
		Identity: storage.Identity{AppID: "wxapp", OpenID: "o1"}, NewUser: storage.User{ID: "u1"}, Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(t.Context(), storage.Session{ID: "s1", UserID: "u1", App: "mp", CreatedAt: now,
		LastUsedAt: now, ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return svc, st, rec
}

func types(evs []audit.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Type)+"/"+e.Actor+"/"+e.UserID)
	}
	return out
}

func TestDisableEnableDelete(t *testing.T) {
	svc, st, rec := setup(t)
	ctx := t.Context()
	exp, err := svc.Export(ctx, "u1", account.ActorUser)
	if err != nil || len(exp.Identities) != 1 || len(exp.Sessions) != 1 || exp.Identities[0].OpenID != "o1" {
		t.Fatalf("Export = %+v, %v", exp, err)
	}
	if err := svc.Disable(ctx, "u1", "admin_cli"); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.User(ctx, "u1"); !u.Disabled {
		t.Error("Disable did not set Disabled")
	}
	if l, _ := st.UserSessions(ctx, "u1", now); len(l) != 0 {
		t.Errorf("sessions after Disable = %d, want 0", len(l))
	}
	if err := svc.Enable(ctx, "u1", "admin_cli"); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.User(ctx, "u1"); u.Disabled {
		t.Error("Enable did not clear Disabled")
	}
	if err := svc.Delete(ctx, "u1", account.ActorUser); err != nil {
		t.Fatal(err)
	}
	if _, err := st.User(ctx, "u1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("User after Delete = %v, want ErrNotFound", err)
	}
	want := []string{"account_export/user/u1", "user_disabled/admin_cli/u1", "revoked/admin_cli/u1",
		"user_enabled/admin_cli/u1", "user_deleted/user/u1"}
	if diff := cmp.Diff(want, types(rec.events)); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
	for _, f := range []func() error{
		func() error { return svc.Delete(ctx, "u1", "user") },
		func() error { return svc.Disable(ctx, "u1", "user") },
		func() error { return svc.Enable(ctx, "u1", "user") },
		func() error { _, err := svc.Export(ctx, "u1", "user"); return err },
	} {
		if err := f(); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("on a deleted user = %v, want ErrNotFound", err)
		}
	}
}

// failingRevoker fails its first RevokeUser, as when Redis is away.
type failingRevoker struct {
	revoker
	mu     sync.Mutex
	failed bool
}

var errOutage = errors.New("redis: connection refused")

func (r *failingRevoker) RevokeUser(ctx context.Context, userID string) (int, error) {
	r.mu.Lock()
	first := !r.failed
	r.failed = true
	r.mu.Unlock()
	if first {
		return 0, errOutage
	}
	return r.revoker.RevokeUser(ctx, userID)
}

// A deletion whose revocation failed has erased the user but left its
// session alive; asking again ends the session and answers that the user
// is gone (it may have been merged into another, not deleted).
func TestDeleteAgainFinishesAFailedRevocation(t *testing.T) {
	_, st, rec := setup(t)
	ctx := t.Context()
	svc, err := account.New(account.Config{Users: st, Sessions: st, Tokens: &failingRevoker{revoker: revoker{st}},
		Recorder: rec, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, "u1", account.ActorUser); !errors.Is(err, errOutage) {
		t.Fatalf("Delete with Redis away = %v, want the outage", err)
	}
	if l, _ := st.UserSessions(ctx, "u1", now); len(l) != 1 {
		t.Fatalf("sessions after the failed revocation = %d, want 1", len(l))
	}
	if err := svc.Delete(ctx, "u1", account.ActorUser); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Delete again = %v, want ErrNotFound", err)
	}
	if l, _ := st.UserSessions(ctx, "u1", now); len(l) != 0 {
		t.Errorf("sessions after Delete again = %d, want 0", len(l))
	}
	if err := svc.Delete(ctx, "u1", account.ActorUser); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Delete a third time = %v, want ErrNotFound", err)
	}
	want := []string{"user_deleted/user/u1", "revoked/user/u1"}
	if diff := cmp.Diff(want, types(rec.events)); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := account.New(account.Config{}); err == nil {
		t.Error("New(empty) = nil error")
	}
}
