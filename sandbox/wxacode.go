package sandbox

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// A mini program code (小程序码) from getUnlimitedQRCode: WeChat draws a
// picture that opens a page of the mini program with the scene as
// query.scene. The sandbox draws a real QR code carrying the scene and
// remembers each one, so that POST /sandbox/v1/miniprogram/scan can be
// the phone that scans it.

// picture is a WeChat success answer that is an image, not JSON.
type picture []byte

// wxaCodeContentPrefix starts the content of the sandbox's codes; the
// scene and page follow as query parameters (docs/sandbox.md).
const wxaCodeContentPrefix = "https://sandbox.wxauth.invalid/wxacode?"

// maxWxaCodes bounds the codes remembered; the oldest are forgotten first.
const maxWxaCodes = 100_000

// sceneChars are the characters WeChat allows in a scene besides digits
// and letters.
const sceneChars = "!#$&'()*+,/:;=?@-._~"

type appScene struct{ appID, scene string }

// wxaCodes are the codes drawn, guarded by Sandbox.mu.
type wxaCodes struct {
	pages map[appScene]string
	order []appScene
}

func (c *wxaCodes) remember(k appScene, page string) {
	if c.pages == nil {
		c.pages = make(map[appScene]string)
	}
	if _, ok := c.pages[k]; !ok {
		c.order = append(c.order, k)
	}
	c.pages[k] = page
	if len(c.order) > maxWxaCodes {
		delete(c.pages, c.order[0])
		c.order = c.order[1:]
	}
}

// validScene reports whether WeChat takes scene: 1 to 32 characters of
// digits, letters and sceneChars.
func validScene(scene string) bool {
	if scene == "" || len(scene) > 32 {
		return false
	}
	for _, r := range scene {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || strings.ContainsRune(sceneChars, r)) {
			return false
		}
	}
	return true
}

// getWxaCodeUnlimit imitates POST /wxa/getwxacodeunlimit
// (getUnlimitedQRCode; docs/qrlogin.md, docs/sandbox.md). Checks in this
// order: app access token (41001, 40001, 42001), the app a mini program
// (48001), body JSON (47001), scene (40169), page (41030: a leading "/",
// a query, or with check_path not false a page the app's Pages do not
// list), env_version (40097), width 280..1280 (40097). Success is the
// picture's bytes.
func (s *Sandbox) getWxaCodeUnlimit(r *http.Request) any {
	var req struct {
		Scene      string `json:"scene"`
		Page       string `json:"page"`
		CheckPath  *bool  `json:"check_path"`
		EnvVersion string `json:"env_version"`
		Width      *int   `json:"width"`
	}
	bodyErr := readWeChatJSON(r, &req)

	s.mu.Lock()
	defer s.mu.Unlock()
	tok, code := s.checkAppTokenLocked(r.URL.Query().Get("access_token"), s.now())
	if code != 0 {
		return code
	}
	app := s.apps[tok.appID]
	switch {
	case app == nil || app.Kind != KindMiniProgram:
		return errcode(48001)
	case bodyErr != 0:
		return bodyErr
	case !validScene(req.Scene):
		return errcode(40169)
	case strings.HasPrefix(req.Page, "/") || strings.ContainsAny(req.Page, "?#"):
		return errcode(41030)
	case req.Page != "" && (req.CheckPath == nil || *req.CheckPath) && len(app.Pages) > 0 && !slices.Contains(app.Pages, req.Page):
		return errcode(41030)
	case req.EnvVersion != "" && req.EnvVersion != "release" && req.EnvVersion != "trial" && req.EnvVersion != "develop":
		return errcode(40097)
	case req.Width != nil && (*req.Width < 280 || *req.Width > 1280):
		return errcode(40097)
	}
	content := wxaCodeContentPrefix + url.Values{"appid": {tok.appID}, "scene": {req.Scene}, "page": {req.Page}}.Encode()
	png, err := qrPNG(content)
	if err != nil {
		s.log.ErrorContext(r.Context(), "sandbox wxacode", "err", err)
		return errcode(-1)
	}
	s.wxaCodes.remember(appScene{tok.appID, req.Scene}, req.Page)
	return picture(png)
}

// ScanMiniProgramCode is what the mini program sees when user scans the code drawn for
// scene in the mini program appID: the page it opens and a fresh wx.login
// code. A scene no code was drawn for is [ErrNotFound]: a phone cannot
// scan a code that does not exist.
func (s *Sandbox) ScanMiniProgramCode(appID, user, scene string) (page, code string, err error) {
	s.mu.Lock()
	page, ok := s.wxaCodes.pages[appScene{appID, scene}]
	s.mu.Unlock()
	if !ok {
		return "", "", fmt.Errorf("no mini program code was drawn for scene %q of app %q: %w", scene, appID, ErrNotFound)
	}
	code, err = s.IssueCode(appID, user)
	if err != nil {
		return "", "", err
	}
	return page, code, nil
}

// scanWxaCode serves POST /sandbox/v1/miniprogram/scan {"appid", "user",
// "scene"} (docs/sandbox.md): {"scene", "page", "code"}, what the mini
// program opened by the code gets (options.scene, its page, and the code
// its wx.login() then returns).
func (s *Sandbox) scanWxaCode(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		appUserRequest
		Scene string `json:"scene"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	if req.Scene == "" {
		return errors.New("scene is missing")
	}
	page, code, err := s.ScanMiniProgramCode(req.AppID, req.User, req.Scene)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Scene string `json:"scene"`
		Page  string `json:"page"`
		Code  string `json:"code"`
	}{req.Scene, page, code})
	return nil
}
