package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/internal/storage"
)

// UserStore is a backend's users with the admin abilities.
type UserStore interface {
	storage.Users
	storage.UserAdmin
}

// RunUserAdmin runs the [storage.UserAdmin] conformance suite (and the
// Disabled field of [storage.User]). newStore must return a fresh, empty
// store for each subtest and clean it up with t.Cleanup.
func RunUserAdmin(t *testing.T, newStore func(t *testing.T) UserStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s UserStore)
	}{
		{"Disabled", testDisabled},
		{"DeleteUser", testDeleteUser},
		{"DeleteUser/NotFound", testDeleteUserNotFound},
		{"DeleteUser/InviterCleared", testDeleteUserInviter},
		{"DeleteUser/ThenLoginCreates", testDeleteUserRelogin},
		{"DeleteUser/Race", testDeleteUserRace},
		{"DeleteUser/RaceWithLink", testDeleteUserRaceLink},
		{"MergeUsers", testMergeUsers},
		{"MergeUsers/KeepsOwnFields", testMergeUsersKeeps},
		{"MergeUsers/Invalid", testMergeUsersInvalid},
		{"UserByPhone", testUserByPhone},
		{"IdentitiesByOpenID", testIdentitiesByOpenID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

func testDisabled(t *testing.T, s UserStore) {
	res := mustLink(t, s, linkReq("app1", "o1", "", "u1", t0))
	if res.User.Disabled {
		t.Fatalf("new user Disabled = true, want false")
	}
	u := mustUpdate(t, s, "u1", func(u *storage.User) { u.Disabled = true })
	if !u.Disabled {
		t.Errorf("UpdateUser(Disabled = true) returned Disabled false")
	}
	if got := mustUser(t, s, "u1"); !got.Disabled {
		t.Errorf("User after disabling: Disabled = false, want true")
	}
	if got := mustLink(t, s, linkReq("app1", "o1", "", "u9", t0)); !got.User.Disabled {
		t.Errorf("LinkIdentity of a disabled user: Disabled = false, want true")
	}
	mustUpdate(t, s, "u1", func(u *storage.User) { u.Disabled = false })
	if got := mustUser(t, s, "u1"); got.Disabled {
		t.Errorf("User after enabling: Disabled = true, want false")
	}
}

func testDeleteUser(t *testing.T, s UserStore) {
	req := linkReq("app1", "o1", "un1", "u1", t0)
	req.NewUser.Phone, req.NewUser.Nickname = "+8613800000001", "Alice"
	mustLink(t, s, req)
	mustLink(t, s, linkReq("app2", "o2", "un1", "x", t0.Add(time.Second)))
	mustLink(t, s, linkReq("app1", "other", "", "u2", t0))

	u, ids, err := s.DeleteUser(t.Context(), "u1")
	if err != nil {
		t.Fatalf("DeleteUser(u1) = %v, want nil", err)
	}
	if u.ID != "u1" || u.Phone != "+8613800000001" || u.Nickname != "Alice" {
		t.Errorf("DeleteUser(u1) user = %+v, want u1 with its fields", u)
	}
	if diff := cmp.Diff([]string{"app1/o1", "app2/o2"}, identityKeys(ids)); diff != "" {
		t.Errorf("DeleteUser(u1) identities (-want +got):\n%s", diff)
	}
	wantNotFoundUser(t, s, "u1")
	wantNotFoundIdentity(t, s, "app1", "o1")
	wantNotFoundIdentity(t, s, "app2", "o2")
	if got, err := s.UserByUnionID(t.Context(), "un1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UserByUnionID(un1) after delete = %+v, %v; want ErrNotFound", got, err)
	}
	if got, err := s.UserByPhone(t.Context(), "+8613800000001"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UserByPhone after delete = %+v, %v; want ErrNotFound", got, err)
	}
	if got, err := s.Identities(t.Context(), "u1"); err != nil || len(got) != 0 {
		t.Errorf("Identities(u1) after delete = %v, %v; want none", got, err)
	}
	mustUser(t, s, "u2")
	// The phone is free again.
	mustUpdate(t, s, "u2", func(u *storage.User) { u.Phone = "+8613800000001" })
}

func testDeleteUserNotFound(t *testing.T, s UserStore) {
	if _, _, err := s.DeleteUser(t.Context(), "nobody"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("DeleteUser(nobody) = %v, want ErrNotFound", err)
	}
}

func testDeleteUserInviter(t *testing.T, s UserStore) {
	mustLink(t, s, linkReq("app1", "o1", "", "u1", t0))
	req := linkReq("app1", "o2", "", "u2", t0)
	req.NewUser.InviterID = "u1"
	mustLink(t, s, req)
	if _, _, err := s.DeleteUser(t.Context(), "u1"); err != nil {
		t.Fatalf("DeleteUser(u1) = %v", err)
	}
	if got := mustUser(t, s, "u2"); got.InviterID != "" {
		t.Errorf("InviterID of invitee after deleting inviter = %q, want empty", got.InviterID)
	}
}

func testDeleteUserRelogin(t *testing.T, s UserStore) {
	mustLink(t, s, linkReq("app1", "o1", "un1", "u1", t0))
	if _, _, err := s.DeleteUser(t.Context(), "u1"); err != nil {
		t.Fatalf("DeleteUser(u1) = %v", err)
	}
	res := mustLink(t, s, linkReq("app1", "o1", "un1", "u2", t0.Add(time.Minute)))
	if !res.Created || res.User.ID != "u2" {
		t.Errorf("login after delete = user %q created %v, want new user u2", res.User.ID, res.Created)
	}
	if got, err := s.UserByUnionID(t.Context(), "un1"); err != nil || got.ID != "u2" {
		t.Errorf("UserByUnionID(un1) = %q, %v; want u2", got.ID, err)
	}
}

// testDeleteUserRace deletes one user from many goroutines: exactly one
// call wins, the others see ErrNotFound.
func testDeleteUserRace(t *testing.T, s UserStore) {
	mustLink(t, s, linkReq("app1", "o1", "un1", "u1", t0))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		wins     int
		otherErr error
	)
	for range raceN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.DeleteUser(t.Context(), "u1")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, storage.ErrNotFound):
				otherErr = err
			}
		}()
	}
	wg.Wait()
	if wins != 1 || otherErr != nil {
		t.Errorf("concurrent DeleteUser: %d wins (want 1), other error %v", wins, otherErr)
	}
	wantNotFoundUser(t, s, "u1")
}

