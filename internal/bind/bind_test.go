package bind

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/fakeclock"
	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/signer"
	"github.com/wxauth/wxauth/storage"
	"github.com/wxauth/wxauth/storage/memstore"
	"github.com/wxauth/wxauth/token"
	"github.com/wxauth/wxauth/wechat"
)

func TestValidPhone(t *testing.T) {
	for _, tc := range []struct {
		phone string
		want  bool
	}{
		{"+8613800000000", true},
		{"+8619912345678", true},
		{"+447700900123", true},
		{"+12025550123", true},
		{"+85291234567", true}, // Hong Kong: 8 digits after 852
		{"+12345678", true},    // 8 digits, the least
		{"+123456789012345", true},
		{"+1234567890123456", false}, // 16 digits
		{"+1234567", false},
		{"+86138000000001", false}, // +86 and 12 digits
		{"+862012345678", false},   // a mainland landline
		{"+8603800000000", false},
		{"13800000000", false},
		{"+0123456789", false},
		{"+86 13800000000", false},
		{"+86138000000O0", false},
		{"", false},
		{"+", false},
	} {
		if got := ValidPhone(tc.phone); got != tc.want {
			t.Errorf("ValidPhone(%q) = %v, want %v", tc.phone, got, tc.want)
		}
	}
}

func TestPhoneFromWeChat(t *testing.T) {
	for _, tc := range []struct {
		info wechat.PhoneInfo
		want string
	}{
		{wechat.PhoneInfo{PhoneNumber: "13800000001", PurePhoneNumber: "13800000001", CountryCode: "86"}, "+8613800000001"},
		{wechat.PhoneInfo{PhoneNumber: "+447700900123", PurePhoneNumber: "7700900123", CountryCode: "44"}, "+447700900123"},
		{wechat.PhoneInfo{PhoneNumber: "+447700900123", CountryCode: "44"}, "+447700900123"},
		{wechat.PhoneInfo{PhoneNumber: "13800000001"}, "+8613800000001"},
	} {
		got, err := phoneFromWeChat(tc.info)
		if err != nil || got != tc.want {
			t.Errorf("phoneFromWeChat(%+v) = %q, %v; want %q", tc.info, got, err, tc.want)
		}
	}
	if got, err := phoneFromWeChat(wechat.PhoneInfo{PurePhoneNumber: "123", CountryCode: "86"}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("phoneFromWeChat(short) = %q, %v; want ErrInvalidRequest", got, err)
	}
}

func TestMaskPhone(t *testing.T) {
	if got := maskPhone("+8613800000001"); got != "**********0001" {
		t.Errorf("maskPhone = %q", got)
	}
	if got := maskPhone("+86"); got != "***" {
		t.Errorf("maskPhone(short) = %q", got)
	}
}

// sent is a Sender that remembers, or fails when fail is set.
type sent struct {
	mu    sync.Mutex
	codes map[string]string
	fail  atomic.Bool
}

