package login

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/fakeclock"
	"github.com/wxauth/wxauth/internal/redirect"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/internal/signer"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
	"github.com/wxauth/wxauth/internal/token"
	"github.com/wxauth/wxauth/wechat"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// fakeWeChat answers as WeChat would for the codes the tests make up: an
// OAuth code "c-<openid>" belongs to <openid>. It counts exchanges and can
// hold them until released, to line up concurrent posts.
type fakeWeChat struct {
	exchanges atomic.Int32
	// hold, when set, blocks OAuthExchange until closed; started receives
	// once per exchange that reached it.
	hold    chan struct{}
	started chan struct{}
	// fail, when set, is OAuthExchange's answer.
	fail  error
	phone wechat.PhoneInfo
	// snapshot makes OAuthExchange answer as for a snapshot-page user
	// flagged with empty tokens (reference §5.1).
	snapshot bool
	// userInfoErr, when set, is OAuthUserInfo's answer.
	userInfoErr error
	// followers are FollowerInfo's answers by openid (else not a
	// follower); followerErr, when set, is its answer instead.
	followers     map[string]wechat.Follower
	followerErr   error
	followerCalls atomic.Int32
	wxaCodes      atomic.Int32
	// wxaHold, when set, blocks WxaCodeUnlimit until closed.
	wxaHold chan struct{}
}

func (w *fakeWeChat) Code2Session(ctx context.Context, appID, secret, code string) (wechat.Session, error) {
	return wechat.Session{OpenID: strings.TrimPrefix(code, "c-"), SessionKey: "0123456789abcdef"}, nil
}

func (w *fakeWeChat) PhoneNumber(ctx context.Context, tok, code, openID string) (wechat.PhoneInfo, error) {
	return w.phone, nil
}

func (w *fakeWeChat) AuthorizeURL(p wechat.AuthorizeParams) (string, error) {
	return "https://open.weixin.qq.com/connect/oauth2/authorize?state=" + url.QueryEscape(p.State), nil
}

func (w *fakeWeChat) OAuthExchange(ctx context.Context, appID, secret, code string) (wechat.OAuthToken, error) {
	w.exchanges.Add(1)
	if w.started != nil {
		w.started <- struct{}{}
	}
	if w.hold != nil {
		<-w.hold
	}
	if w.fail != nil {
		return wechat.OAuthToken{}, w.fail
	}
	if w.snapshot {
		return wechat.OAuthToken{OpenID: strings.TrimPrefix(code, "c-"), UnionID: "virtual-union", Snapshot: true}, nil
	}
	return wechat.OAuthToken{OpenID: strings.TrimPrefix(code, "c-"), AccessToken: "at", RefreshToken: "rt", ExpiresAt: t0.Add(2 * time.Hour)}, nil
}

func (w *fakeWeChat) OAuthRefresh(ctx context.Context, appID, rt string) (wechat.OAuthToken, error) {
	return wechat.OAuthToken{}, errors.New("not used")
}

func (w *fakeWeChat) OAuthUserInfo(ctx context.Context, at, openID string) (wechat.OAuthUser, error) {
	if w.userInfoErr != nil {
		return wechat.OAuthUser{}, w.userInfoErr
	}
	return wechat.OAuthUser{OpenID: openID, Nickname: "N-" + openID}, nil
}

func (w *fakeWeChat) FollowerInfo(ctx context.Context, tok, openID string) (wechat.Follower, error) {
	w.followerCalls.Add(1)
	if w.followerErr != nil {
		return wechat.Follower{}, w.followerErr
	}
	if f, ok := w.followers[openID]; ok {
		return f, nil
	}
	return wechat.Follower{OpenID: openID}, nil
}

type fakeAppTokens struct{}

func (fakeAppTokens) Do(ctx context.Context, appID string, call func(string) error) error {
	return call("app-token")
}

// sentCodes is an sms.Sender that remembers, or fails when fail is set.
type sentCodes struct {
	mu    sync.Mutex
	codes map[string]string
	fail  atomic.Bool
}

