package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/wxauth/wxauth/internal/storage"
)

// t0 is the suites' epoch. It carries nanoseconds so that a backend that
// rounds times fails. It is the real time the tests start (to the second):
// a backend whose expiry runs on a real clock (Redis key TTLs) must not
// drop a record the suite still expects; every other time derives from t0.
var t0 = time.Now().UTC().Truncate(time.Second).Add(123456789)

// cmpOpts lets a backend return a nil or an empty slice (a session's
// SessionKey) alike.
var cmpOpts = cmpopts.EquateEmpty()

// raceN is how many goroutines the race tests start.
const raceN = 50

// RunUsers runs the [storage.Users] conformance suite. newStore must return
// a fresh, empty store for each subtest and clean it up with t.Cleanup.
func RunUsers(t *testing.T, newStore func(t *testing.T) storage.Users) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Users)
	}{
		{"LinkIdentity/Create", testLinkCreate},
		{"LinkIdentity/SameOpenID", testLinkSameOpenID},
		{"LinkIdentity/Returning", testLinkReturning},
		{"LinkIdentity/UnionIDLinksApps", testLinkUnionID},
		{"LinkIdentity/UnionIDFilledInLinks", testLinkUnionIDFilledIn},
		{"LinkIdentity/UnionIDFilledInHeld", testLinkUnionIDFilledInHeld},
		{"LinkIdentity/DifferentUnionIDs", testLinkDifferentUnionIDs},
		{"LinkIdentity/NoUnionID", testLinkNoUnionID},
		{"LinkIdentity/NewUserPhoneTaken", testLinkPhoneTaken},
		{"LinkIdentity/NewUserIDTaken", testLinkUserIDTaken},
		{"LinkIdentity/InviterIDKept", testLinkInviterKept},
		{"LinkIdentity/ByPhoneLinksOwner", testLinkByPhoneOwner},
		{"LinkIdentity/ByPhoneCreates", testLinkByPhoneCreates},
		{"LinkIdentity/ByPhoneAfterUnionID", testLinkByPhoneAfterUnionID},
		{"Identities/OldestFirst", testIdentitiesOrder},
		{"NotFound", testUsersNotFound},
		{"UpdateUser", testUpdateUser},
		{"UpdateUser/FnError", testUpdateUserFnError},
		{"UpdateUser/NotFound", testUpdateUserNotFound},
		{"UpdateUser/PhoneConflict", testUpdateUserPhoneConflict},
		{"UpdateUser/Immutable", testUpdateUserImmutable},
		{"Copies", testUsersCopies},
		{"Nicknames", testUsersNicknames},
		{"Ping", func(t *testing.T, s storage.Users) {
			if err := s.Ping(t.Context()); err != nil {
				t.Errorf("Ping() = %v, want nil", err)
			}
		}},
		{"UserByUnionID", testUserByUnionID},
		{"Race/SameOpenID", testRaceSameOpenID},
		{"Race/SharedUnionID", testRaceSharedUnionID},
		{"Race/SamePhone", testRaceSamePhone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

// linkReq is a LinkRequest for (appID, openID) that would create userID.
func linkReq(appID, openID, unionID, userID string, now time.Time) storage.LinkRequest {
	return storage.LinkRequest{
		Identity: storage.Identity{AppID: appID, OpenID: openID, UnionID: unionID},
		NewUser:  storage.User{ID: userID},
		Now:      now,
	}
}

func mustLink(t *testing.T, s storage.Users, req storage.LinkRequest) storage.LinkResult {
	t.Helper()
	res, err := s.LinkIdentity(t.Context(), req)
	if err != nil {
		t.Fatalf("LinkIdentity(%s/%s) = %v, want nil", req.Identity.AppID, req.Identity.OpenID, err)
	}
	return res
}

func mustUser(t *testing.T, s storage.Users, id string) storage.User {
	t.Helper()
	u, err := s.User(t.Context(), id)
	if err != nil {
		t.Fatalf("User(%q) = %v, want nil", id, err)
	}
	return u
}

func mustIdentity(t *testing.T, s storage.Users, appID, openID string) storage.Identity {
	t.Helper()
	id, err := s.Identity(t.Context(), appID, openID)
	if err != nil {
		t.Fatalf("Identity(%q, %q) = %v, want nil", appID, openID, err)
	}
	return id
}

func mustUpdate(t *testing.T, s storage.Users, id string, fn func(*storage.User)) storage.User {
	t.Helper()
	u, err := s.UpdateUser(t.Context(), id, func(u *storage.User) error { fn(u); return nil })
	if err != nil {
		t.Fatalf("UpdateUser(%q) = %v, want nil", id, err)
	}
	return u
}

func wantNotFoundUser(t *testing.T, s storage.Users, id string) {
	t.Helper()
	if u, err := s.User(t.Context(), id); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("User(%q) = %+v, %v; want ErrNotFound", id, u, err)
	}
}

func wantNotFoundIdentity(t *testing.T, s storage.Users, appID, openID string) {
	t.Helper()
	if id, err := s.Identity(t.Context(), appID, openID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Identity(%q, %q) = %+v, %v; want ErrNotFound", appID, openID, id, err)
	}
}

func identityKeys(ids []storage.Identity) []string {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = id.AppID + "/" + id.OpenID
	}
	return keys
}