func (s *sent) Send(ctx context.Context, phone, code, purpose string) error {
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

func (s *sent) code(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[phone]
}

type fixture struct {
	svc    *Service
	store  *memstore.Store
	sender *sent
	clock  *fakeclock.Clock
}

func newFixture(t *testing.T, apps ...App) *fixture {
	t.Helper()
	f := &fixture{store: memstore.New(), sender: &sent{}, clock: fakeclock.New(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))}
	key, err := signer.Generate(nil, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	set, err := signer.NewSet(key)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.New(token.Config{Issuer: "https://auth.example.com", Keys: set, Sessions: f.store,
		Secret: []byte(strings.Repeat("k", 32)), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) == 0 {
		apps = []App{{Name: "oa", Kind: "official_account", AppID: "wxoa"}}
	}
	f.svc, err = New(Config{Apps: apps, Users: f.store, OneTime: f.store, Tokens: tokens, Sender: f.sender,
		Secret: []byte("test secret"), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) ticket(t *testing.T, openID string) string {
	t.Helper()
	tk, err := f.svc.IssueTicket(t.Context(), Pending{App: "oa", Identity: storage.Identity{AppID: "wxoa", OpenID: openID}})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestNewChecksConfig(t *testing.T) {
	f := newFixture(t)
	good := f.svc.cfg
	for name, edit := range map[string]func(*Config){
		"Users":   func(c *Config) { c.Users = nil },
		"OneTime": func(c *Config) { c.OneTime = nil },
		"Tokens":  func(c *Config) { c.Tokens = nil },
		"Sender":  func(c *Config) { c.Sender = nil },
		"Secret":  func(c *Config) { c.Secret = nil },
		"WeChat":  func(c *Config) { c.AppTokens = fakeTokens{} },
	} {
		c := good
		edit(&c)
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("New without %s = %v, want an error naming it", name, err)
		}
	}
}

func TestIssueTicket(t *testing.T) {
	f := newFixture(t)
	a, b := f.ticket(t, "o1"), f.ticket(t, "o1")
	if a == b || len(a) != 43 {
		t.Errorf("tickets %q, %q: want two distinct 43-character tickets", a, b)
	}
	if _, err := f.store.Get(t.Context(), "bind:ticket:"+a); !errors.Is(err, storage.ErrNotFound) {
		t.Error("the ticket is stored in clear")
	}
	for name, p := range map[string]Pending{
		"unknown app": {App: "web", Identity: storage.Identity{AppID: "wxoa", OpenID: "o1"}},
		"no openid":   {App: "oa", Identity: storage.Identity{AppID: "wxoa"}},
	} {
		if _, err := f.svc.IssueTicket(t.Context(), p); err == nil {
			t.Errorf("IssueTicket(%s) = nil error", name)
		}
	}
}

func TestNewCode(t *testing.T) {
	f := newFixture(t)
	seen := map[string]bool{}
	for range 200 {
		c, err := f.svc.newCode()
		if err != nil || !sixDigits(c) {
			t.Fatalf("newCode() = %q, %v", c, err)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Errorf("200 codes, only %d distinct", len(seen))
	}
}

// However many tries of one code arrive at once, at most MaxTries are
// compared: here the right one comes after them and is refused.
func TestTriesRace(t *testing.T) {
	f := newFixture(t)
	const phone = "+8613800000000"
	ctx := t.Context()
	if err := f.svc.SendCode(ctx, SendRequest{Phone: phone, Purpose: PurposeBind}); err != nil {
		t.Fatal(err)
	}
	right := f.sender.code(phone)
	wrong := fmt.Sprintf("%06d", (mustInt(t, right)+1)%1_000_000)
	var wg sync.WaitGroup
	var burnt atomic.Int32
	for range 50 {
		wg.Go(func() {
			err := f.svc.useCode(ctx, phone, PurposeBind, wrong)
			if !errors.Is(err, ErrInvalidSMSCode) {
				t.Errorf("useCode(wrong) = %v", err)
			}
			if err != nil && strings.Contains(err.Error(), "too many") {
				burnt.Add(1)
			}
		})
	}
	wg.Wait()
	if got := burnt.Load(); got != 50-MaxTries {
		t.Errorf("%d of 50 concurrent wrong tries found the code burnt, want %d", got, 50-MaxTries)
	}
	if err := f.svc.useCode(ctx, phone, PurposeBind, right); !errors.Is(err, ErrInvalidSMSCode) {
		t.Errorf("useCode(right, after %d wrong) = %v, want ErrInvalidSMSCode", MaxTries, err)
	}
}

func mustInt(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A code the provider did not take is forgotten, and the failure is
// ErrSMSUnavailable.
func TestSendFailure(t *testing.T) {
	f := newFixture(t)
	const phone = "+8613800000000"
	f.sender.fail.Store(true)
	if err := f.svc.SendCode(t.Context(), SendRequest{Phone: phone, Purpose: PurposeBind}); !errors.Is(err, ErrSMSUnavailable) {
		t.Fatalf("SendCode with the provider down = %v, want ErrSMSUnavailable", err)
	}
	if _, err := f.store.Get(t.Context(), f.svc.codeKey(PurposeBind, phone)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the unsent code is still stored: %v", err)
	}
}

type fakeTokens struct{}

func (fakeTokens) Do(ctx context.Context, appID string, call func(string) error) error {
	return call("app-token")
}

type fakePhones struct{ info wechat.PhoneInfo }

func (p fakePhones) PhoneNumber(ctx context.Context, tok, code, openID string) (wechat.PhoneInfo, error) {
	return p.info, nil
}

func TestPhoneCodeNeedsOneMiniProgram(t *testing.T) {
	for name, apps := range map[string][]App{
		"none": {{Name: "oa", Kind: "official_account", AppID: "wxoa"}},
		"two": {{Name: "oa", Kind: "official_account", AppID: "wxoa"},
			{Name: "mp1", Kind: KindMiniProgram, AppID: "wxmp1"}, {Name: "mp2", Kind: KindMiniProgram, AppID: "wxmp2"}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, apps...)
			f.svc.cfg.WeChat, f.svc.cfg.AppTokens = fakePhones{}, fakeTokens{}
			_, err := f.svc.Bind(t.Context(), Request{Ticket: f.ticket(t, "o1"), PhoneCode: "pc"})
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("Bind(phone_code) with %s mini programs = %v, want ErrInvalidRequest", name, err)
			}
		})
	}
	t.Run("watermark of another app", func(t *testing.T) {
		f := newFixture(t, App{Name: "oa", Kind: "official_account", AppID: "wxoa"}, App{Name: "mp", Kind: KindMiniProgram, AppID: "wxmp"})
		f.svc.cfg.WeChat = fakePhones{wechat.PhoneInfo{PhoneNumber: "13800000001", PurePhoneNumber: "13800000001", CountryCode: "86",
			Watermark: wechat.Watermark{AppID: "wxother"}}}
		f.svc.cfg.AppTokens = fakeTokens{}
		tk := f.ticket(t, "o1")
		if _, err := f.svc.Bind(t.Context(), Request{Ticket: tk, PhoneCode: "pc"}); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Bind(phone_code granted to another app) = %v, want ErrInvalidRequest", err)
		}
		// The ticket was not spent.
		f.svc.cfg.WeChat = fakePhones{wechat.PhoneInfo{PhoneNumber: "13800000001", PurePhoneNumber: "13800000001", CountryCode: "86",
			Watermark: wechat.Watermark{AppID: "wxmp"}}}
		res, err := f.svc.Bind(t.Context(), Request{Ticket: tk, PhoneCode: "pc"})
		if err != nil || res.User.Phone != "+8613800000001" || !res.IsNew {
			t.Errorf("Bind(phone_code) = %+v, %v", res.User, err)
		}
	})
}

// The development sender logs the code with the phone masked and hands it
// to the sandbox's inbox.
func TestDevSender(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	d := DevSender{Logger: slogTo(&logs), Deliver: sb.DeliverSMS}
	if err := d.Send(t.Context(), "+8613800000001", "123456", PurposeBind); err != nil {
		t.Fatal(err)
	}
	msgs := sb.SMS("+8613800000001")
	if len(msgs) != 1 || msgs[0].Code != "123456" || msgs[0].Purpose != PurposeBind {
		t.Errorf("sandbox inbox = %+v", msgs)
	}
	if l := logs.String(); !strings.Contains(l, "123456") || !strings.Contains(l, "**********0001") || strings.Contains(l, "13800000001") {
		t.Errorf("dev log = %s, want the code and the masked phone", l)
	}
	if err := (DevSender{}).Send(t.Context(), "+8613800000001", "123456", PurposeBind); err != nil {
		t.Errorf("zero DevSender.Send = %v", err)
	}
}

func slogTo(w *strings.Builder) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
