package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Parametric QR codes of an Official Account (WeChat's "生成带参数的二维码";
// docs/follow-login.md): a code carries a scene; a user scanning it follows
// the account (or, already following, opens it) and WeChat pushes the scene
// to the account's server (package wechat/push).

const (
	endpointQRCodeCreate = "/cgi-bin/qrcode/create"
	endpointShowQRCode   = "/cgi-bin/showqrcode"
)

// QR code limits of WeChat's documentation: a temporary code lives at
// most 30 days; a string scene is 1 to 64 characters.
const (
	MaxQRCodeExpire   = 2592000
	MaxQRCodeSceneStr = 64
)

// maxQRImage caps a QR picture. WeChat's are JPEGs of some 30 KB.
const maxQRImage = 1 << 20

// QRCodeRequest asks for a temporary QR code with a string scene
// (action_name QR_STR_SCENE).
type QRCodeRequest struct {
	// SceneStr is the scene, 1 to 64 characters, which the scan's push
	// carries back.
	SceneStr string
	// ExpireSeconds is the code's lifetime, 1 to 2592000 seconds.
	ExpireSeconds int
}

// QRCode is a minted code.
type QRCode struct {
	// Ticket fetches the picture ([Client.ShowQRCode]) while it lives.
	Ticket string
	// ExpireSeconds is the lifetime WeChat granted.
	ExpireSeconds int
	// URL is what the picture carries, for drawing it oneself.
	URL string
}

// CreateQRCode mints a temporary parametric QR code for the Official
// Account whose app access token is accessToken (POST /cgi-bin/qrcode/create;
// only verified service accounts may, else 48001 [ErrAPIUnauthorized]).
// A bad scene or lifetime is [ErrInvalidRequest] and no call is made. It
// is not retried after -1: each call mints a code.
func (c *Client) CreateQRCode(ctx context.Context, accessToken string, req QRCodeRequest) (QRCode, error) {
	switch {
	case accessToken == "":
		return QRCode{}, fmt.Errorf("%w: create QR code: empty access token", ErrInvalidRequest)
	case req.SceneStr == "" || len([]rune(req.SceneStr)) > MaxQRCodeSceneStr:
		return QRCode{}, fmt.Errorf("%w: create QR code: scene must be 1 to %d characters", ErrInvalidRequest, MaxQRCodeSceneStr)
	case req.ExpireSeconds < 1 || req.ExpireSeconds > MaxQRCodeExpire:
		return QRCode{}, fmt.Errorf("%w: create QR code: expire_seconds %d not in 1..%d", ErrInvalidRequest, req.ExpireSeconds, MaxQRCodeExpire)
	}
	body := map[string]any{
		"expire_seconds": req.ExpireSeconds,
		"action_name":    "QR_STR_SCENE",
		"action_info":    map[string]any{"scene": map[string]string{"scene_str": req.SceneStr}},
	}
	var resp qrCodeResponse
	if err := c.postJSON(ctx, endpointQRCodeCreate, url.Values{"access_token": {accessToken}}, body, &resp); err != nil {
		return QRCode{}, err
	}
	return QRCode{Ticket: resp.Ticket, ExpireSeconds: resp.ExpireSeconds, URL: resp.URL}, nil
}

type qrCodeResponse struct {
	Ticket        string `json:"ticket"`
	ExpireSeconds int    `json:"expire_seconds"`
	URL           string `json:"url"`
}

func (r *qrCodeResponse) validate() error {
	switch {
	case r.Ticket == "":
		return errMissingField("ticket")
	case r.URL == "":
		return errMissingField("url")
	}
	return nil
}

// ShowQRCode fetches the picture of a code from mp.weixin.qq.com (GET
// /cgi-bin/showqrcode?ticket=…, the ticket URL-encoded; WeChat answers a
// JPEG). WeChat answers a ticket it does not know, or one expired, with
// HTTP 404: an [*HTTPError] (also [ErrUnavailable]); a JSON errcode is an
// [*APIError]; a body that is neither a picture nor JSON, or larger than
// 1 MiB, is [ErrUnexpectedResponse]. Errors never quote the ticket.
func (c *Client) ShowQRCode(ctx context.Context, ticket string) ([]byte, error) {
	if ticket == "" {
		return nil, fmt.Errorf("%w: show QR code: empty ticket", ErrInvalidRequest)
	}
	r := redactor{ticket, url.QueryEscape(ticket)}
	start := time.Now()
	img, errcode, err := c.showQRCode(ctx, ticket, r)
	if c.observe != nil {
		c.observe(Call{Endpoint: endpointShowQRCode, Host: c.mpBase, Errcode: errcode, Err: err, Duration: time.Since(start)})
	}
	return img, err
}

func (c *Client) showQRCode(ctx context.Context, ticket string, r redactor) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.mpBase+endpointShowQRCode+"?ticket="+url.QueryEscape(ticket), nil)
	if err != nil {
		return nil, 0, transportError(ctx, endpointShowQRCode, err, r)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, transportError(ctx, endpointShowQRCode, err, r)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, &HTTPError{Endpoint: endpointShowQRCode, Status: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxQRImage+1))
	if err != nil {
		return nil, 0, transportError(ctx, endpointShowQRCode, err, r)
	}
	if len(data) > maxQRImage {
		return nil, 0, unexpected(endpointShowQRCode, fmt.Sprintf("body larger than %d bytes", maxQRImage), nil, r)
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var st status
		if err := json.Unmarshal(t, &st); err == nil && st.Errcode != 0 {
			return nil, st.Errcode, &APIError{Endpoint: endpointShowQRCode, Code: st.Errcode, Msg: r.redact(st.Errmsg)}
		}
		return nil, 0, unexpected(endpointShowQRCode, "JSON instead of a picture", nil, r)
	}
	switch http.DetectContentType(data) {
	case "image/jpeg", "image/png", "image/gif":
		return data, 0, nil
	}
	return nil, 0, unexpected(endpointShowQRCode, "body is not a picture", nil, r)
}