func testMergeUsers(t *testing.T, s UserStore) {
	mustLink(t, s, linkReq("app1", "o1", "", "into", t0))
	req := linkReq("app2", "o2", "un2", "from", t0)
	req.NewUser.Phone, req.NewUser.Nickname, req.NewUser.AvatarURL = "+8613800000002", "Bob", "https://a/b.png"
	mustLink(t, s, req)
	inv := linkReq("app1", "o3", "", "invitee", t0)
	inv.NewUser.InviterID = "from"
	mustLink(t, s, inv)

	now := t0.Add(time.Hour)
	u, err := s.MergeUsers(t.Context(), "into", "from", now)
	if err != nil {
		t.Fatalf("MergeUsers = %v, want nil", err)
	}
	if u.ID != "into" || u.Phone != "+8613800000002" || u.Nickname != "Bob" || u.AvatarURL != "https://a/b.png" || !u.UpdatedAt.Equal(now) {
		t.Errorf("MergeUsers = %+v, want into with from's phone, nickname, avatar, UpdatedAt %v", u, now)
	}
	if diff := cmp.Diff(u, mustUser(t, s, "into"), cmpOpts); diff != "" {
		t.Errorf("User(into) differs from MergeUsers result (-merge +stored):\n%s", diff)
	}
	wantNotFoundUser(t, s, "from")
	if id := mustIdentity(t, s, "app2", "o2"); id.UserID != "into" {
		t.Errorf("identity app2/o2 UserID = %q, want into", id.UserID)
	}
	ids, err := s.Identities(t.Context(), "into")
	if err != nil || len(ids) != 2 {
		t.Errorf("Identities(into) = %v, %v; want 2", identityKeys(ids), err)
	}
	if got, err := s.UserByUnionID(t.Context(), "un2"); err != nil || got.ID != "into" {
		t.Errorf("UserByUnionID(un2) = %q, %v; want into", got.ID, err)
	}
	if got, err := s.UserByPhone(t.Context(), "+8613800000002"); err != nil || got.ID != "into" {
		t.Errorf("UserByPhone = %q, %v; want into", got.ID, err)
	}
	if got := mustUser(t, s, "invitee"); got.InviterID != "into" {
		t.Errorf("invitee InviterID = %q, want into", got.InviterID)
	}
}

