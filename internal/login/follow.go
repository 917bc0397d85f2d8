package login

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wxauth/wxauth/wechat"
)

// Follow-to-login on an Official Account (docs/follow-login.md): the
// browser shows a parametric QR code of the account whose scene is the
// login's ticket; the phone scans it, the user follows (or already
// follows) the account, WeChat pushes the scene and the user's openid to
// /v1/wechat/push/{app} (followpush.go), and the login is completed with
// [Service.FollowerIdentity]. The QR-ticket machinery (POST /v1/qrlogin)
// calls [Service.FollowQRImage] for the picture.

// FollowQRImage is the picture of a temporary parametric QR code of the
// Official Account app whose scene is scene and which lives ttl (rounded
// up to whole seconds, 1 s to 30 days): made through the app access token
// (POST /cgi-bin/qrcode/create, QR_STR_SCENE), fetched from
// mp.weixin.qq.com (showqrcode). WeChat answers a JPEG; contentType says
// what the picture is. A user who scans it makes WeChat push scene back
// to /v1/wechat/push/{app}. Only verified service accounts may make
// these codes; WeChat's refusal (48001) is an operator's matter.
func (s *Service) FollowQRImage(ctx context.Context, app App, scene string, ttl time.Duration) (img []byte, contentType string, err error) {
	if app.Kind != KindOfficialAccount {
		return nil, "", ErrUnknownApp.Sayf("app %q is not an %s: follow-to-login needs one", app.Name, KindOfficialAccount)
	}
	secs := int((ttl + time.Second - 1) / time.Second)
	if scene == "" || len(scene) > wechat.MaxQRCodeSceneStr || secs < 1 || secs > wechat.MaxQRCodeExpire {
		return nil, "", ErrInvalidRequest.Say("a QR code needs a scene of 1 to 64 characters and a lifetime of 1 s to 30 days")
	}
	var qr wechat.QRCode
	err = s.cfg.AppTokens.Do(ctx, app.AppID, func(token string) error {
		var err error
		qr, err = s.cfg.WeChat.CreateQRCode(ctx, token, wechat.QRCodeRequest{SceneStr: scene, ExpireSeconds: secs})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("create QR code: %w", err)
	}
	img, err = s.cfg.WeChat.ShowQRCode(ctx, qr.Ticket)
	if err != nil {
		return nil, "", fmt.Errorf("show QR code: %w", err)
	}
	return img, http.DetectContentType(img), nil
}

// FollowerIdentity is who the follower openID of the Official Account app
// is, to sign in with after a scan's push: the unionid comes from the
// identity already stored, else from /cgi-bin/user/info (follower.go), and
// is empty when WeChat gives none (an account not bound to an Open
// Platform account, or not allowed the API).
func (s *Service) FollowerIdentity(ctx context.Context, app App, openID string) (Identity, error) {
	if app.Kind != KindOfficialAccount {
		return Identity{}, ErrUnknownApp.Sayf("app %q is not an %s", app.Name, KindOfficialAccount)
	}
	if openID == "" {
		return Identity{}, ErrInvalidRequest.Say("the openid is empty")
	}
	unionID, err := s.followerUnionID(ctx, app, openID)
	if err != nil {
		return Identity{}, err
	}
	return Identity{App: app, OpenID: openID, UnionID: unionID}, nil
}

// FollowScanned completes the follow-to-login whose ticket is scene: the
// follower's identity (with its unionid) signs in and the browser waiting
// on the ticket gets the login. The push receiver calls it for every
// subscribe or SCAN event with a scene. An Official Account has QR codes
// of its own besides ours (posters, shop counters): a scene that is not a
// ticket of ours is ignored, and a ticket already used or expired is an
// error the receiver logs, never an answer WeChat sees.
func (s *Service) FollowScanned(ctx context.Context, app App, openID, scene string) error {
	if !validTicket(scene) {
		s.cfg.Logger.DebugContext(ctx, "a scan of another QR code of the account: not a login", "app", app.Name)
		return nil
	}
	id, err := s.FollowerIdentity(ctx, app, openID)
	if err != nil {
		return err
	}
	return s.CompleteQR(ctx, scene, id)
}