func testLinkCreate(t *testing.T, s storage.Users) {
	req := linkReq("mp", "o1", "", "u1", t0)
	req.NewUser.Nickname = "Ming"
	req.NewUser.AvatarURL = "https://example.com/a.png"
	req.NewUser.Phone = "+8613800000000"
	req.NewUser.InviterID = "u0"
	req.Identity.UserID = "ignored"
	got := mustLink(t, s, req)

	wantUser := storage.User{
		ID: "u1", Nickname: "Ming", AvatarURL: "https://example.com/a.png",
		Phone: "+8613800000000", InviterID: "u0", CreatedAt: t0, UpdatedAt: t0,
	}
	wantIdent := storage.Identity{
		AppID: "mp", OpenID: "o1", UserID: "u1",
		CreatedAt: t0, UpdatedAt: t0,
	}
	want := storage.LinkResult{User: wantUser, Identity: wantIdent, Created: true}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("LinkIdentity() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantUser, mustUser(t, s, "u1"), cmpOpts); diff != "" {
		t.Errorf("User(u1) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantIdent, mustIdentity(t, s, "mp", "o1"), cmpOpts); diff != "" {
		t.Errorf("Identity(mp, o1) mismatch (-want +got):\n%s", diff)
	}
	ids, err := s.Identities(t.Context(), "u1")
	if err != nil {
		t.Fatalf("Identities(u1) = %v, want nil", err)
	}
	if diff := cmp.Diff([]storage.Identity{wantIdent}, ids, cmpOpts); diff != "" {
		t.Errorf("Identities(u1) mismatch (-want +got):\n%s", diff)
	}
}

func testLinkSameOpenID(t *testing.T, s storage.Users) {
	first := mustLink(t, s, linkReq("mp", "o1", "", "u1", t0))
	t1 := t0.Add(time.Hour)
	req := linkReq("mp", "o1", "un1", "u2", t1)
	req.NewUser.Nickname = "other"
	got := mustLink(t, s, req)

	wantIdent := storage.Identity{
		AppID: "mp", OpenID: "o1", UnionID: "un1", UserID: "u1",
		CreatedAt: t0, UpdatedAt: t1,
	}
	want := storage.LinkResult{User: first.User, Identity: wantIdent, Created: false}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("second LinkIdentity() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantIdent, mustIdentity(t, s, "mp", "o1"), cmpOpts); diff != "" {
		t.Errorf("Identity(mp, o1) mismatch (-want +got):\n%s", diff)
	}
	wantNotFoundUser(t, s, "u2")

	// A known UnionID is not overwritten by another one (and nothing
	// changes: UpdatedAt stays).
	got = mustLink(t, s, linkReq("mp", "o1", "un-other", "u3", t1.Add(time.Hour)))
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("LinkIdentity() with another unionid mismatch (-want +got):\n%s", diff)
	}
	wantNotFoundUser(t, s, "u3")
}

// testLinkReturning: a returning user's login finds what is stored and
// changes nothing, whether it brings the known unionid or none.
func testLinkReturning(t *testing.T, s storage.Users) {
	req := linkReq("mp", "o1", "un1", "u1", t0)
	req.NewUser.Nickname = "Ming"
	first := mustLink(t, s, req)
	want := storage.LinkResult{User: first.User, Identity: first.Identity}
	for i, again := range []storage.LinkRequest{
		linkReq("mp", "o1", "un1", "u2", t0.Add(time.Hour)),
		linkReq("mp", "o1", "", "u3", t0.Add(2*time.Hour)),
	} {
		got := mustLink(t, s, again)
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("LinkIdentity() again #%d mismatch (-want +got):\n%s", i, diff)
		}
	}
	if diff := cmp.Diff(first.Identity, mustIdentity(t, s, "mp", "o1"), cmpOpts); diff != "" {
		t.Errorf("Identity(mp, o1) after returning logins mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(first.User, mustUser(t, s, "u1"), cmpOpts); diff != "" {
		t.Errorf("User(u1) after returning logins mismatch (-want +got):\n%s", diff)
	}
	wantNotFoundUser(t, s, "u2")
	wantNotFoundUser(t, s, "u3")
}

