package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/clienterr"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/wechat/push"
)

// What WeChat pushes to an Official Account's server (/v1/wechat/push/{app},
// docs/follow-login.md): the URL check and the events of a scan.

// PushClockSkew is how far a push's timestamp may be from our clock: a
// captured push cannot be replayed later than this. WeChat's clock is
// right; ours must be too (NTP).
const PushClockSkew = 5 * time.Minute

// pushSeenTTL is how long a push is remembered as handled: longer than
// the timestamp window on both sides, so a replay is either too old or
// known.
const pushSeenTTL = 2*PushClockSkew + time.Minute

// Refusals of a push, each with its contract code; WeChat only sees the
// status.
var (
	ErrPushUnknownApp = clienterr.WithStatus(api.CodeUnknownApp, http.StatusNotFound, "no official_account app with a push token is configured under this name")
	ErrPushSignature  = clienterr.WithStatus(api.CodeInvalidSignature, http.StatusForbidden, "the push's signature does not verify with the app's token")
	ErrPushTimestamp  = clienterr.WithStatus(api.CodeInvalidSignature, http.StatusForbidden, "the push's timestamp is more than 5 minutes from now")
	ErrPushDecrypt    = clienterr.WithStatus(api.CodeInvalidSignature, http.StatusForbidden, "the push does not decrypt with the app's EncodingAESKey, or is for another appid")
	ErrPushMode       = clienterr.New(api.CodeInvalidRequest, "the push's mode does not match the app: safe mode (encrypt_type=aes) needs push_aes_key, and an app with push_aes_key takes safe mode only")
	ErrPushMalformed  = clienterr.New(api.CodeInvalidRequest, "the push is not WeChat's XML")
)

// PushQuery is the query string of a push or of WeChat's URL check.
type PushQuery struct {
	Signature, Timestamp, Nonce string
	// EncryptType is "" or "raw" for plaintext, "aes" for safe mode;
	// MsgSignature signs the Encrypt element then.
	EncryptType, MsgSignature string
}

// FollowScan is what a scan of a parametric QR code told us: who (the
// openid in the app) scanned which scene.
type FollowScan struct {
	App    App
	OpenID string
	Scene  string
}

// PushApp is the app a push names: an Official Account with a push
// token; else [ErrPushUnknownApp]. A look-up in memory, so that the
// server limits only pushes to real apps (bounded counters).
func (s *Service) PushApp(name string) (App, error) {
	app, ok := s.apps.Named(name)
	if !ok || app.Kind != KindOfficialAccount || app.PushToken == "" {
		return App{}, ErrPushUnknownApp
	}
	return app, nil
}

// checkPushTime refuses a timestamp that is not unix seconds within
// PushClockSkew of now.
func (s *Service) checkPushTime(ts string) error {
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrPushTimestamp.Say("the push's timestamp is not unix seconds")
	}
	if d := s.cfg.Now().Sub(time.Unix(t, 0)); d > PushClockSkew || d < -PushClockSkew {
		return ErrPushTimestamp
	}
	return nil
}

// VerifyPushURL checks WeChat's URL check (GET with signature, timestamp,
// nonce and echostr) for app appName: nil means echostr may be echoed.
func (s *Service) VerifyPushURL(appName string, q PushQuery) error {
	app, err := s.PushApp(appName)
	if err != nil {
		return err
	}
	if err := s.checkPushTime(q.Timestamp); err != nil {
		return err
	}
	if !push.Verify(q.Signature, app.PushToken, q.Timestamp, q.Nonce) {
		return ErrPushSignature
	}
	return nil
}

// ReceivePush checks a push to appName and reads it. It answers the scan
// it carries, or nil when there is nothing to do: another message or
// event, or a push already handled (WeChat pushes again when it got no
// answer within five seconds; each scan is handled once, known by the
// user's openid and CreateTime as WeChat advises, and the event type,
// shared by every instance through the one-time store).
//
// A plaintext push's signature does not cover its body, so a signature
// is accepted once; an app with an EncodingAESKey takes safe mode only,
// whose msg_signature covers the encrypted message.
func (s *Service) ReceivePush(ctx context.Context, appName string, q PushQuery, body []byte) (*FollowScan, error) {
	app, err := s.PushApp(appName)
	if err != nil {
		return nil, err
	}
	if err := s.checkPushTime(q.Timestamp); err != nil {
		return nil, err
	}
	var msgXML []byte
	switch q.EncryptType {
	case "", "raw":
		if app.PushAESKey != "" {
			return nil, ErrPushMode
		}
		if !push.Verify(q.Signature, app.PushToken, q.Timestamp, q.Nonce) {
			return nil, ErrPushSignature
		}
		if fresh, err := s.firstPushSeen(ctx, "sig:"+app.AppID+":"+q.Signature); err != nil || !fresh {
			return nil, err
		}
		msgXML = body
	case "aes":
		if app.PushAESKey == "" {
			return nil, ErrPushMode
		}
		env, err := push.ParseEnvelope(body)
		if err != nil {
			return nil, ErrPushMalformed
		}
		if !push.Verify(q.MsgSignature, app.PushToken, q.Timestamp, q.Nonce, env.Encrypt) {
			return nil, ErrPushSignature
		}
		c, err := push.NewCipher(app.PushAESKey, app.AppID)
		if err != nil {
			return nil, fmt.Errorf("push cipher: %w", err) // checked at start-up
		}
		if msgXML, err = c.Decrypt(env.Encrypt); err != nil {
			return nil, ErrPushDecrypt
		}
	default:
		return nil, ErrPushMode.Say("encrypt_type must be raw or aes")
	}
	m, err := push.ParseMessage(msgXML)
	if err != nil || len(m.FromUserName) > 128 {
		return nil, ErrPushMalformed
	}
	scene, ok := m.Scene()
	if !ok || len(scene) > 64 {
		return nil, nil
	}
	// WeChat's key for events is FromUserName + CreateTime; the event
	// type keeps a subscribe and a SCAN of the same second apart.
	fresh, err := s.firstPushSeen(ctx, "event:"+app.AppID+":"+m.FromUserName+":"+strconv.FormatInt(m.CreateTime, 10)+":"+m.Event)
	if err != nil || !fresh {
		return nil, err
	}
	return &FollowScan{App: app, OpenID: m.FromUserName, Scene: scene}, nil
}

// firstPushSeen marks key as handled, reporting whether it was not yet.
func (s *Service) firstPushSeen(ctx context.Context, key string) (bool, error) {
	err := s.cfg.OneTime.PutOnce(ctx, "push:"+key, []byte{1}, pushSeenTTL)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, storage.ErrConflict):
		return false, nil
	}
	return false, fmt.Errorf("mark push handled: %w", err)
}
