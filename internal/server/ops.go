package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/wechatstatus"
)

// jwks is GET /.well-known/jwks.json. Resource servers cache it; a short
// max-age lets them see a rotation soon.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(s.cfg.JWKS())
	return err
}

// healthz answers 200 while the process runs.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz answers 200 only when storage and the session store answer, and
// 503 unavailable naming the ones that do not, or saying the instance is
// shutting down (Drain). A 200 lists, under
// "wechat", the apps WeChat currently refuses for a reason only an
// operator can fix, with what to do.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return errNotReady.Say("not ready: shutting down")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var down []string
	for _, c := range []struct {
		name string
		ping func(context.Context) error
	}{{"storage", s.cfg.Users.Ping}, {"sessions", s.cfg.Sessions.Ping}} {
		if err := c.ping(ctx); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "check", c.name, "err", err)
			down = append(down, c.name)
		}
	}
	if len(down) > 0 {
		return errNotReady.Say("not ready: " + strings.Join(down, ", ") + " unreachable")
	}
	ready := struct {
		Status string                 `json:"status"`
		WeChat []wechatstatus.Problem `json:"wechat,omitempty"`
	}{Status: "ok"}
	if s.cfg.WeChatProblems != nil {
		// Reported, not failed on: the instance can serve its other
		// apps, and taking it out of rotation would not fix WeChat's
		// side (docs/deploy.md).
		ready.WeChat = s.cfg.WeChatProblems()
	}
	writeJSON(w, http.StatusOK, ready)
	return nil
}
