package admin_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/wxauth/wxauth/internal/account"
	"github.com/wxauth/wxauth/internal/admin"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
)

// trail keeps what was recorded.
type trail struct {
	mu     sync.Mutex
	events []audit.Event
}

func (t *trail) Record(e audit.Event) { t.mu.Lock(); t.events = append(t.events, e); t.mu.Unlock() }

// revoker ends sessions in the store, as token.Service does without its push.
type revoker struct{ s storage.Sessions }

func (r revoker) Revoke(ctx context.Context, sid string) error { return r.s.RevokeSession(ctx, sid) }
func (r revoker) RevokeUser(ctx context.Context, uid string) (int, error) {
	return r.s.RevokeUserSessions(ctx, uid)
}

// flakyRevoker is a revoker whose RevokeUser calls run before in turn:
// a hook can open a session or fail, as a racing login or a Redis outage.
type flakyRevoker struct {
	revoker
	mu     sync.Mutex
	before []func() error
}

func (r *flakyRevoker) RevokeUser(ctx context.Context, uid string) (int, error) {
	r.mu.Lock()
	var hook func() error
	if len(r.before) > 0 {
		hook, r.before = r.before[0], r.before[1:]
	}
	r.mu.Unlock()
	if hook != nil {
		if err := hook(); err != nil {
			return 0, err
		}
	}
	return r.revoker.RevokeUser(ctx, uid)
}