func testMergeUsersKeeps(t *testing.T, s UserStore) {
	a := linkReq("app1", "o1", "", "into", t0)
	a.NewUser.Phone, a.NewUser.Nickname = "+8613800000001", "Alice"
	mustLink(t, s, a)
	b := linkReq("app1", "o2", "", "from", t0)
	b.NewUser.Phone, b.NewUser.Nickname, b.NewUser.AvatarURL = "+8613800000002", "Bob", "https://a/b.png"
	mustLink(t, s, b)
	u, err := s.MergeUsers(t.Context(), "into", "from", t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("MergeUsers = %v", err)
	}
	if u.Phone != "+8613800000001" || u.Nickname != "Alice" || u.AvatarURL != "https://a/b.png" {
		t.Errorf("MergeUsers = %+v, want own phone and nickname, from's avatar", u)
	}
	// from's phone left with from.
	if got, err := s.UserByPhone(t.Context(), "+8613800000002"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UserByPhone(from's phone) = %q, %v; want ErrNotFound", got.ID, err)
	}
}

func testMergeUsersInvalid(t *testing.T, s UserStore) {
	mustLink(t, s, linkReq("app1", "o1", "", "u1", t0))
	if _, err := s.MergeUsers(t.Context(), "u1", "u1", t0); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("MergeUsers(u1, u1) = %v, want ErrInvalid", err)
	}
	if _, err := s.MergeUsers(t.Context(), "u1", "nobody", t0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("MergeUsers(u1, nobody) = %v, want ErrNotFound", err)
	}
	if _, err := s.MergeUsers(t.Context(), "nobody", "u1", t0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("MergeUsers(nobody, u1) = %v, want ErrNotFound", err)
	}
	if ids, _ := s.Identities(t.Context(), "u1"); len(ids) != 1 {
		t.Errorf("Identities(u1) after failed merges = %v, want 1", identityKeys(ids))
	}
}

func testUserByPhone(t *testing.T, s UserStore) {
	req := linkReq("app1", "o1", "", "u1", t0)
	req.NewUser.Phone = "+8613800000001"
	mustLink(t, s, req)
	mustLink(t, s, linkReq("app1", "o2", "", "u2", t0))
	if got, err := s.UserByPhone(t.Context(), "+8613800000001"); err != nil || got.ID != "u1" {
		t.Errorf("UserByPhone = %q, %v; want u1", got.ID, err)
	}
	for _, p := range []string{"+8613800000009", ""} {
		if got, err := s.UserByPhone(t.Context(), p); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("UserByPhone(%q) = %q, %v; want ErrNotFound", p, got.ID, err)
		}
	}
}

func testIdentitiesByOpenID(t *testing.T, s UserStore) {
	mustLink(t, s, linkReq("appB", "same", "", "u1", t0))
	mustLink(t, s, linkReq("appA", "same", "", "u2", t0))
	mustLink(t, s, linkReq("appA", "other", "", "u3", t0))
	ids, err := s.IdentitiesByOpenID(t.Context(), "same")
	if err != nil {
		t.Fatalf("IdentitiesByOpenID = %v", err)
	}
	if diff := cmp.Diff([]string{"appA/same", "appB/same"}, identityKeys(ids)); diff != "" {
		t.Errorf("IdentitiesByOpenID(same) (-want +got):\n%s", diff)
	}
	if ids, err := s.IdentitiesByOpenID(t.Context(), "none"); err != nil || len(ids) != 0 {
		t.Errorf("IdentitiesByOpenID(none) = %v, %v; want none", ids, err)
	}
}

// testDeleteUserRaceLink races a deletion with logins that link new
// identities to the user by its unionid: whichever wins, no identity or
// unionid is left pointing at a user that is gone.
func testDeleteUserRaceLink(t *testing.T, s UserStore) {
	mustLink(t, s, linkReq("app0", "o0", "un-race", "victim", t0))
	errs := make([]error, raceN)
	start(raceN, func(i int) {
		if i == 0 {
			_, _, errs[i] = s.DeleteUser(t.Context(), "victim")
			return
		}
		_, errs[i] = s.LinkIdentity(t.Context(), linkReq(fmt.Sprintf("app%d", i), fmt.Sprintf("o%d", i), "un-race",
			fmt.Sprintf("new%d", i), t0))
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d = %v", i, err)
		}
	}
	wantNotFoundUser(t, s, "victim")
	owners := map[string]bool{}
	for i := range raceN {
		id, err := s.Identity(t.Context(), fmt.Sprintf("app%d", i), fmt.Sprintf("o%d", i))
		if errors.Is(err, storage.ErrNotFound) {
			continue // linked to victim before the deletion, and deleted with it
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.User(t.Context(), id.UserID); err != nil {
			t.Errorf("identity app%d/o%d points at user %q: %v", i, i, id.UserID, err)
		}
		owners[id.UserID] = true
	}
	if u, err := s.UserByUnionID(t.Context(), "un-race"); err == nil {
		if !owners[u.ID] {
			t.Errorf("unionid links to %q, which has none of the identities", u.ID)
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	if len(owners) > 1 {
		t.Errorf("the unionid's identities are spread over %d users after the deletion, want at most 1", len(owners))
	}
}
