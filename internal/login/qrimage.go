package login

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/wechat"
)

// QRImage draws the picture a phone scans for a ticket of app: the kind's
// way of carrying the ticket to WeChat (a mini program code with the
// ticket as scene; an Official Account's parametric QR code). ttl is the
// ticket's remaining lifetime, for pictures that expire. contentType is
// the picture's media type (image/png, image/jpeg).
type QRImage func(ctx context.Context, app App, ticket string, ttl time.Duration) (png []byte, contentType string, err error)

func qrImageKey(ticket string) string { return "qr:img:" + ticket }

// QRImage returns the ticket's picture, drawn once per ticket (the first
// request asks WeChat; concurrent ones on this instance wait for it) and
// kept in the shared one-time store for the ticket's lifetime, so that
// every instance serves it; maxAge is how long it may be cached.
func (s *Service) QRImage(ctx context.Context, ticket string) (pic []byte, contentType string, maxAge time.Duration, err error) {
	t, _, err := s.loadQR(ctx, ticket)
	if err != nil {
		return nil, "", 0, err
	}
	ttl := t.ExpiresAt.Sub(s.cfg.Now())
	if b, err := s.cfg.OneTime.Get(ctx, qrImageKey(ticket)); err == nil {
		ct, pic, ok := bytes.Cut(b, []byte{0})
		if ok {
			return pic, string(ct), ttl, nil
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, "", 0, fmt.Errorf("read QR image: %w", err)
	}
	v, err, _ := s.imageFlight.Do(ticket, func() (any, error) {
		app, ok := s.apps.Named(t.App)
		draw := s.qrImages[app.Kind]
		if !ok || draw == nil {
			return nil, ErrInvalidQRTicket.Say("the app of this login is no longer configured")
		}
		// Detached: one caller going away must not fail the others.
		pic, ct, err := draw(context.WithoutCancel(ctx), app, ticket, ttl)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(ct, "image/") {
			return nil, fmt.Errorf("draw QR image: %q is not a picture", ct)
		}
		b := append(append([]byte(ct), 0), pic...)
		if err := s.cfg.OneTime.PutOnce(context.WithoutCancel(ctx), qrImageKey(ticket), b, ttl); err != nil && !errors.Is(err, storage.ErrConflict) {
			s.cfg.Logger.WarnContext(ctx, "could not keep a QR image; it will be drawn again", "err", err)
		}
		return b, nil
	})
	if err != nil {
		return nil, "", 0, err
	}
	ct, pic, _ := bytes.Cut(v.([]byte), []byte{0})
	return pic, string(ct), ttl, nil
}

// miniProgramCode draws a mini program code (getwxacodeunlimit) whose
// scene is the ticket, opening the app's qrlogin_page (empty: the home
// page). A trial or develop version (qrlogin_env_version) cannot pass
// WeChat's check of published pages, so the check is off for them.
func (s *Service) miniProgramCode(ctx context.Context, app App, ticket string, _ time.Duration) ([]byte, string, error) {
	req := wechat.WxaCodeRequest{Scene: ticket, Page: app.QRPage, EnvVersion: app.QREnvVersion}
	if app.QREnvVersion != "" && app.QREnvVersion != "release" {
		no := false
		req.CheckPath = &no
	}
	var pic []byte
	err := s.cfg.AppTokens.Do(ctx, app.AppID, func(tok string) error {
		var err error
		pic, err = s.cfg.WeChat.WxaCodeUnlimit(ctx, tok, req)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("mini program code: %w", err)
	}
	return pic, http.DetectContentType(pic), nil
}
