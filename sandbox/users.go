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
	// Snapshot is how the user arrives from WeChat's snapshot page on an
	// Official Account snsapi_userinfo login: one of the Snapshot
	// constants, empty for a real person.
	Snapshot string
}

// How a test user arrives on an Official Account snsapi_userinfo login
// when WeChat shows the snapshot page instead of the consent popup
// (reference §5.1: only there; snsapi_base and website logins of such a
// user answer as for anyone). The ids are virtual either way: the user's
// own, shared with no other test user.
const (
	// SnapshotFlagged answers as WeChat's documentation shows: the usual
	// token answer plus is_snapshotuser 1; /sns/userinfo answers a
	// (virtual) nickname and avatar.
	SnapshotFlagged = "flagged"
	// SnapshotEmptyTokens answers is_snapshotuser 1 with
	// "access_token":"" and "refresh_token":"", openid and unionid
	// present (reported in July 2022).
	SnapshotEmptyTokens = "empty_tokens"
	// SnapshotUnflagged answers without is_snapshotuser (reported: the
	// flag missing until the page was refreshed), and /sns/userinfo
	// answers 48001 for the token.
	SnapshotUnflagged = "unflagged"
)

// UserOptions are what [Sandbox.AddUserWith] may set on a new user.
type UserOptions struct {
	// Nickname is any Unicode text without control characters, at most 64
	// characters ("小明🐱", "  Ａmy  ✨"); empty means the name with its
	// first letter upper-cased.
	Nickname string
	// Snapshot is one of the Snapshot constants, or empty for a real
	// person.
	Snapshot string
}

type user struct {
	name, nickname, phone string
	snapshot              string
}

// AddUser creates a test user, or returns the existing one of that name.
// Names are 1–64 characters of [A-Za-z0-9._-]; the nickname is the name
// with its first letter upper-cased. The phone number is derived from the
// name: "+86139" and eight digits, the same after a restart (users with
// different names may, rarely, share one).
func (s *Sandbox) AddUser(name string) (User, error) {
	u, _, err := s.addUser(name, UserOptions{})
	return u, err
}

// AddUserWith is [Sandbox.AddUser] with the options of a new user; an
// existing user of that name is returned unchanged, whatever opt says.
func (s *Sandbox) AddUserWith(name string, opt UserOptions) (User, error) {
	u, _, err := s.addUser(name, opt)
	return u, err
}

// addUser is AddUserWith, also reporting whether the user is new.
func (s *Sandbox) addUser(name string, opt UserOptions) (User, bool, error) {
	if err := checkUserName(name); err != nil {
		return User{}, false, err
	}
	if err := checkNickname(opt.Nickname); err != nil {
		return User{}, false, err
	}
	switch opt.Snapshot {
	case "", SnapshotFlagged, SnapshotEmptyTokens, SnapshotUnflagged:
	default:
		return User{}, false, fmt.Errorf("snapshot %q is not %q, %q or %q", opt.Snapshot, SnapshotFlagged, SnapshotEmptyTokens, SnapshotUnflagged)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		nickname := opt.Nickname
		if nickname == "" {
			r, n := utf8.DecodeRuneInString(name)
			nickname = string(unicode.ToUpper(r)) + name[n:]
		}
		u = &user{name: name, nickname: nickname, phone: derivedPhone(name), snapshot: opt.Snapshot}
		s.users[name] = u
		s.userOrder = append(s.userOrder, name)
		s.log.Info("sandbox user added", "user", name)
	}
	return s.userLocked(u), !ok, nil
}

// Users returns all test users in creation order, the built-in ones
// (alice, bob, snapshot, xiaoming) first.
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
		Snapshot: u.snapshot,
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

// checkNickname accepts what WeChat nicknames are made of: any Unicode,
// emoji, odd spacing and joiners included, but no control characters and
// at most 64 characters.
func checkNickname(nickname string) error {
	switch {
	case !utf8.ValidString(nickname):
		return errors.New("nickname is not valid UTF-8")
	case utf8.RuneCountInString(nickname) > 64:
		return errors.New("nickname is longer than 64 characters")
	case strings.IndexFunc(nickname, unicode.IsControl) >= 0:
		return errors.New("nickname has control characters")
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
