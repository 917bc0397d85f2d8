package sandbox

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
)

// Parametric QR codes of Official Accounts (WeChat's "生成带参数的二维码",
// docs/sandbox.md "Parametric QR codes"): POST /cgi-bin/qrcode/create
// mints a ticket for a scene, GET https://mp.weixin.qq.com/cgi-bin/showqrcode
// (here under MPPrefix) draws it, and a phone scanning it (the control
// call POST /sandbox/v1/officialaccount/scan) makes WeChat push an event
// to the account's server (push.go).

// MPPrefix stands for https://mp.weixin.qq.com, where WeChat serves the
// pictures of parametric QR codes.
const MPPrefix = "/sandbox/mp"

// QR code limits of WeChat's documentation: a temporary code lives 60 s
// unless expire_seconds says otherwise, at most 30 days; a string scene
// is 1 to 64 characters; a permanent integer scene 1 to 100000.
const (
	qrDefaultTTL     = 60
	qrMaxTTL         = 2592000
	qrMaxSceneStr    = 64
	qrMaxLimitScene  = 100000
	pathQRCodeCreate = "/cgi-bin/qrcode/create"
	pathShowQRCode   = "/cgi-bin/showqrcode"
)

// qrCode is one minted parametric QR code.
type qrCode struct {
	appID   string
	scene   string    // scene_str, or scene_id in decimal
	url     string    // what the picture carries
	expires time.Time // zero: permanent
}

func (q *qrCode) live(now time.Time) bool { return q.expires.IsZero() || now.Before(q.expires) }

// qrCreateRequest is qrcode/create's body.
type qrCreateRequest struct {
	ExpireSeconds *int64 `json:"expire_seconds"`
	ActionName    string `json:"action_name"`
	ActionInfo    struct {
		Scene struct {
			SceneID  *int64 `json:"scene_id"`
			SceneStr string `json:"scene_str"`
		} `json:"scene"`
	} `json:"action_info"`
}

// qrCreateAnswer is its success answer, in WeChat's field order; a
// permanent code has no expire_seconds.
type qrCreateAnswer struct {
	Ticket        string `json:"ticket"`
	ExpireSeconds int64  `json:"expire_seconds,omitempty"`
	URL           string `json:"url"`
}

