package server

import "github.com/wxauth/wxauth/api"

// routes lists every endpoint this server answers; docs/api.md describes
// them and api/openapi.yaml holds their contract (TestIndexMatchesOpenAPI
// keeps the two lists equal).
func (s *Server) routes() {
	s.handle("POST /v1/miniprogram/login", s.miniprogramLogin)
	s.handle("POST /v1/miniprogram/phone", s.authed(s.phone))
	s.handle("POST /v1/miniprogram/userinfo", s.authed(s.userInfo))
	s.handle("POST /v1/sms/send", s.smsSend)
	s.handle("POST /v1/bind", s.bindPhone)

	s.handle("POST /v1/app/login", s.appLogin)

	s.handle("GET /v1/oauth/wechat/authorize", s.authorize)
	s.handle("POST /v1/oauth/wechat/login", s.oauthLogin)
	s.handle("POST /v1/oauth/wechat/check", s.authed(s.oauthCheck))

	s.handle("POST /v1/qrlogin", s.qrCreate)
	s.handle("GET /v1/qrlogin/{ticket}", s.qrFollow)
	s.handle("GET /v1/qrlogin/{ticket}/image", s.qrImage)
	s.handle("POST /v1/qrlogin/{ticket}/scan", s.authed(s.qrScan))
	s.handle("POST /v1/qrlogin/{ticket}/confirm", s.authed(s.qrConfirm))
	s.handle("POST /v1/qrlogin/{ticket}/cancel", s.authed(s.qrCancel))

	s.handle("POST /v1/token/refresh", s.refresh)
	s.handle("POST /v1/logout", s.authed(s.logout))
	s.handle("GET /v1/me", s.authed(s.me))
	s.handle("DELETE /v1/me", s.authed(s.deleteMe))
	s.handle("GET /v1/me/export", s.authed(s.exportMe))
	s.handle("GET /v1/sessions", s.authed(s.listSessions))
	s.handle("DELETE /v1/sessions/{id}", s.authed(s.deleteSession))

	s.handle("GET /.well-known/jwks.json", s.jwks)
	s.handle("POST /v1/introspect", s.serviceOnly(api.ScopeIntrospect, s.introspect))
	s.handle("GET /v1/revocations", s.serviceOnly(api.ScopeRevocations, s.revocations))
	s.handle("GET /v1/wechat/access_token", s.serviceOnly(api.ScopeWeChatAccessToken, s.appToken))
	s.handle("POST /v1/wechat/access_token", s.serviceOnly(api.ScopeWeChatAccessToken, s.reportAppToken))
	s.handle("GET /v1/admin/audit", s.serviceOnly(api.ScopeAdmin, s.adminAudit))
	s.handle("POST /v1/admin/users/search", s.serviceOnly(api.ScopeAdmin, s.adminSearch))
	s.handle("GET /v1/admin/users/{id}", s.serviceOnly(api.ScopeAdmin, s.adminShow))
	s.handle("POST /v1/admin/users/{id}/revoke", s.serviceOnly(api.ScopeAdmin, s.adminRevokeUser))
	s.handle("POST /v1/admin/users/{id}/disable", s.serviceOnly(api.ScopeAdmin, s.adminAccountAction(s.admin.Disable)))
	s.handle("POST /v1/admin/users/{id}/enable", s.serviceOnly(api.ScopeAdmin, s.adminAccountAction(s.admin.Enable)))
	s.handle("DELETE /v1/admin/users/{id}", s.serviceOnly(api.ScopeAdmin, s.adminAccountAction(s.admin.Delete)))
	s.handle("POST /v1/admin/users/{id}/merge", s.serviceOnly(api.ScopeAdmin, s.adminMerge))
	s.handle("DELETE /v1/admin/sessions/{id}", s.serviceOnly(api.ScopeAdmin, s.adminRevokeSession))
	s.handle("GET /v1/wechat/push/{app}", s.pushCheck)
	s.handle("POST /v1/wechat/push/{app}", s.pushReceive)

	// OpenID Provider (docs/oidc.md).
	s.handle("GET /.well-known/openid-configuration", s.oidcDiscovery)
	s.handle("GET /oauth2/authorize", s.oidcAuthorize)
	s.handle("GET /oauth2/wechat", s.oidcWeChat)
	s.handle("GET /oauth2/callback", s.oidcCallback)
	s.handle("POST /oauth2/bind", s.oidcBind)
	s.handle("GET /oauth2/qr/status", s.oidcQRStatus)
	s.handle("POST /oauth2/qr/complete", s.oidcQRComplete)
	s.handle("POST /oauth2/token", s.oidcToken)
	s.handle("GET /oauth2/userinfo", s.oidcUserInfo)
	s.handle("POST /oauth2/userinfo", s.oidcUserInfo)
	s.handle("POST /oauth2/revoke", s.oidcRevoke)
	s.handle("POST /oauth2/introspect", s.oidcIntrospect)
	s.handle("GET /oauth2/end_session", s.oidcEndSession)
	s.handle("POST /oauth2/end_session", s.oidcEndSession)

	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)

	s.handle("GET /v1/{$}", s.index)
	s.handle("GET /openapi.json", s.openAPI)

	// Not an endpoint: every other request, answered 405 or 404.
	s.mux.Handle("/", s.wrap("/", s.fallback))
}

// handle registers h under pattern with the shared middleware; the pattern
// is the route label of the metrics.
func (s *Server) handle(pattern string, h handlerFunc) {
	s.register(pattern, s.wrap(pattern, h))
}
