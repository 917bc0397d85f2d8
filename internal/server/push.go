package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/wxauth/wxauth/internal/login"
)

// DefaultFollowScanTimeout bounds the follow-scan hook: WeChat waits five
// seconds for the answer to a push, then drops it and pushes again.
const DefaultFollowScanTimeout = 4 * time.Second

// FollowScanHook is told of each scan of a follow-to-login QR code, once
// (docs/follow-login.md): who (openID in app) scanned which scene. Its
// error is logged; WeChat is answered success whatever it returns.
type FollowScanHook func(ctx context.Context, app login.App, openID, scene string) error

// pushQuery reads the push parameters of WeChat's query string.
func pushQuery(r *http.Request) login.PushQuery {
	q := r.URL.Query()
	return login.PushQuery{Signature: q.Get("signature"), Timestamp: q.Get("timestamp"), Nonce: q.Get("nonce"),
		EncryptType: q.Get("encrypt_type"), MsgSignature: q.Get("msg_signature")}
}

// pushCheck is GET /v1/wechat/push/{app} (docs/api.md "WeChat pushes"):
// WeChat's check of the URL when the operator saves the server
// configuration; echostr is echoed only when the signature verifies.
func (s *Server) pushCheck(w http.ResponseWriter, r *http.Request) error {
	app := r.PathValue("app")
	if _, err := s.cfg.Login.PushApp(app); err != nil {
		return err
	}
	if err := s.cfg.Limits.Push(r.Context(), app, clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	if err := s.cfg.Login.VerifyPushURL(app, pushQuery(r)); err != nil {
		return err
	}
	writeText(w, r.URL.Query().Get("echostr"))
	return nil
}

// pushReceive is POST /v1/wechat/push/{app} (docs/api.md "WeChat
// pushes"): a message or event from WeChat, checked and read by
// login.ReceivePush; a scan goes to the hook, under a deadline that keeps
// the answer within WeChat's five seconds. Anything that verifies is
// answered "success".
func (s *Server) pushReceive(w http.ResponseWriter, r *http.Request) error {
	app := r.PathValue("app")
	if _, err := s.cfg.Login.PushApp(app); err != nil {
		return err
	}
	if err := s.cfg.Limits.Push(r.Context(), app, clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge
		}
		return errInvalidRequest("the body could not be read")
	}
	scan, err := s.cfg.Login.ReceivePush(r.Context(), app, pushQuery(r), body)
	if err != nil {
		return err
	}
	if scan != nil {
		s.followScan(r.Context(), scan)
	}
	writeText(w, "success")
	return nil
}

// followScan runs the hook on a scan, detached from WeChat hanging up but
// bounded by FollowScanTimeout, and logs its failure (never the scene).
func (s *Server) followScan(ctx context.Context, scan *login.FollowScan) {
	if s.cfg.OnFollowScan == nil {
		s.log.WarnContext(ctx, "a follow-to-login scan arrived, but nothing handles scans", "app", scan.App.Name)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.FollowScanTimeout)
	defer cancel()
	if err := s.cfg.OnFollowScan(ctx, scan.App, scan.OpenID, scan.Scene); err != nil {
		s.log.WarnContext(ctx, "follow-to-login scan not completed", "app", scan.App.Name, "err", err)
	}
}

// writeText answers 200 with text/plain, uncached.
func writeText(w http.ResponseWriter, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, text)
}