// qrcodeCreate imitates POST /cgi-bin/qrcode/create?access_token=APP_TOKEN
// (Official Accounts only; the account must be a verified service
// account, which every sandbox Official Account is). The app token is
// checked as on every token endpoint (41001, 40001, 42001), then the IP
// whitelist (40164), then the body: not JSON 47001; an app that is not an
// Official Account 48001; action_name not one of QR_SCENE, QR_STR_SCENE,
// QR_LIMIT_SCENE, QR_LIMIT_STR_SCENE 40052 (assumed, docs/sandbox.md);
// a scene missing or out of range (scene_str 1..64 characters; scene_id
// a non-zero 32-bit integer, 1..100000 for QR_LIMIT_SCENE) 40053 (invalid
// action info); expire_seconds not in 1..2592000 40097 (assumed; WeChat
// documents only the maximum). A temporary code lives expire_seconds,
// 60 when absent; a permanent code forever.
func (s *Sandbox) qrcodeCreate(r *http.Request) any {
	var req qrCreateRequest
	code := readWeChatJSON(r, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	tok, bad := s.checkAppTokenLocked(r.URL.Query().Get("access_token"), now)
	if bad != 0 {
		return bad
	}
	app := s.apps[tok.appID]
	if refused := s.checkIPLocked(r, app); refused != nil {
		return refused
	}
	if code != 0 {
		return code
	}
	if app.Kind != KindOfficialAccount {
		return errcode(48001)
	}
	var permanent, byString bool
	switch req.ActionName {
	case "QR_SCENE":
	case "QR_STR_SCENE":
		byString = true
	case "QR_LIMIT_SCENE":
		permanent = true
	case "QR_LIMIT_STR_SCENE":
		permanent, byString = true, true
	default:
		return errcode(40052)
	}
	sc := req.ActionInfo.Scene
	var scene string
	switch {
	case byString && (sc.SceneStr == "" || len([]rune(sc.SceneStr)) > qrMaxSceneStr):
		return errcode(40053)
	case byString:
		scene = sc.SceneStr
	case sc.SceneID == nil || *sc.SceneID == 0 || *sc.SceneID < -1<<31 || *sc.SceneID > 1<<31-1:
		return errcode(40053)
	case permanent && (*sc.SceneID < 1 || *sc.SceneID > qrMaxLimitScene):
		return errcode(40053)
	default:
		scene = strconv.FormatInt(*sc.SceneID, 10)
	}
	ttl := int64(qrDefaultTTL)
	if req.ExpireSeconds != nil && !permanent {
		ttl = *req.ExpireSeconds
		if ttl < 1 || ttl > qrMaxTTL {
			return errcode(40097)
		}
	}
	var raw [31]byte
	if err := s.readRand(raw[:]); err != nil {
		return errcode(-1)
	}
	// WeChat's tickets are standard base64 (with + and /, hence "UrlEncode
	// the ticket" in its docs); the sandbox's always start "gQ+/+/" and
	// end "==" so that a caller who forgets to encode one fails at once.
	// Its urls look like WeChat's, http://weixin.qq.com/q/02….
	q := &qrCode{appID: app.AppID, scene: scene,
		url: "http://weixin.qq.com/q/02" + base64.RawURLEncoding.EncodeToString(raw[:15])}
	raw[15], raw[16], raw[17] = 0xfb, 0xff, 0xbf // "+/+/" in base64
	ticket := "gQ" + base64.StdEncoding.EncodeToString(raw[15:])
	ans := qrCreateAnswer{Ticket: ticket, URL: q.url}
	if !permanent {
		q.expires = now.Add(time.Duration(ttl) * time.Second)
		ans.ExpireSeconds = ttl
	}
	s.sweepQRCodesLocked(now)
	s.qrcodes[ticket] = q
	return ans
}

// sweepQRCodesLocked drops expired codes, at most once a minute.
func (s *Sandbox) sweepQRCodesLocked(now time.Time) {
	if now.Before(s.qrSweep.Add(time.Minute)) {
		return
	}
	s.qrSweep = now
	for t, q := range s.qrcodes {
		if !q.live(now) {
			delete(s.qrcodes, t)
		}
	}
}

// showQRCode imitates GET https://mp.weixin.qq.com/cgi-bin/showqrcode
// ?ticket=TICKET: the picture of a live code (WeChat serves a JPEG; the
// sandbox a PNG, a real QR code carrying the code's url), and, as
// WeChat's documentation says, HTTP 404 for a ticket that is not valid
// (unknown or expired), with no body. No app token is needed: the ticket
// is the credential. Calls are counted and take faults under
// /cgi-bin/showqrcode.
func (s *Sandbox) showQRCode(w http.ResponseWriter, r *http.Request) {
	if f := s.beginCall(pathShowQRCode); f != nil && s.runFault(w, r, pathShowQRCode, f, func(code int) {
		s.writeWeChat(w, r, pathShowQRCode, errcode(code))
	}) {
		return
	}
	s.mu.Lock()
	q, ok := s.qrcodes[r.URL.Query().Get("ticket")]
	live := ok && q.live(s.now())
	var content string
	if live {
		content = q.url
	}
	s.mu.Unlock()
	if !live {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	png, err := qrPNG(content)
	if err != nil {
		s.log.ErrorContext(r.Context(), "sandbox showqrcode", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "max-age=604800")
	w.Write(png)
}

// liveQRCodeLocked finds a live code of appID for scene, and its ticket.
func (s *Sandbox) liveQRCodeLocked(appID, scene string, now time.Time) (string, bool) {
	for t, q := range s.qrcodes {
		if q.appID == appID && q.scene == scene && q.live(now) {
			return t, true
		}
	}
	return "", false
}
