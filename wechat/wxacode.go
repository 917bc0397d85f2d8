package wechat

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/url"
)

const endpointWxaCodeUnlimit = "/wxa/getwxacodeunlimit"

// maxPicture caps a mini program code's picture: WeChat's are tens of
// kilobytes at the largest width (1280 px); anything past this is not a
// picture we show.
const maxPicture = 2 << 20

// WxaCodeRequest is the body of getwxacodeunlimit (WeChat's
// "getUnlimitedQRCode"; docs/qrlogin.md quotes the rules).
type WxaCodeRequest struct {
	// Scene is what the code carries to the mini program (its page reads
	// it as query.scene): at most 32 visible characters of digits,
	// letters and !#$&'()*+,/:;=?@-._~ (WeChat checks; 40169 otherwise).
	Scene string `json:"scene"`
	// Page is the page the code opens, e.g. "pages/login/index", never
	// with a leading "/" nor a query. Empty: the home page.
	Page string `json:"page,omitempty"`
	// CheckPath nil: WeChat's default, true: the page must exist in the
	// published mini program (41030 otherwise). False allows a trial or
	// develop version and unpublished pages.
	CheckPath *bool `json:"check_path,omitempty"`
	// EnvVersion is "release" (empty: WeChat's default), "trial" or
	// "develop".
	EnvVersion string `json:"env_version,omitempty"`
	// Width in pixels, 280 to 1280; zero: WeChat's default, 430.
	Width int `json:"width,omitempty"`
}

// WxaCodeUnlimit draws a mini program code carrying req.Scene (POST
// /wxa/getwxacodeunlimit). WeChat answers the picture's bytes on success
// and a JSON {errcode, errmsg} only on failure; both are told apart by the
// Content-Type and by the body itself (a JSON object starts with "{", no
// picture does), as either alone has been seen to lie. accessToken is the
// app access token ([TokenManager.Do]); a refused one is [ErrTokenInvalid].
// The call changes nothing WeChat keeps and is retried like the other
// idempotent calls.
func (c *Client) WxaCodeUnlimit(ctx context.Context, accessToken string, req WxaCodeRequest) ([]byte, error) {
	switch {
	case accessToken == "":
		return nil, fmt.Errorf("%w: wxacode: empty access token", ErrInvalidRequest)
	case req.Scene == "":
		return nil, fmt.Errorf("%w: wxacode: empty scene", ErrInvalidRequest)
	}
	var pic []byte
	err := c.do(ctx, request{
		method:     "POST",
		endpoint:   endpointWxaCodeUnlimit,
		query:      url.Values{"access_token": {accessToken}},
		body:       req,
		idempotent: true,
		picture:    &pic,
	}, nil)
	if err != nil {
		return nil, err
	}
	return pic, nil
}

// isJSONAnswer says whether a getwxacodeunlimit answer is WeChat's JSON
// (an error, or a success without a picture) rather than a picture.
func isJSONAnswer(contentType string, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == "application/json" {
		return true
	}
	return bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))
}
