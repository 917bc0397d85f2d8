package sandbox

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pushes to an Official Account's server (WeChat's 服务器配置 and
// 消息加解密; docs/sandbox.md "Pushes"). An Official Account with a
// [App.PushURL] receives the events its users cause: a scan of one of its
// parametric QR codes (POST /sandbox/v1/officialaccount/scan) or any
// chosen event (POST /sandbox/v1/officialaccount/event). As WeChat does,
// the sandbox signs each push with the account's token, encrypts it in
// safe mode when the account has an EncodingAESKey, waits
// [Config.PushTimeout] for an answer, and tries again up to three more
// times when none comes.

// DefaultPushTimeout is how long WeChat waits for a server's answer to a
// push before it drops the connection and tries again: five seconds.
const DefaultPushTimeout = 5 * time.Second

// pushRetries is how many times WeChat pushes again after a push got no
// answer in time ("重试三次").
const pushRetries = 3

// PushResult is what became of one push.
type PushResult struct {
	// Event is the event pushed: subscribe, SCAN, ….
	Event string `json:"event"`
	// Delivered reports whether the server answered HTTP 200.
	Delivered bool `json:"delivered"`
	// Attempts counts the requests made, 1 to 4.
	Attempts int `json:"attempts"`
	// Status is the HTTP status of the last answer; 0 if none came.
	Status int `json:"status"`
}