func (s *sentCodes) Send(ctx context.Context, phone, code, purpose string) error {
	if s.fail.Load() {
		return errors.New("provider down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = map[string]string{}
	}
	s.codes[phone] = code
	return nil
}

func (s *sentCodes) code(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[phone]
}

type fixture struct {
	svc    *Service
	store  *memstore.Store
	wc     *fakeWeChat
	sms    *sentCodes
	clock  *fakeclock.Clock
	tokens *token.Service
}

var testApps = []App{
	{Name: "mp", Kind: KindMiniProgram, AppID: "wxmp", Secret: "s-mp"},
	{Name: "oa", Kind: KindOfficialAccount, AppID: "wxoa", Secret: "s-oa"},
	{Name: "web", Kind: KindWebsite, AppID: "wxweb", Secret: "s-web"},
}

// newFixture is a Service on memstore with fake WeChat and SMS; edit
// changes the Config before New.
func newFixture(t testing.TB, edit ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{store: memstore.New(), wc: &fakeWeChat{}, sms: &sentCodes{}, clock: fakeclock.New(t0)}
	key, err := signer.Generate(nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	set, err := signer.NewSet(key)
	if err != nil {
		t.Fatal(err)
	}
	f.tokens, err = token.New(token.Config{Issuer: "https://auth.example.com", Keys: set, Sessions: f.store,
		Secret: []byte(strings.Repeat("k", 32)), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	box, err := seal.New([]byte(strings.Repeat("s", 32)), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Apps: testApps, WeChat: f.wc, AppTokens: fakeAppTokens{}, Users: f.store, Sessions: f.store,
		OneTime: f.store, Tokens: f.tokens, Seal: box, Secret: []byte("test secret"), SMS: f.sms,
		Redirects: redirect.New([]string{"https://app.example.com/"}), Now: f.clock.Now, After: f.clock.After}
	for _, e := range edit {
		e(&cfg)
	}
	f.svc, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// wechatUA is the User-Agent of WeChat's built-in browser, where an
// Official Account's page opens.
const wechatUA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50 NetType/WIFI"

// authorize starts an Official Account login bound by PKCE and returns
// the state and the verifier.
func (f *fixture) authorize(t *testing.T) (state, verifier string) {
	t.Helper()
	verifier = randomAlnum(43)
	res, err := f.svc.Authorize(t.Context(), AuthorizeRequest{App: "oa", UserAgent: wechatUA, RedirectURI: "https://app.example.com/cb",
		ReturnTo: "/next", CodeChallenge: hashString(verifier)})
	if err != nil {
		t.Fatalf("Authorize = %v", err)
	}
	u, err := url.Parse(res.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state"), verifier
}

// record reads a flow record as stored.
func (f *fixture) record(t *testing.T, state string) flow {
	t.Helper()
	fl, _, err := f.svc.loadFlow(t.Context(), flowKey(state))
	if err != nil {
		t.Fatalf("loadFlow(%s) = %v", state, err)
	}
	return fl
}

// failingOneTime is a storage.OneTime whose chosen operation fails as an
// unreachable store does.
type failingOneTime struct {
	storage.OneTime
	op string
}

var errDown = fmt.Errorf("test store down: %w", storage.ErrUnavailable)

func (s failingOneTime) Get(ctx context.Context, key string) ([]byte, error) {
	if s.op == "get" {
		return nil, errDown
	}
	return s.OneTime.Get(ctx, key)
}

func (s failingOneTime) CompareAndSwap(ctx context.Context, key string, old, next []byte, ttl time.Duration) error {
	if s.op == "swap" {
		return errDown
	}
	return s.OneTime.CompareAndSwap(ctx, key, old, next, ttl)
}

func (s failingOneTime) PutOnce(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if s.op == "put" {
		return errDown
	}
	return s.OneTime.PutOnce(ctx, key, v, ttl)
}

// WxaCodeUnlimit draws a fake picture naming the scene; wxaCodes counts
// the calls.
func (w *fakeWeChat) WxaCodeUnlimit(ctx context.Context, tok string, req wechat.WxaCodeRequest) ([]byte, error) {
	w.wxaCodes.Add(1)
	if w.wxaHold != nil {
		<-w.wxaHold
	}
	return append([]byte("\x89PNG\r\n\x1a\n"), req.Scene...), nil
}

// CreateQRCode makes a fake parametric QR code for the scene.
func (w *fakeWeChat) CreateQRCode(ctx context.Context, tok string, req wechat.QRCodeRequest) (wechat.QRCode, error) {
	return wechat.QRCode{Ticket: "t-" + req.SceneStr, ExpireSeconds: req.ExpireSeconds, URL: "http://weixin.qq.com/q/" + req.SceneStr}, nil
}

// ShowQRCode draws a fake picture naming the ticket.
func (w *fakeWeChat) ShowQRCode(ctx context.Context, ticket string) ([]byte, error) {
	return append([]byte("\x89PNG\r\n\x1a\n"), ticket...), nil
}