func testLinkUnionID(t *testing.T, s storage.Users) {
	first := mustLink(t, s, linkReq("mp", "o1", "un1", "u1", t0))
	t1 := t0.Add(time.Hour)
	got := mustLink(t, s, linkReq("oa", "o2", "un1", "u2", t1))
	if got.Created || got.User.ID != "u1" {
		t.Errorf("LinkIdentity(oa/o2, same unionid) = user %q created %v, want user %q created false", got.User.ID, got.Created, "u1")
	}
	if diff := cmp.Diff(first.User, got.User, cmpOpts); diff != "" {
		t.Errorf("LinkIdentity(oa/o2) user mismatch (-want +got):\n%s", diff)
	}
	wantIdent := storage.Identity{AppID: "oa", OpenID: "o2", UnionID: "un1", UserID: "u1", CreatedAt: t1, UpdatedAt: t1}
	if diff := cmp.Diff(wantIdent, got.Identity, cmpOpts); diff != "" {
		t.Errorf("LinkIdentity(oa/o2) identity mismatch (-want +got):\n%s", diff)
	}
	wantNotFoundUser(t, s, "u2")
	ids, err := s.Identities(t.Context(), "u1")
	if err != nil {
		t.Fatalf("Identities(u1) = %v, want nil", err)
	}
	if got, want := identityKeys(ids), []string{"mp/o1", "oa/o2"}; !cmp.Equal(got, want) {
		t.Errorf("Identities(u1) = %v, want %v", got, want)
	}
}

func testLinkUnionIDFilledIn(t *testing.T, s storage.Users) {
	mustLink(t, s, linkReq("mp", "o1", "", "u1", t0))
	// The app gets bound to the Open Platform: the unionid arrives later.
	mustLink(t, s, linkReq("mp", "o1", "un1", "u2", t0.Add(time.Minute)))
	if got := mustIdentity(t, s, "mp", "o1").UnionID; got != "un1" {
		t.Errorf("Identity(mp, o1).UnionID = %q, want %q", got, "un1")
	}
	got := mustLink(t, s, linkReq("oa", "o2", "un1", "u3", t0.Add(2*time.Minute)))
	if got.Created || got.User.ID != "u1" {
		t.Errorf("LinkIdentity(oa/o2, filled-in unionid) = user %q created %v, want user %q created false", got.User.ID, got.Created, "u1")
	}
}

func testLinkUnionIDFilledInHeld(t *testing.T, s storage.Users) {
	mustLink(t, s, linkReq("mp", "o1", "", "u1", t0))
	mustLink(t, s, linkReq("oa", "o2", "un1", "u2", t0))
	// mp/o1 learns a unionid that u2 already has: no merge.
	got := mustLink(t, s, linkReq("mp", "o1", "un1", "u3", t0.Add(time.Minute)))
	if got.Created || got.User.ID != "u1" || got.Identity.UnionID != "un1" {
		t.Errorf("LinkIdentity(mp/o1, unionid of u2) = (%q, %v, %q), want (%q, false, %q)", got.User.ID, got.Created, got.Identity.UnionID, "u1", "un1")
	}
	// The unionid still links to the user that had it first.
	got = mustLink(t, s, linkReq("web", "o3", "un1", "u4", t0.Add(time.Minute)))
	if got.Created || got.User.ID != "u2" {
		t.Errorf("LinkIdentity(web/o3, unionid of u2) = (%q, %v), want (%q, false)", got.User.ID, got.Created, "u2")
	}
}

func testLinkDifferentUnionIDs(t *testing.T, s storage.Users) {
	a := mustLink(t, s, linkReq("mp", "o1", "un1", "u1", t0))
	b := mustLink(t, s, linkReq("oa", "o2", "un2", "u2", t0))
	if !a.Created || !b.Created || a.User.ID == b.User.ID {
		t.Errorf("LinkIdentity() with different unionids = (%q, %v), (%q, %v); want two created users",
			a.User.ID, a.Created, b.User.ID, b.Created)
	}
}

