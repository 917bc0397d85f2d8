package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every backend returns, wrapped or not; test with errors.Is.
var (
	// ErrNotFound: no such record (or, for a session, it expired or was revoked).
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict: the change would break a uniqueness rule (an openid already
	// linked, a phone already bound to another user).
	ErrConflict = errors.New("storage: conflict")
	// ErrUnavailable: the backend could not be reached or did not answer in time.
	ErrUnavailable = errors.New("storage: unavailable")
	// ErrInvalid: the request itself is wrong (merging a user into itself).
	ErrInvalid = errors.New("storage: invalid request")
)

// User is a business account. IDs are opaque strings chosen by the caller.
type User struct {
	ID        string
	Nickname  string
	AvatarURL string
	// Phone in E.164 form ("+8613800000000"), or empty. Unique among users.
	Phone string
	// InviterID is the user whose share link brought this user, or empty.
	InviterID string
	// Disabled users cannot log in (403 user_disabled; their sessions are
	// revoked when they are disabled); set and cleared with UpdateUser.
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Identity is one WeChat identity linked to a user, keyed by (AppID, OpenID).
type Identity struct {
	AppID   string
	OpenID  string
	UnionID string // empty when the app is not bound to an Open Platform account
	UserID  string
	// CreatedAt is when the identity was linked, UpdatedAt when it last
	// changed (its UnionID filled in); a login that changes nothing leaves
	// it alone.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// LinkRequest asks [Users.LinkIdentity] to find or create the user behind a
// WeChat identity.
type LinkRequest struct {
	Identity Identity // AppID, OpenID, UnionID are used; the rest is ignored
	// NewUser is created when neither the openid nor the unionid is known yet.
	// Its ID must be set; CreatedAt/UpdatedAt are set to Now.
	NewUser User
	Now     time.Time
	// LinkByPhone links by NewUser.Phone: when neither the openid nor the
	// unionid is known and a user already has that phone, the identity is
	// added to that user instead of creating NewUser (docs/api.md
	// "Binding"). Only for a phone the caller has verified. Without it, a
	// NewUser whose phone is taken is ErrConflict.
	LinkByPhone bool
}

// LinkResult tells what [Users.LinkIdentity] did.
type LinkResult struct {
	User     User
	Identity Identity
	// Created is true when NewUser was created by this call.
	Created bool
}

// Users stores users and their WeChat identities.
type Users interface {
	// LinkIdentity atomically finds or creates the user of a WeChat identity:
	//   1. if (AppID, OpenID) is known, that identity's user; its UnionID is
	//      filled in if it was empty (UpdatedAt = Now), and otherwise nothing
	//      is written, so that a returning user's login is a read. Users are
	//      never merged: if another user already has that UnionID, the
	//      unionid keeps linking to that other user;
	//   2. else if UnionID is non-empty and another identity has it, the
	//      identity is added to that identity's user (unionid linking);
	//   3. else if LinkByPhone and another user has NewUser.Phone, the
	//      identity (and its UnionID, if any) is added to that user (phone
	//      linking, Created false);
	//   4. else NewUser is created with the identity.
	// Concurrent calls for the same openid, unionid or (with LinkByPhone)
	// phone end with one user.
	LinkIdentity(ctx context.Context, req LinkRequest) (LinkResult, error)
	// User returns a user by id, or ErrNotFound.
	User(ctx context.Context, id string) (User, error)
	// UserByUnionID returns the user that unionid links to, or ErrNotFound.
	// It tells a login whether a new identity belongs to a known person.
	UserByUnionID(ctx context.Context, unionID string) (User, error)
	// Identity returns the identity (AppID, OpenID), or ErrNotFound.
	Identity(ctx context.Context, appID, openID string) (Identity, error)
	// Identities lists a user's identities, oldest first (none, and no
	// error, for an unknown user).
	Identities(ctx context.Context, userID string) ([]Identity, error)
	// UpdateUser applies fn to the user atomically and stores the result.
	// ErrNotFound if the user does not exist; ErrConflict if the change
	// would give it a phone another user has. An error from fn is returned
	// as is and nothing is stored. ID and CreatedAt cannot be changed; the
	// store has no clock, so fn sets UpdatedAt.
	UpdateUser(ctx context.Context, id string, fn func(*User) error) (User, error)
	// Ping answers nil when the backend is reachable (for /readyz).
	Ping(ctx context.Context) error
}

// UserAdmin is what account deletion and the admin surface need beyond Users.
// Every backend that implements [Users] implements it too (storagetest
// RunUserAdmin).
type UserAdmin interface {
	// DeleteUser removes the user and all its identities atomically and
	// returns what it removed; ErrNotFound for an unknown user. Other users
	// whose InviterID is id get InviterID "". A later login by one of its
	// WeChat identities creates a new user.
	DeleteUser(ctx context.Context, id string) (User, []Identity, error)
	// MergeUsers moves every identity of from to into atomically and then
	// deletes from; into keeps its own fields and takes from's phone (and
	// nickname/avatar) only where its own are empty. ErrNotFound if either
	// is unknown; ErrInvalid if into == from. UpdatedAt of into becomes now.
	MergeUsers(ctx context.Context, into, from string, now time.Time) (User, error)
	// UserByPhone returns the user with that E.164 phone, or ErrNotFound.
	UserByPhone(ctx context.Context, phone string) (User, error)
	// IdentitiesByOpenID lists the identities with that openid, in any app.
	IdentitiesByOpenID(ctx context.Context, openID string) ([]Identity, error)
}

// MergedUser is the user MergeUsers leaves: into, taking from's phone,
// nickname and avatar where its own are empty, and no longer invited by
// from; UpdatedAt is now. One rule for every backend.
func MergedUser(into, from User, now time.Time) User {
	if into.Phone == "" {
		into.Phone = from.Phone
	}
	if into.Nickname == "" {
		into.Nickname = from.Nickname
	}
	if into.AvatarURL == "" {
		into.AvatarURL = from.AvatarURL
	}
	if into.InviterID == from.ID {
		into.InviterID = ""
	}
	into.UpdatedAt = now
	return into
}

// Session is one login of one user on one device, with the state of its
// refresh-token chain. Only hashes of refresh tokens are kept.
type Session struct {
	ID     string
	UserID string
	App    string // app key the session was opened through
	// SessionKey holds the WeChat credentials of the login that opened this
	// session, sealed by the caller (the store never sees them in clear):
	// a mini program login's session_key, or an official-account or website
	// login's OAuth user tokens; empty when there are none. They belong to
	// the login, not to the identity: WeChat replaces the session_key at
	// each wx.login, and the calls that decrypt with it carry this session's
	// access token. It never changes over the session's life (rotations
	// keep it).
	SessionKey []byte
	// CreatedAt, LastUsedAt: when the session was opened and last refreshed.
	CreatedAt  time.Time
	LastUsedAt time.Time
	// ExpiresAt is the idle expiry: it slides to now+idle TTL with each
	// rotation, never past MaxExpiresAt (the absolute session age).
	ExpiresAt    time.Time
	MaxExpiresAt time.Time
	// Gen is the generation of the live refresh token, Hash its SHA-256.
	Gen  uint64
	Hash [32]byte
	// PrevHash is the hash of generation Gen-1 and RotatedAt when it was
	// rotated (zero while Gen is 0); they allow the grace replay.
	PrevHash  [32]byte
	RotatedAt time.Time
}

// Live reports whether the session can still be used at now.
func (s *Session) Live(now time.Time) bool { return now.Before(s.ExpiresAt) }

// RotateRequest asks [Sessions.Rotate] to use a presented refresh token.
// The caller has already checked that the token was minted by this server for
// SessionID at generation Gen (its MAC), so an older generation is a real
// ancestor and not a forgery.
type RotateRequest struct {
	SessionID string
	Gen       uint64
	Hash      [32]byte // SHA-256 of the presented token
	NextHash  [32]byte // SHA-256 of its successor (generation Gen+1)
	Now       time.Time
	// Grace is how long after a rotation the rotated token may be replayed.
	Grace time.Duration
	// IdleTTL is how far ExpiresAt slides on rotation.
	IdleTTL time.Duration
	// Quotas are charged first, one hit each at Now; if any is over its
	// limit, Rotate returns a *LimitError and leaves the session as it
	// was. The counters stay charged, as with Limiter.Allow.
	Quotas []Quota
}

// Outcome is what a refresh came to.
type Outcome int

const (
	// Rotated: the token was the live one; the chain moved to NextHash.
	Rotated Outcome = iota + 1
	// GraceReplay: the token was rotated less than Grace ago; nothing changed
	// and the caller answers the same successor again.
	GraceReplay
	// Reused: a rotated token replayed after the grace window, or an older
	// ancestor; the session has been revoked.
	Reused
	// Rejected: the token does not match this session's chain (or the session
	// is gone or expired); nothing changed.
	Rejected
)

func (o Outcome) String() string {
	switch o {
	case Rotated:
		return "rotated"
	case GraceReplay:
		return "grace_replay"
	case Reused:
		return "reused"
	case Rejected:
		return "rejected"
	}
	return "unknown"
}

// Sessions stores sessions. Expired sessions behave as absent; revoked
// sessions are deleted. A stored session shares no memory with the one the
// caller passed in or with any returned (SessionKey is copied).
type Sessions interface {
	// CreateSession stores a new session. ErrConflict if the id exists.
	// The quotas are charged first, as Rotate charges its own (see
	// RotateRequest.Quotas); one over its limit makes it a *LimitError and
	// nothing is stored.
	CreateSession(ctx context.Context, s Session, quotas ...Quota) error
	// Session returns a live session, or ErrNotFound if it is absent,
	// revoked or expired at now.
	Session(ctx context.Context, id string, now time.Time) (Session, error)
	// Rotate applies [DecideRotation] atomically: concurrent calls with the
	// same token see one Rotated and the rest GraceReplay. It returns the
	// session as it is after the call (for Reused only its ID and UserID,
	// zero for Rejected). The
	// request's Quotas are charged first, in the same round trip where the
	// backend can; one over its limit makes it a *LimitError.
	Rotate(ctx context.Context, req RotateRequest) (Session, Outcome, error)
	// RevokeSession deletes a session. ErrNotFound if it did not exist.
	RevokeSession(ctx context.Context, id string) error
	// RevokeUserSessions deletes every session of a user and says how many.
	RevokeUserSessions(ctx context.Context, userID string) (int, error)
	// UserSessions lists a user's live sessions at now, newest first.
	UserSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// Ping answers nil when the backend is reachable (for /readyz).
	Ping(ctx context.Context) error
}
