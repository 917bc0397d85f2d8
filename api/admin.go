package api

import "time"

// AdminSearchRequest is the body of POST /v1/admin/users/search: exactly
// one key (openid with its app). It is a body, not a query string, so that no identifier lands in
// an access log.
type AdminSearchRequest struct {
	ID      string `json:"id,omitempty"`
	UnionID string `json:"unionid,omitempty"`
	// OpenID is looked for in App (a configured app's name) if set, else
	// in every app.
	OpenID string `json:"openid,omitempty"`
	App    string `json:"app,omitempty"`
	// Phone is E.164 ("+8613800000000").
	Phone string `json:"phone,omitempty"`
}

// AdminUser is a user as the admin API shows it. Phone is in clear: only an
// admin-scoped service key reads it, and it is never logged.
type AdminUser struct {
	ID        string    `json:"id"`
	Nickname  string    `json:"nickname"`
	AvatarURL string    `json:"avatar_url"`
	Phone     string    `json:"phone"`
	InviterID string    `json:"inviter_id,omitempty"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AdminUserList is the answer of POST /v1/admin/users/search.
type AdminUserList struct {
	Users []AdminUser `json:"users"`
}

// AdminIdentity is one WeChat identity of a user. App is the configured
// app's name, or its appid when no configured app has it any more.
type AdminIdentity struct {
	App       string    `json:"app"`
	AppID     string    `json:"appid"`
	OpenID    string    `json:"openid"`
	UnionID   string    `json:"unionid,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// AdminSession is one live session of a user.
type AdminSession struct {
	ID         string    `json:"id"`
	App        string    `json:"app"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	// HasWeChatCredentials: the session keeps its login's sealed WeChat
	// credentials (session_key or OAuth tokens), which are never shown.
	HasWeChatCredentials bool `json:"has_wechat_credentials"`
}

// AdminAccount is the answer of GET /v1/admin/users/{id}.
type AdminAccount struct {
	User       AdminUser       `json:"user"`
	Identities []AdminIdentity `json:"identities"`
	Sessions   []AdminSession  `json:"sessions"`
}

// AdminRevoked is the answer of POST /v1/admin/users/{id}/revoke.
type AdminRevoked struct {
	Revoked int `json:"revoked"`
}

// AdminMergeRequest is the body of POST /v1/admin/users/{id}/merge: the
// user absorbed into {id}.
type AdminMergeRequest struct {
	From string `json:"from"`
}

// AdminMerged is the answer of POST /v1/admin/users/{id}/merge: the merged
// user and how many sessions of the absorbed one ended.
type AdminMerged struct {
	User    AdminUser `json:"user"`
	Revoked int       `json:"revoked"`
}