func testLinkNoUnionID(t *testing.T, s storage.Users) {
	a := mustLink(t, s, linkReq("mp", "o1", "", "u1", t0))
	b := mustLink(t, s, linkReq("oa", "o2", "", "u2", t0))
	if !a.Created || !b.Created || b.User.ID != "u2" {
		t.Errorf("LinkIdentity() without unionids = (%q, %v), (%q, %v); want two created users",
			a.User.ID, a.Created, b.User.ID, b.Created)
	}
}

func testLinkPhoneTaken(t *testing.T, s storage.Users) {
	req := linkReq("mp", "o1", "", "u1", t0)
	req.NewUser.Phone = "+8613800000000"
	mustLink(t, s, req)
	req = linkReq("mp", "o2", "un2", "u2", t0)
	req.NewUser.Phone = "+8613800000000"
	if res, err := s.LinkIdentity(t.Context(), req); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("LinkIdentity(new user with a taken phone) = %+v, %v; want ErrConflict", res, err)
	}
	wantNotFoundUser(t, s, "u2")
	wantNotFoundIdentity(t, s, "mp", "o2")
	// Nothing of the failed call remains: its unionid links nobody.
	got := mustLink(t, s, linkReq("oa", "o3", "un2", "u3", t0))
	if !got.Created || got.User.ID != "u3" {
		t.Errorf("LinkIdentity(oa/o3, unionid of the failed call) = (%q, %v), want (%q, true)", got.User.ID, got.Created, "u3")
	}
}

func testLinkUserIDTaken(t *testing.T, s storage.Users) {
	mustLink(t, s, linkReq("mp", "o1", "", "u1", t0))
	if res, err := s.LinkIdentity(t.Context(), linkReq("mp", "o2", "", "u1", t0.Add(time.Minute))); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("LinkIdentity(new user with a taken id) = %+v, %v; want ErrConflict", res, err)
	}
	wantNotFoundIdentity(t, s, "mp", "o2")
	if u := mustUser(t, s, "u1"); !u.CreatedAt.Equal(t0) {
		t.Errorf("User(u1).CreatedAt = %v, want %v", u.CreatedAt, t0)
	}
}

func testLinkInviterKept(t *testing.T, s storage.Users) {
	req := linkReq("mp", "o1", "un1", "u1", t0)
	req.NewUser.InviterID = "friend"
	mustLink(t, s, req)
	for _, again := range []storage.LinkRequest{
		linkReq("mp", "o1", "un1", "u2", t0.Add(time.Minute)),
		linkReq("oa", "o2", "un1", "u3", t0.Add(time.Minute)),
	} {
		again.NewUser.InviterID = "someone-else"
		got := mustLink(t, s, again)
		if got.User.InviterID != "friend" {
			t.Errorf("LinkIdentity(%s/%s).User.InviterID = %q, want %q", again.Identity.AppID, again.Identity.OpenID, got.User.InviterID, "friend")
		}
	}
	if got := mustUser(t, s, "u1").InviterID; got != "friend" {
		t.Errorf("User(u1).InviterID = %q, want %q", got, "friend")
	}
}

// byPhoneReq is linkReq with LinkByPhone and NewUser.Phone set.
func byPhoneReq(appID, openID, unionID, userID, phone string, now time.Time) storage.LinkRequest {
	req := linkReq(appID, openID, unionID, userID, now)
	req.NewUser.Phone = phone
	req.LinkByPhone = true
	return req
}

func testLinkByPhoneOwner(t *testing.T, s storage.Users) {
	const phone = "+8613800000000"
	owner := linkReq("mp", "o1", "un1", "u1", t0)
	owner.NewUser.Phone = phone
	mustLink(t, s, owner)
	at := t0.Add(time.Minute)
	got := mustLink(t, s, byPhoneReq("oa", "o2", "un2", "u2", phone, at))
	if got.Created || got.User.ID != "u1" || got.User.Phone != phone || got.Identity.UserID != "u1" || !got.Identity.CreatedAt.Equal(at) {
		t.Fatalf("LinkIdentity(oa/o2 by the phone of u1) = %+v, want u1's, not created", got)
	}
	wantNotFoundUser(t, s, "u2")
	if id := mustIdentity(t, s, "oa", "o2"); id.UserID != "u1" || id.UnionID != "un2" {
		t.Errorf("Identity(oa, o2) = %+v, want user u1, unionid un2", id)
	}
	ids, err := s.Identities(t.Context(), "u1")
	if diff := cmp.Diff([]string{"mp/o1", "oa/o2"}, identityKeys(ids)); err != nil || diff != "" {
		t.Errorf("Identities(u1) = %v (-want +got):\n%s", err, diff)
	}
	// The identity brought its unionid along: it now links to u1.
	if got := mustLink(t, s, linkReq("web", "o3", "un2", "u3", at)); got.Created || got.User.ID != "u1" {
		t.Errorf("LinkIdentity(web/o3, unionid un2) = (%q, %v), want (u1, false)", got.User.ID, got.Created)
	}
}