// A merge whose second revocation fails has merged, says so with an error,
// and leaves the absorbed user's late session alive; revoking the absorbed
// user's sessions afterwards ends it, though the user is gone.
func TestRevokeFinishesAFailedMerge(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	st := memstore.New()
	session := func(id, uid string) error {
		return st.CreateSession(ctx, storage.Session{ID: id, UserID: uid, App: "mp", CreatedAt: now, LastUsedAt: now,
			ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(time.Hour)})
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := st.LinkIdentity(ctx, storage.LinkRequest{Identity: storage.Identity{AppID: "wxapp", OpenID: "o-" + u},
			NewUser: storage.User{ID: u}, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := session("s-bob", "bob"); err != nil {
		t.Fatal(err)
	}
	outage := errors.New("redis: connection refused")
	rv := &flakyRevoker{revoker: revoker{st}, before: []func() error{
		func() error { return nil },
		func() error { return errors.Join(session("s-late", "bob"), outage) }, // a login lands, then Redis goes
	}}
	tr := &trail{}
	clock := func() time.Time { return now }
	accts, err := account.New(account.Config{Users: st, Sessions: st, Tokens: rv, Recorder: tr, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := admin.New(admin.Config{Users: st, Sessions: st, Tokens: rv, Accounts: accts, Audit: tr, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Merge(ctx, "admin_cli", "alice", "bob"); !errors.Is(err, outage) {
		t.Fatalf("Merge with the second revocation failing = %v, want the outage", err)
	}
	if _, err := st.User(ctx, "bob"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("bob after the merge: %v, want merged away", err)
	}
	if live, _ := st.UserSessions(ctx, "bob", now); len(live) != 1 {
		t.Fatalf("bob's live sessions after the failed revocation = %d, want the late one", len(live))
	}
	if n, err := svc.RevokeUser(ctx, "admin_cli", "bob"); err != nil || n != 1 {
		t.Fatalf("RevokeUser(bob), bob gone = %d, %v; want 1 session ended", n, err)
	}
	if live, _ := st.UserSessions(ctx, "bob", now); len(live) != 0 {
		t.Fatalf("bob's live sessions after RevokeUser = %d, want 0", len(live))
	}
	if _, err := svc.RevokeUser(ctx, "admin_cli", "bob"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("RevokeUser(bob) with nothing left = %v, want ErrNotFound", err)
	}
}

// Each action records one event naming the actor, the user and, for a
// session, the session; an action on an unknown user records nothing.
func TestActionsAreAudited(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	st := memstore.New()
	if _, err := st.LinkIdentity(ctx, storage.LinkRequest{Identity: storage.Identity{AppID: "wxapp", OpenID: "o1", UnionID: "u1"},
		NewUser: storage.User{ID: "alice"}, Now: now}); err != nil {
		t.Fatal(err)
	}
	for _, sid := range []string{"s1", "s2"} {
		if err := st.CreateSession(ctx, storage.Session{ID: sid, UserID: "alice", App: "mp", CreatedAt: now, LastUsedAt: now,
			ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.UpdateUser(ctx, "alice", func(u *storage.User) error { u.Phone = "+8613800000000"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LinkIdentity(ctx, storage.LinkRequest{Identity: storage.Identity{AppID: "wxapp", OpenID: "o2"},
		NewUser: storage.User{ID: "bob"}, Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, storage.Session{ID: "s3", UserID: "bob", App: "mp", CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(time.Hour), MaxExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tr := &trail{}
	clock := func() time.Time { return now }
	accts, err := account.New(account.Config{Users: st, Sessions: st, Tokens: revoker{st}, Recorder: tr, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := admin.New(admin.Config{Users: st, Sessions: st, Tokens: revoker{st}, Accounts: accts, Audit: tr, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	const actor = "service_key:ops"
	if users, err := svc.Find(ctx, actor, admin.Query{UnionID: "u1"}); err != nil || len(users) != 1 || users[0].ID != "alice" {
		t.Fatalf("Find(unionid u1) = %v, %v; want alice", users, err)
	}
	if users, err := svc.Find(ctx, actor, admin.Query{AppID: "wxapp", OpenID: "o1"}); err != nil || len(users) != 1 || users[0].ID != "alice" {
		t.Fatalf("Find(openid o1) = %v, %v; want alice", users, err)
	}
	for _, q := range []admin.Query{{OpenID: "o1"}, {Phone: "+8613800000000"}} {
		if users, err := svc.Find(ctx, actor, q); err != nil || len(users) != 1 || users[0].ID != "alice" {
			t.Fatalf("Find(%+v) = %v, %v; want alice", q, users, err)
		}
	}
	for _, q := range []admin.Query{{}, {AppID: "wxapp"}, {Phone: "+8613800000000", OpenID: "o1"}, {ID: "alice", UnionID: "u1"}, {ID: "alice", AppID: "wxapp"}} {
		if _, err := svc.Find(ctx, actor, q); !errors.Is(err, admin.ErrInvalidQuery) {
			t.Errorf("Find(%+v) = %v, want ErrInvalidQuery", q, err)
		}
	}
	a, err := svc.Show(ctx, actor, "alice")
	if err != nil || len(a.Identities) != 1 || len(a.Sessions) != 2 {
		t.Fatalf("Show(alice) = %+v, %v", a, err)
	}
	if err := svc.RevokeSession(ctx, actor, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RevokeSession(ctx, actor, "s1"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("RevokeSession(s1) again = %v, want ErrNotFound", err)
	}
	if n, err := svc.RevokeUser(ctx, actor, "alice"); err != nil || n != 1 {
		t.Errorf("RevokeUser(alice) = %d, %v; want 1", n, err)
	}
	if _, _, err := svc.Merge(ctx, actor, "alice", "alice"); !errors.Is(err, admin.ErrSameUser) {
		t.Errorf("Merge(alice, alice) = %v, want ErrSameUser", err)
	}
	if u, n, err := svc.Merge(ctx, actor, "alice", "bob"); err != nil || u.ID != "alice" || n != 1 {
		t.Errorf("Merge(alice, bob) = %v, %d, %v; want alice, 1 session ended", u, n, err)
	}
	if live, _ := st.UserSessions(ctx, "bob", now); len(live) != 0 {
		t.Errorf("bob's sessions after the merge = %d, want 0", len(live))
	}
	if _, err := svc.Show(ctx, actor, "bob"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("Show(bob) = %v, want ErrNotFound", err)
	}
	if _, err := svc.RevokeUser(ctx, actor, "bob"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("RevokeUser(bob) = %v, want ErrNotFound", err)
	}
	for name, act := range map[string]func(context.Context, string, string) error{"Disable": svc.Disable, "Enable": svc.Enable, "Delete": svc.Delete} {
		if err := act(ctx, actor, "bob"); !errors.Is(err, admin.ErrNotFound) {
			t.Errorf("%s(bob) = %v, want ErrNotFound", name, err)
		}
	}
	if err := svc.Disable(ctx, actor, "alice"); err != nil {
		t.Fatal(err)
	}
	if a, _ := svc.Show(ctx, actor, "alice"); !a.User.Disabled {
		t.Error("alice is not disabled after Disable")
	}
	if err := svc.Enable(ctx, actor, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, actor, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.User(ctx, "alice"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("alice after Delete: %v, want ErrNotFound", err)
	}
	want := []audit.Event{
		{Type: audit.AdminAction, At: now, UserID: "alice", Actor: actor, Detail: "find by unionid"},
		{Type: audit.AdminAction, At: now, UserID: "alice", Actor: actor, Detail: "find by openid"},
		{Type: audit.AdminAction, At: now, UserID: "alice", Actor: actor, Detail: "find by openid"},
		{Type: audit.AdminAction, At: now, UserID: "alice", Actor: actor, Detail: "find by phone"},
		{Type: audit.AdminAction, At: now, UserID: "alice", Actor: actor, Detail: "show"},
		{Type: audit.Revoked, At: now, UserID: "alice", SessionID: "s1", App: "mp", Actor: actor, Detail: "by admin"},
		{Type: audit.Revoked, At: now, UserID: "alice", Actor: actor, Detail: "by admin, sessions: 1"},
		{Type: audit.UsersMerged, At: now, UserID: "alice", OtherUserID: "bob", Actor: actor, Detail: "sessions of bob ended: 1"},
		{Type: audit.UserDisabled, At: now, UserID: "alice", Actor: actor, Detail: "sessions: 0"},
		{Type: audit.AdminAction, At: now, UserID: "alice", Actor: actor, Detail: "show"},
		{Type: audit.UserEnabled, At: now, UserID: "alice", Actor: actor},
		{Type: audit.UserDeleted, At: now, UserID: "alice", Actor: actor, Detail: "identities: 2, sessions: 0"},
	}
	if diff := cmp.Diff(want, tr.events, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
}
