package server

import "net/http"

// routes lists every endpoint of spec/api.md §4 this server answers.
func (s *Server) routes() {
	s.handle("POST /v1/miniprogram/login", s.miniprogramLogin)
	s.handle("POST /v1/miniprogram/phone", s.authed(s.phone))
	s.handle("POST /v1/miniprogram/userinfo", s.authed(s.userInfo))
	s.handle("POST /v1/sms/send", s.smsSend)
	s.handle("POST /v1/bind", s.bindPhone)

	s.handle("GET /v1/oauth/wechat/authorize", s.authorize)
	s.handle("POST /v1/oauth/wechat/login", s.oauthLogin)

	s.handle("POST /v1/token/refresh", s.refresh)
	s.handle("POST /v1/logout", s.authed(s.logout))
	s.handle("GET /v1/me", s.authed(s.me))
	s.handle("GET /v1/sessions", s.authed(s.listSessions))
	s.handle("DELETE /v1/sessions/{id}", s.authed(s.deleteSession))

	s.handle("GET /.well-known/jwks.json", s.jwks)
	s.handle("POST /v1/introspect", s.serviceOnly(s.introspect))
	s.handle("GET /v1/revocations", s.serviceOnly(s.revocations))
	s.handle("GET /v1/wechat/access_token", s.serviceOnly(s.appToken))
	s.handle("POST /v1/wechat/access_token", s.serviceOnly(s.reportAppToken))
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.cfg.Metrics.Handler())

	s.handle("/", s.notFound)
}

// handle registers h under pattern with the shared middleware; the pattern
// is the route label of the metrics.
func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.Handle(pattern, s.wrap(pattern, h))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	return errNotFound("no such endpoint")
}