func testLinkByPhoneCreates(t *testing.T, s storage.Users) {
	req := byPhoneReq("oa", "o1", "", "u1", "+8613800000000", t0)
	req.NewUser.Nickname = "Alice"
	got := mustLink(t, s, req)
	if !got.Created || got.User.ID != "u1" || got.User.Phone != "+8613800000000" || got.User.Nickname != "Alice" {
		t.Fatalf("LinkIdentity(by an unknown phone) = %+v, want u1 created with the phone", got)
	}
	// Without a phone, LinkByPhone changes nothing.
	if got := mustLink(t, s, byPhoneReq("oa", "o2", "", "u2", "", t0)); !got.Created || got.User.ID != "u2" {
		t.Errorf("LinkIdentity(by no phone) = (%q, %v), want (u2, true)", got.User.ID, got.Created)
	}
}

// The unionid links before the phone: the identity goes to the user of its
// unionid even when another user has the phone.
func testLinkByPhoneAfterUnionID(t *testing.T, s storage.Users) {
	phoneOwner := linkReq("mp", "o1", "", "u1", t0)
	phoneOwner.NewUser.Phone = "+8613800000000"
	mustLink(t, s, phoneOwner)
	mustLink(t, s, linkReq("mp", "o2", "un2", "u2", t0))
	got := mustLink(t, s, byPhoneReq("oa", "o3", "un2", "u3", "+8613800000000", t0))
	if got.Created || got.User.ID != "u2" {
		t.Errorf("LinkIdentity(oa/o3, unionid of u2, phone of u1) = (%q, %v), want (u2, false)", got.User.ID, got.Created)
	}
	// A known openid stays with its user whatever the phone.
	got = mustLink(t, s, byPhoneReq("mp", "o2", "", "u4", "+8613800000000", t0))
	if got.Created || got.User.ID != "u2" {
		t.Errorf("LinkIdentity(mp/o2 again, phone of u1) = (%q, %v), want (u2, false)", got.User.ID, got.Created)
	}
}

func testIdentitiesOrder(t *testing.T, s storage.Users) {
	// Linked out of time order on purpose: the list is by CreatedAt.
	mustLink(t, s, linkReq("web", "o3", "un1", "u1", t0.Add(2*time.Hour)))
	mustLink(t, s, linkReq("mp", "o1", "un1", "u2", t0))
	mustLink(t, s, linkReq("oa", "o2", "un1", "u3", t0.Add(time.Hour)))
	mustLink(t, s, linkReq("mp", "other", "", "u4", t0))
	ids, err := s.Identities(t.Context(), "u1")
	if err != nil {
		t.Fatalf("Identities(u1) = %v, want nil", err)
	}
	if got, want := identityKeys(ids), []string{"mp/o1", "oa/o2", "web/o3"}; !cmp.Equal(got, want) {
		t.Errorf("Identities(u1) = %v, want %v", got, want)
	}
	ids, err = s.Identities(t.Context(), "nobody")
	if err != nil || len(ids) != 0 {
		t.Errorf("Identities(nobody) = %v, %v; want none, nil", identityKeys(ids), err)
	}
}

func testUsersNotFound(t *testing.T, s storage.Users) {
	mustLink(t, s, linkReq("mp", "o1", "", "u1", t0))
	wantNotFoundUser(t, s, "u2")
	wantNotFoundUser(t, s, "")
	wantNotFoundIdentity(t, s, "mp", "o2")
	wantNotFoundIdentity(t, s, "oa", "o1")
}