// checkPushSettings validates an app's push fields (docs/sandbox.md),
// as WeChat's console does: an http(s) URL, a token of 3–32 letters and
// digits, an EncodingAESKey of 43 base64 characters.
func checkPushSettings(a App) error {
	if a.PushURL == "" && a.PushToken == "" && a.PushAESKey == "" {
		return nil
	}
	if a.Kind != KindOfficialAccount {
		return fmt.Errorf("push settings are for %s apps, not %s", KindOfficialAccount, a.Kind)
	}
	if a.PushURL != "" {
		u, err := url.Parse(a.PushURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("PushURL %q is not an http(s) URL", a.PushURL)
		}
		if a.PushToken == "" {
			return errors.New("PushURL needs a PushToken")
		}
	}
	if a.PushToken != "" && (len(a.PushToken) < 3 || len(a.PushToken) > 32 ||
		strings.IndexFunc(a.PushToken, func(r rune) bool { return !isASCIIAlnum(r) }) >= 0) {
		return errors.New("PushToken must be 3 to 32 letters and digits")
	}
	if a.PushAESKey != "" {
		if _, err := pushKey(a.PushAESKey); err != nil {
			return err
		}
	}
	return nil
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// pushKey decodes an EncodingAESKey: 43 base64 characters, "=" appended,
// 32 bytes.
func pushKey(k string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(k + "=")
	if len(k) != 43 || err != nil || len(key) != 32 {
		return nil, errors.New("PushAESKey must be 43 base64 characters (an EncodingAESKey)")
	}
	return key, nil
}

// SetPush sets where and how the Official Account appID is pushed to:
// url (empty: nowhere), token, and aesKey (empty: plaintext mode).
func (s *Sandbox) SetPush(appID, url, token, aesKey string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[appID]
	if !ok {
		return fmt.Errorf("app %q: %w", appID, ErrNotFound)
	}
	next := *app
	next.PushURL, next.PushToken, next.PushAESKey = url, token, aesKey
	if err := checkPushSettings(next); err != nil {
		return err
	}
	*app = next
	return nil
}

// ScanQRCode plays user scanning the parametric QR code of the Official Account
// appID whose scene is scene: a scene with no live code of that app is
// [ErrNotFound]. A user who does not follow the account follows it now and
// the account is pushed subscribe with EventKey qrscene_<scene>; a
// follower's scan pushes SCAN with EventKey <scene>; both carry the code's
// Ticket. An account with no PushURL is invalid.
func (s *Sandbox) ScanQRCode(ctx context.Context, appID, user, scene string) (PushResult, error) {
	s.mu.Lock()
	now := s.now()
	app, ok := s.apps[appID]
	if !ok {
		s.mu.Unlock()
		return PushResult{}, fmt.Errorf("app %q: %w", appID, ErrNotFound)
	}
	if _, ok := s.users[user]; !ok {
		s.mu.Unlock()
		return PushResult{}, fmt.Errorf("user %q: %w", user, ErrNotFound)
	}
	ticket, ok := s.liveQRCodeLocked(appID, scene, now)
	if !ok {
		s.mu.Unlock()
		return PushResult{}, fmt.Errorf("no live QR code of app %q has scene %q: %w", appID, scene, ErrNotFound)
	}
	if app.PushURL == "" {
		s.mu.Unlock()
		return PushResult{}, fmt.Errorf("app %q has no push URL", appID)
	}
	ev := pushEvent{Event: "SCAN", EventKey: scene, Ticket: ticket}
	if f := s.followLocked(appID, user); !f.following {
		ev.Event, ev.EventKey = "subscribe", "qrscene_"+scene
		s.follows[appUser{appID, user}] = follow{following: true, since: now}
	}
	s.mu.Unlock()
	return s.push(ctx, appID, user, ev)
}

// PushEvent pushes the event of type event with eventKey, from user, to
// the Official Account appID as it stands: for events a test chooses
// (unsubscribe, CLICK, a SCAN of a code never made). Follow state is not
// changed.
func (s *Sandbox) PushEvent(ctx context.Context, appID, user, event, eventKey string) (PushResult, error) {
	if event == "" {
		return PushResult{}, errors.New("event is missing")
	}
	return s.push(ctx, appID, user, pushEvent{Event: event, EventKey: eventKey})
}

// pushEvent is the part of an event's XML the caller chooses.
type pushEvent struct{ Event, EventKey, Ticket string }

// eventXML is an event as WeChat pushes it, every text in CDATA.
type eventXML struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   cdata    `xml:"ToUserName"`
	FromUserName cdata    `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      cdata    `xml:"MsgType"`
	Event        cdata    `xml:"Event"`
	EventKey     *cdata   `xml:"EventKey,omitempty"`
	Ticket       *cdata   `xml:"Ticket,omitempty"`
}

// envelopeXML is a safe-mode push's body.
type envelopeXML struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName cdata    `xml:"ToUserName"`
	Encrypt    cdata    `xml:"Encrypt"`
}

type cdata struct {
	Text string `xml:",cdata"`
}

// originalID is an account's original id, gh_ and 12 hex digits, derived
// from its appid.
func originalID(appID string) string {
	sum := sha1.Sum([]byte("gh|" + appID))
	return "gh_" + hex.EncodeToString(sum[:6])
}

// push builds, signs (and in safe mode encrypts) the event and delivers
// it to the account's push URL.
func (s *Sandbox) push(ctx context.Context, appID, user string, ev pushEvent) (PushResult, error) {
	s.mu.Lock()
	app, ok := s.apps[appID]
	if !ok {
		s.mu.Unlock()
		return PushResult{}, fmt.Errorf("app %q: %w", appID, ErrNotFound)
	}
	if _, ok := s.users[user]; !ok {
		s.mu.Unlock()
		return PushResult{}, fmt.Errorf("user %q: %w", user, ErrNotFound)
	}
	a := *app
	now := s.now()
	var random [20]byte
	err := s.readRand(random[:])
	s.mu.Unlock()
	if err != nil {
		return PushResult{}, err
	}
	if a.Kind != KindOfficialAccount || a.PushURL == "" {
		return PushResult{}, fmt.Errorf("app %q is not an %s with a push URL", appID, KindOfficialAccount)
	}
	msg := eventXML{ToUserName: cdata{originalID(appID)}, FromUserName: cdata{openID(appID, user)},
		CreateTime: now.Unix(), MsgType: cdata{"event"}, Event: cdata{ev.Event}}
	if ev.EventKey != "" || ev.Event == "subscribe" || ev.Event == "SCAN" {
		msg.EventKey = &cdata{ev.EventKey}
	}
	if ev.Ticket != "" {
		msg.Ticket = &cdata{ev.Ticket}
	}
	body, err := xml.Marshal(msg)
	if err != nil {
		return PushResult{}, err
	}
	timestamp := strconv.FormatInt(now.Unix(), 10)
	nonce := strconv.FormatUint(uint64(binary.BigEndian.Uint32(random[16:])), 10)
	q := url.Values{"signature": {pushSign(a.PushToken, timestamp, nonce)}, "timestamp": {timestamp},
		"nonce": {nonce}, "openid": {openID(appID, user)}}
	if a.PushAESKey != "" {
		enc, err := pushEncrypt(a.PushAESKey, appID, random[:16], body)
		if err != nil {
			return PushResult{}, err
		}
		if body, err = xml.Marshal(envelopeXML{ToUserName: cdata{originalID(appID)}, Encrypt: cdata{enc}}); err != nil {
			return PushResult{}, err
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", pushSign(a.PushToken, timestamp, nonce, enc))
	}
	target := a.PushURL
	if strings.Contains(target, "?") {
		target += "&" + q.Encode()
	} else {
		target += "?" + q.Encode()
	}
	res := s.deliver(ctx, target, body)
	res.Event = ev.Event
	s.log.InfoContext(ctx, "sandbox push", "app", a.Name, "event", ev.Event, "delivered", res.Delivered,
		"attempts", res.Attempts, "status", res.Status)
	return res, nil
}

// deliver POSTs body to target as WeChat does: an answer must come within
// the push timeout, else the connection is dropped and the same push made
// again, up to three more times. Any answer ends it.
func (s *Sandbox) deliver(ctx context.Context, target string, body []byte) PushResult {
	var res PushResult
	for range 1 + pushRetries {
		if ctx.Err() != nil {
			break
		}
		res.Attempts++
		actx, cancel := context.WithTimeout(ctx, s.pushTimeout)
		req, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			cancel()
			break
		}
		req.Header.Set("Content-Type", "text/xml")
		req.Header.Set("User-Agent", "Mozilla/4.0")
		resp, err := s.pushClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			res.Status = resp.StatusCode
			res.Delivered = resp.StatusCode == http.StatusOK
			cancel()
			return res
		}
		cancel()
	}
	return res
}

// pushSign is WeChat's push signature: sha1 of the sorted parts, joined.
func pushSign(parts ...string) string {
	parts = slices.Clone(parts)
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// pushEncrypt seals msg as safe mode does: AES-256-CBC, key from the
// EncodingAESKey, IV its first 16 bytes, plaintext = 16 random bytes, the
// message length (4 bytes, big-endian), the message, the appid, padded
// with PKCS#7 to 32-byte blocks; base64.
func pushEncrypt(aesKey, appID string, random, msg []byte) (string, error) {
	key, err := pushKey(aesKey)
	if err != nil {
		return "", err
	}
	plain := append(slices.Clone(random[:16]), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(plain[16:], uint32(len(msg)))
	plain = append(append(plain, msg...), appID...)
	pad := 32 - len(plain)%32
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(plain, plain)
	return base64.StdEncoding.EncodeToString(plain), nil
}

// scanRequest is the body of POST /sandbox/v1/officialaccount/scan.
type scanRequest struct {
	appUserRequest
	Scene string `json:"scene"`
}

// scan serves POST /sandbox/v1/officialaccount/scan {"appid", "user",
// "scene"} (docs/sandbox.md): [Sandbox.ScanQRCode], answered with the
// [PushResult]; 404 when no live QR code of the app has the scene.
func (s *Sandbox) scan(w http.ResponseWriter, r *http.Request) error {
	var req scanRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	if req.Scene == "" {
		return errors.New("scene is missing")
	}
	res, err := s.ScanQRCode(r.Context(), req.AppID, req.User, req.Scene)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// pushEventControl serves POST /sandbox/v1/officialaccount/event
// {"appid", "user", "event", "event_key"?} (docs/sandbox.md):
// [Sandbox.PushEvent], answered with the [PushResult].
func (s *Sandbox) pushEventControl(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		appUserRequest
		Event    string `json:"event"`
		EventKey string `json:"event_key"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	res, err := s.PushEvent(r.Context(), req.AppID, req.User, req.Event, req.EventKey)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// setPushControl serves POST /sandbox/v1/officialaccount/push {"appid",
// "url", "token", "aes_key"?} (docs/sandbox.md): 204, and the account's
// pushes go to url from now on ([Sandbox.SetPush]).
func (s *Sandbox) setPushControl(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		AppID  string `json:"appid"`
		URL    string `json:"url"`
		Token  string `json:"token"`
		AESKey string `json:"aes_key"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.AppID == "" {
		return errors.New("appid is missing")
	}
	if err := s.SetPush(req.AppID, req.URL, req.Token, req.AESKey); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
