package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// User is a test WeChat user as the sandbox shows it.
type User struct {
	// Name identifies the user to the control API ("alice").
	Name string
	// Nickname is what WeChat would show as the user's nickname.
	Nickname string
	// UnionID is the user's id across the apps bound to the sandbox's one
	// Open Platform account (reference §4). Unbound apps never answer it.
	UnionID string
	// OpenIDs maps each registered appid to the user's openid in that app.
	OpenIDs map[string]string
	// Phone is the number bound to the user's WeChat account in E.164 form
	// ("+8613800000001"), answered by getuserphonenumber and in encrypted
	// phone data (reference §3.5, §3.7).
	Phone string
}

type user struct {
	name, nickname, phone string
}

// AddUser creates a test user, or returns the existing one of that name.
// Names are 1–64 characters of [A-Za-z0-9._-]; the nickname is the name
// with its first letter upper-cased. The phone number is derived from the
// name: "+86139" and eight digits, the same after a restart (users with
// different names may, rarely, share one).
func (s *Sandbox) AddUser(name string) (User, error) {
	u, _, err := s.addUser(name)
	return u, err
}

// addUser is AddUser, also reporting whether the user is new.
func (s *Sandbox) addUser(name string) (User, bool, error) {
	if err := checkUserName(name); err != nil {
		return User{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		r, n := utf8.DecodeRuneInString(name)
		u = &user{name: name, nickname: string(unicode.ToUpper(r)) + name[n:], phone: derivedPhone(name)}
		s.users[name] = u
		s.userOrder = append(s.userOrder, name)
		s.log.Info("sandbox user added", "user", name)
	}
	return s.userLocked(u), !ok, nil
}

// Users returns all test users in creation order, alice, bob and snapshot
// first.
func (s *Sandbox) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.userOrder))
	for _, name := range s.userOrder {
		out = append(out, s.userLocked(s.users[name]))
	}
	return out
}

// userLocked renders u with its identities in every registered app. s.mu
// must be held.
func (s *Sandbox) userLocked(u *user) User {
	out := User{
		Name:     u.name,
		Nickname: u.nickname,
		UnionID:  unionID(u.name),
		OpenIDs:  make(map[string]string, len(s.apps)),
		Phone:    u.phone,
	}
	for id := range s.apps {
		out.OpenIDs[id] = openID(id, u.name)
	}
	return out
}

func checkUserName(name string) error {
	if name == "" {
		return errors.New("user name is empty")
	}
	if len(name) > 64 {
		return errors.New("user name is longer than 64 characters")
	}
	if strings.IndexFunc(name, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-')
	}) >= 0 {
		return errors.New("user name has characters other than [A-Za-z0-9._-]")
	}
	return nil
}

// openID derives a user's openid in one app. It is deterministic so that a
// restarted sandbox gives wxauth the same identities; it looks like WeChat's
// observed 28-character ids starting with "o" (reference §3.2, §7 item 6).
func openID(appID, name string) string {
	return derivedID("openid|" + appID + "|" + name)
}

// unionID derives a user's unionid in the sandbox's one Open Platform
// account (reference §4).
func unionID(name string) string {
	return derivedID("unionid|" + name)
}

// derivedPhone gives a new test user a mainland China mobile number. The
// built-in users have 138000000xx; derived ones start with 139 so that
// they never collide with those.
func derivedPhone(name string) string {
	sum := sha256.Sum256([]byte("phone|" + name))
	return fmt.Sprintf("+86139%08d", binary.BigEndian.Uint64(sum[:8])%100_000_000)
}

func derivedID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "o" + base64.RawURLEncoding.EncodeToString(sum[:])[:27]
}