func testUpdateUser(t *testing.T, s storage.Users) {
	mustLink(t, s, linkReq("mp", "o1", "", "u1", t0))
	t1 := t0.Add(time.Hour)
	got := mustUpdate(t, s, "u1", func(u *storage.User) {
		u.Nickname = "Hua"
		u.AvatarURL = "https://example.com/b.png"
		u.Phone = "+8613900000000"
		u.InviterID = "inv"
		u.UpdatedAt = t1
	})
	want := storage.User{
		ID: "u1", Nickname: "Hua", AvatarURL: "https://example.com/b.png", Phone: "+8613900000000",
		InviterID: "inv", CreatedAt: t0, UpdatedAt: t1,
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateUser(u1) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, mustUser(t, s, "u1"), cmpOpts); diff != "" {
		t.Errorf("User(u1) after UpdateUser mismatch (-want +got):\n%s", diff)
	}
	// The fn sees the stored user.
	var seen storage.User
	mustUpdate(t, s, "u1", func(u *storage.User) { seen = *u; u.Phone = "" })
	if diff := cmp.Diff(want, seen, cmpOpts); diff != "" {
		t.Errorf("UpdateUser(u1) fn argument mismatch (-want +got):\n%s", diff)
	}
	if got := mustUser(t, s, "u1").Phone; got != "" {
		t.Errorf("User(u1).Phone after clearing = %q, want empty", got)
	}
}

func testUpdateUserFnError(t *testing.T, s storage.Users) {
	created := mustLink(t, s, linkReq("mp", "o1", "", "u1", t0)).User
	errBoom := fmt.Errorf("boom")
	_, err := s.UpdateUser(t.Context(), "u1", func(u *storage.User) error {
		u.Nickname = "changed"
		u.Phone = "+8613800000000"
		return errBoom
	})
	if err != errBoom { // "returned as is": not wrapped
		t.Errorf("UpdateUser(fn fails) = %v, want the fn's error as is", err)
	}
	if diff := cmp.Diff(created, mustUser(t, s, "u1"), cmpOpts); diff != "" {
		t.Errorf("User(u1) after a failed UpdateUser mismatch (-want +got):\n%s", diff)
	}
}

func testUpdateUserNotFound(t *testing.T, s storage.Users) {
	called := false
	_, err := s.UpdateUser(t.Context(), "nobody", func(*storage.User) error { called = true; return nil })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UpdateUser(nobody) = %v, want ErrNotFound", err)
	}
	if called {
		t.Errorf("UpdateUser(nobody) called fn, want not called")
	}
	wantNotFoundUser(t, s, "nobody")
}

func testUpdateUserPhoneConflict(t *testing.T, s storage.Users) {
	const phone = "+8613800000000"
	mustLink(t, s, linkReq("mp", "o1", "", "u1", t0))
	u2 := mustLink(t, s, linkReq("mp", "o2", "", "u2", t0)).User
	mustUpdate(t, s, "u1", func(u *storage.User) { u.Phone = phone })
	// Setting one's own phone again is no conflict.
	mustUpdate(t, s, "u1", func(u *storage.User) { u.Phone = phone; u.Nickname = "one" })

	_, err := s.UpdateUser(t.Context(), "u2", func(u *storage.User) error {
		u.Phone = phone
		u.Nickname = "two"
		return nil
	})
	if !errors.Is(err, storage.ErrConflict) {
		t.Errorf("UpdateUser(u2, taken phone) = %v, want ErrConflict", err)
	}
	if diff := cmp.Diff(u2, mustUser(t, s, "u2"), cmpOpts); diff != "" {
		t.Errorf("User(u2) after a conflicting UpdateUser mismatch (-want +got):\n%s", diff)
	}
	if got := mustUser(t, s, "u1").Phone; got != phone {
		t.Errorf("User(u1).Phone = %q, want %q", got, phone)
	}

	// Once u1 lets the phone go, u2 may take it.
	mustUpdate(t, s, "u1", func(u *storage.User) { u.Phone = "" })
	if got := mustUpdate(t, s, "u2", func(u *storage.User) { u.Phone = phone }); got.Phone != phone {
		t.Errorf("UpdateUser(u2, freed phone).Phone = %q, want %q", got.Phone, phone)
	}
}

