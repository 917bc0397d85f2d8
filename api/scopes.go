package api

// Service-key scopes (docs/api.md "Service keys"): each configured service
// key may call only the endpoints of its scopes; any other answers 403
// [CodeInsufficientScope].
const (
	// ScopeIntrospect allows POST /v1/introspect.
	ScopeIntrospect = "introspect"
	// ScopeRevocations allows GET /v1/revocations.
	ScopeRevocations = "revocations"
	// ScopeWeChatAccessToken allows GET and POST /v1/wechat/access_token.
	ScopeWeChatAccessToken = "wechat_access_token"
	// ScopeAdmin allows the admin API under /v1/admin/: users, sessions and
	// the audit trail (docs/api.md "Admin").
	ScopeAdmin = "admin"
)

// ServiceKeyScopes are the scopes a service key can be given.
var ServiceKeyScopes = []string{ScopeIntrospect, ScopeRevocations, ScopeWeChatAccessToken, ScopeAdmin}