func testUpdateUserImmutable(t *testing.T, s storage.Users) {
	created := mustLink(t, s, linkReq("mp", "o1", "", "u1", t0)).User
	got := mustUpdate(t, s, "u1", func(u *storage.User) {
		u.ID = "u-other"
		u.CreatedAt = t0.Add(-time.Hour)
		u.Nickname = "renamed"
	})
	if got.ID != "u1" || !got.CreatedAt.Equal(created.CreatedAt) || got.Nickname != "renamed" {
		t.Errorf("UpdateUser(change ID, CreatedAt) = (%q, %v, %q), want (%q, %v, %q)",
			got.ID, got.CreatedAt, got.Nickname, "u1", created.CreatedAt, "renamed")
	}
	if u := mustUser(t, s, "u1"); !u.CreatedAt.Equal(created.CreatedAt) || u.Nickname != "renamed" {
		t.Errorf("User(u1) = (%v, %q), want (%v, %q)", u.CreatedAt, u.Nickname, created.CreatedAt, "renamed")
	}
	wantNotFoundUser(t, s, "u-other")
	ids, err := s.Identities(t.Context(), "u1")
	if err != nil || len(ids) != 1 {
		t.Errorf("Identities(u1) = %v, %v; want one identity", identityKeys(ids), err)
	}
}

func testUsersCopies(t *testing.T, s storage.Users) {
	res := mustLink(t, s, linkReq("mp", "o1", "", "u1", t0))
	res.Identity.UserID = "scribbled" // the caller scribbles on a result
	res.User.Nickname = "scribbled"

	id := mustIdentity(t, s, "mp", "o1")
	if id.UserID != "u1" {
		t.Fatalf("Identity(mp, o1).UserID = %q after mutating the result, want %q", id.UserID, "u1")
	}
	ids, err := s.Identities(t.Context(), "u1")
	if err != nil || len(ids) != 1 {
		t.Fatalf("Identities(u1) = %v, %v; want one identity", identityKeys(ids), err)
	}
	ids[0].UserID = "scribbled"
	if got := mustIdentity(t, s, "mp", "o1"); got.UserID != "u1" {
		t.Errorf("Identity(mp, o1).UserID = %q after mutating returned copies, want %q", got.UserID, "u1")
	}
	u := mustUser(t, s, "u1")
	u.Nickname = "scribbled"
	if got := mustUser(t, s, "u1").Nickname; got != "" {
		t.Errorf("User(u1).Nickname = %q after mutating returned copies, want empty", got)
	}
	// A pointer kept by the update fn does not reach the store.
	var kept *storage.User
	mustUpdate(t, s, "u1", func(u *storage.User) { kept = u })
	kept.Nickname = "late"
	if got := mustUser(t, s, "u1").Nickname; got != "" {
		t.Errorf("User(u1).Nickname = %q after mutating the fn's argument late, want empty", got)
	}
}

// start runs n goroutines that all call fn(i) as soon as every one of them is
// ready, and waits for them.
func start(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			fn(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
}

func testRaceSameOpenID(t *testing.T, s storage.Users) {
	ctx := context.WithoutCancel(t.Context())
	results := make([]storage.LinkResult, raceN)
	errs := make([]error, raceN)
	start(raceN, func(i int) {
		results[i], errs[i] = s.LinkIdentity(ctx, linkReq("mp", "o1", "", fmt.Sprintf("u%d", i), t0))
	})
	created, userID := 0, ""
	for i, res := range results {
		if errs[i] != nil {
			t.Errorf("LinkIdentity() #%d = %v, want nil", i, errs[i])
			continue
		}
		if res.Created {
			created++
			userID = res.User.ID
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent LinkIdentity() of one new openid created %d users, want 1", raceN, created)
	}
	for i, res := range results {
		if errs[i] == nil && res.User.ID != userID {
			t.Errorf("LinkIdentity() #%d user = %q, want %q", i, res.User.ID, userID)
		}
	}
	if got := mustIdentity(t, s, "mp", "o1").UserID; got != userID {
		t.Errorf("Identity(mp, o1).UserID = %q, want %q", got, userID)
	}
	for i := range raceN {
		if id := fmt.Sprintf("u%d", i); id != userID {
			wantNotFoundUser(t, s, id)
		}
	}
}

func testRaceSharedUnionID(t *testing.T, s storage.Users) {
	ctx := context.WithoutCancel(t.Context())
	apps := []string{"mp", "oa"}
	results := make([]storage.LinkResult, raceN)
	errs := make([]error, raceN)
	start(raceN, func(i int) {
		req := linkReq(apps[i%2], fmt.Sprintf("o%d", i), "un1", fmt.Sprintf("u%d", i), t0)
		results[i], errs[i] = s.LinkIdentity(ctx, req)
	})
	userID := wantOneNewUser(t, s, results, errs, "sharing one new unionid")
	for i := range raceN {
		if id := fmt.Sprintf("u%d", i); id != userID {
			wantNotFoundUser(t, s, id)
		}
	}
}

// Concurrent binds of one new phone by different WeChat identities end
// with one user that has them all.
func testRaceSamePhone(t *testing.T, s storage.Users) {
	ctx := context.WithoutCancel(t.Context())
	results := make([]storage.LinkResult, raceN)
	errs := make([]error, raceN)
	start(raceN, func(i int) {
		req := byPhoneReq("oa", fmt.Sprintf("o%d", i), "", fmt.Sprintf("u%d", i), "+8613800000000", t0)
		results[i], errs[i] = s.LinkIdentity(ctx, req)
	})
	wantOneNewUser(t, s, results, errs, "by one new phone")
}

func testUserByUnionID(t *testing.T, s storage.Users) {
	ctx := t.Context()
	if _, err := s.UserByUnionID(ctx, "un1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UserByUnionID(unknown) = %v, want ErrNotFound", err)
	}
	mustLink(t, s, linkReq("mp", "o1", "un1", "u1", t0))
	mustLink(t, s, linkReq("mp", "o2", "", "u2", t0))
	u, err := s.UserByUnionID(ctx, "un1")
	if err != nil || u.ID != "u1" {
		t.Errorf("UserByUnionID(un1) = %q, %v; want u1", u.ID, err)
	}
	if _, err := s.UserByUnionID(ctx, ""); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UserByUnionID(\"\") = %v, want ErrNotFound", err)
	}
}

// wantOneNewUser checks the outcome of raceN concurrent LinkIdentity calls
// that must end with one new user holding all raceN identities, and returns
// that user's id.
func wantOneNewUser(t *testing.T, s storage.Users, results []storage.LinkResult, errs []error, what string) string {
	t.Helper()
	created, userID := 0, ""
	for i, res := range results {
		if errs[i] != nil {
			t.Errorf("LinkIdentity() #%d = %v, want nil", i, errs[i])
			continue
		}
		if res.Created {
			created++
			userID = res.User.ID
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent LinkIdentity() %s created %d users, want 1", raceN, what, created)
	}
	for i, res := range results {
		if errs[i] == nil && res.User.ID != userID {
			t.Errorf("LinkIdentity() #%d user = %q, want %q", i, res.User.ID, userID)
		}
	}
	ids, err := s.Identities(t.Context(), userID)
	if err != nil || len(ids) != raceN {
		t.Errorf("Identities(%q) = %d identities, %v; want %d, nil", userID, len(ids), err, raceN)
	}
	return userID
}

// WeChatNicknames are nicknames as WeChat users have them (issue #11):
// Chinese, emoji (one with zero-width joiners, one outside the BMP),
// full-width letters, odd spacing (leading, trailing, doubled, the
// ideographic space U+3000), combining marks and a right-to-left name.
// Stores keep them byte for byte: no trimming, no normalisation.
var WeChatNicknames = []string{
	"小明🐱",
	"  王 小  二 ",
	"👨\u200d👩\u200d👧\u200d👦 一家人",
	"Ｚｏë\u3000✨",
	"𝓜𝓲𝓷𝓰 𠀀",
	"e\u0301e\u0301",
	"مرحبا",
	strings.Repeat("🐼", 64),
}

func testUsersNicknames(t *testing.T, s storage.Users) {
	for i, nick := range WeChatNicknames {
		id := fmt.Sprintf("u%d", i)
		req := linkReq("mp", "o"+id, "", id, t0)
		req.NewUser.Nickname = nick
		if got := mustLink(t, s, req).User.Nickname; got != nick {
			t.Errorf("LinkIdentity(nickname %q).User.Nickname = %q", nick, got)
		}
		if got := mustUser(t, s, id).Nickname; got != nick {
			t.Errorf("User(%s).Nickname = %q, want %q", id, got, nick)
		}
		// And as an update, from the next one.
		next := WeChatNicknames[(i+1)%len(WeChatNicknames)]
		mustUpdate(t, s, id, func(u *storage.User) { u.Nickname = next; u.UpdatedAt = t0 })
		if got := mustUser(t, s, id).Nickname; got != next {
			t.Errorf("User(%s).Nickname after UpdateUser = %q, want %q", id, got, next)
		}
	}
}
