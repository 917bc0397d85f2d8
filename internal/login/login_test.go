package login

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/ratelimit"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
	"github.com/wxauth/wxauth/wechat"
)

func TestNewChecksConfig(t *testing.T) {
	for _, name := range []string{"WeChat", "AppTokens", "Users", "Sessions", "OneTime", "Tokens", "Seal", "Secret", "SMS"} {
		f := newFixture(t)
		cfg := f.svc.cfg
		switch name {
		case "WeChat":
			cfg.WeChat = nil
		case "AppTokens":
			cfg.AppTokens = nil
		case "Users":
			cfg.Users = nil
		case "Sessions":
			cfg.Sessions = nil
		case "OneTime":
			cfg.OneTime = nil
		case "Tokens":
			cfg.Tokens = nil
		case "Seal":
			cfg.Seal = nil
		case "Secret":
			cfg.Secret = nil
		case "SMS":
			cfg.SMS = nil
		}
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "Config."+name) {
			t.Errorf("New without %s = %v, want an error naming it", name, err)
		}
	}
	for name, apps := range map[string][]App{
		"duplicate name":  {{Name: "a", Kind: KindMiniProgram, AppID: "wx1"}, {Name: "a", Kind: KindWebsite, AppID: "wx2"}},
		"duplicate appid": {{Name: "a", Kind: KindMiniProgram, AppID: "wx1"}, {Name: "b", Kind: KindWebsite, AppID: "wx1"}},
		"unknown kind":    {{Name: "a", Kind: "app", AppID: "wx1"}},
	} {
		if _, err := NewApps(apps); err == nil {
			t.Errorf("NewApps(%s) = nil error", name)
		}
	}
}

func TestPickApp(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name  string
		kinds []Kind
		want  string
	}{
		{"", []Kind{KindMiniProgram}, "mp"},
		{"mp", []Kind{KindMiniProgram}, "mp"},
		{"oa", []Kind{KindOfficialAccount, KindWebsite}, "oa"},
		{"web", []Kind{KindOfficialAccount, KindWebsite}, "web"},
		{"oa", []Kind{KindMiniProgram}, ""},
		{"nope", []Kind{KindMiniProgram}, ""},
	} {
		got, err := f.svc.apps.pick(tc.name, tc.kinds...)
		if tc.want == "" {
			if !errors.Is(err, ErrUnknownApp) {
				t.Errorf("pick(%q, %v) = %v, %v; want ErrUnknownApp", tc.name, tc.kinds, got, err)
			}
			continue
		}
		if err != nil || got.Name != tc.want {
			t.Errorf("pick(%q, %v) = %v, %v; want %s", tc.name, tc.kinds, got, err, tc.want)
		}
	}
}

// One normalisation for every phone: what /v1/bind refuses, the mini
// program phone endpoint refuses too.
func TestE164(t *testing.T) {
	for _, tc := range []struct {
		cc, number, want string // want "" means refused
	}{
		{"", "+8613800000000", "+8613800000000"},
		{"", "+8619912345678", "+8619912345678"},
		{"", "+447700900123", "+447700900123"},
		{"", "+85291234567", "+85291234567"},
		{"", "+12345678", "+12345678"},
		{"", "+123456789012345", "+123456789012345"},
		{"86", "13800000001", "+8613800000001"},
		{"+86", "13800000001", "+8613800000001"},
		{"", "13800000001", "+8613800000001"}, // WeChat omits 86
		{"44", "7700900123", "+447700900123"},
		{"", "+1234567890123456", ""}, // 16 digits
		{"", "+1234567", ""},
		{"", "+86138000000001", ""}, // +86 and 12 digits
		{"", "+862012345678", ""},   // a mainland landline
		{"", "+8623800000001", ""},  // not a mobile number
		{"86", "23800000001", ""},
		{"", "+8603800000000", ""},
		{"", "+0123456789", ""},
		{"", "+86 13800000000", ""},
		{"", "+86138000000O0", ""},
		{"86", "+8613800000000", ""},
		{"", "", ""},
		{"", "+", ""},
	} {
		got, ok := E164(tc.cc, tc.number)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("E164(%q, %q) = %q, %v; want %q", tc.cc, tc.number, got, ok, tc.want)
		}
	}
	if ValidPhone("13800000001") {
		t.Error(`ValidPhone("13800000001") = true: a request must send E.164`)
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
	for _, info := range []wechat.PhoneInfo{
		{PurePhoneNumber: "123", CountryCode: "86"},
		{PhoneNumber: "23800000001", PurePhoneNumber: "23800000001", CountryCode: "86"},
	} {
		if got, err := phoneFromWeChat(info); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("phoneFromWeChat(%+v) = %q, %v; want ErrInvalidRequest", info, got, err)
		}
	}
}

// The inviter rule: recorded on a new user only if it names a real user.
func TestSignInInviter(t *testing.T) {
	f := newFixture(t)
	mp, _ := f.svc.apps.Named("mp")
	ctx := t.Context()
	inviter, err := f.svc.SignIn(ctx, Identity{App: mp, OpenID: "o-inviter"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ inviter, want string }{
		{inviter.User.ID, inviter.User.ID},
		{"u-nobody", ""},
		{strings.Repeat("u", maxInviterLen+1), ""},
	} {
		res, err := f.svc.SignIn(ctx, Identity{App: mp, OpenID: "o-" + randomAlnum(8)}, Options{Inviter: tc.inviter})
		if err != nil || !res.IsNew || res.User.InviterID != tc.want {
			t.Errorf("SignIn(inviter %.10q) = %+v, %v; want a new user invited by %q", tc.inviter, res.User, err, tc.want)
		}
	}
}

// failingUsers fails the chosen call as an unreachable database does.
type failingUsers struct {
	storage.Users
	op string
}

func (u failingUsers) UpdateUser(ctx context.Context, id string, fn func(*storage.User) error) (storage.User, error) {
	if u.op == "update" {
		return storage.User{}, errDown
	}
	return u.Users.UpdateUser(ctx, id, fn)
}

func (u failingUsers) User(ctx context.Context, id string) (storage.User, error) {
	if u.op == "user" {
		return storage.User{}, errDown
	}
	return u.Users.User(ctx, id)
}

// A returning user's new WeChat profile is stored; when the store fails,
// the login fails with it (it used to go unnoticed).
func TestSignInProfile(t *testing.T) {
	f := newFixture(t)
	oa, _ := f.svc.apps.Named("oa")
	ctx := t.Context()
	first, err := f.svc.SignIn(ctx, Identity{App: oa, OpenID: "o1", Nickname: "Old"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.SignIn(ctx, Identity{App: oa, OpenID: "o1", Nickname: "New", AvatarURL: "https://a/1"}, Options{})
	if err != nil || res.IsNew || res.User.ID != first.User.ID || res.User.Nickname != "New" || res.User.AvatarURL != "https://a/1" {
		t.Errorf("returning SignIn = %+v, %v; want the profile updated", res.User, err)
	}
	f.svc.cfg.Users = failingUsers{Users: f.store, op: "update"}
	if _, err := f.svc.SignIn(ctx, Identity{App: oa, OpenID: "o1", Nickname: "Newer"}, Options{}); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("SignIn with UpdateUser failing = %v, want storage.ErrUnavailable", err)
	}
	f.svc.cfg.Users = failingUsers{Users: f.store, op: "user"}
	if _, err := f.svc.SignIn(ctx, Identity{App: oa, OpenID: "o2"}, Options{Inviter: first.User.ID}); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("SignIn with the inviter look-up failing = %v, want storage.ErrUnavailable", err)
	}
}

// A proven phone goes to a returning user who has none; one that another
// user has stays theirs, and the login goes on.
func TestSignInProvenPhone(t *testing.T) {
	f := newFixture(t)
	oa, _ := f.svc.apps.Named("oa")
	mp, _ := f.svc.apps.Named("mp")
	ctx := t.Context()
	owner, err := f.svc.SignIn(ctx, Identity{App: mp, OpenID: "owner"}, Options{Phone: "+8613800000001"})
	if err != nil || owner.User.Phone != "+8613800000001" {
		t.Fatalf("SignIn(owner) = %+v, %v", owner.User, err)
	}
	// A new identity with the owner's phone joins the owner.
	joined, err := f.svc.SignIn(ctx, Identity{App: oa, OpenID: "owner-oa"}, Options{Phone: "+8613800000001"})
	if err != nil || joined.IsNew || joined.User.ID != owner.User.ID {
		t.Errorf("SignIn(new identity, owner's phone) = %+v, %v; want the owner", joined.User, err)
	}
	other, err := f.svc.SignIn(ctx, Identity{App: mp, OpenID: "other"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.SignIn(ctx, Identity{App: mp, OpenID: "other"}, Options{Phone: "+8613800000001"})
	if err != nil || res.User.ID != other.User.ID || res.User.Phone != "" {
		t.Errorf("SignIn(returning user, someone else's phone) = %+v, %v; want the user, no phone", res.User, err)
	}
	res, err = f.svc.SignIn(ctx, Identity{App: mp, OpenID: "other"}, Options{Phone: "+8613800000002"})
	if err != nil || res.User.Phone != "+8613800000002" {
		t.Errorf("SignIn(returning user, a free phone) = %+v, %v; want the phone stored", res.User, err)
	}
}

// Under bind_phone, a person seen through another app (same unionid) is
// known and logs in; a new person gets a ticket, not stored in clear.
func TestSignInBindPhone(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.BindPhone = true })
	mp, _ := f.svc.apps.Named("mp")
	oa, _ := f.svc.apps.Named("oa")
	ctx := t.Context()
	res, err := f.svc.SignIn(ctx, Identity{App: oa, OpenID: "o1", UnionID: "un1"}, Options{ReturnTo: "/r"})
	if err != nil || res.BindTicket == "" || res.ReturnTo != "/r" || res.User.ID != "" {
		t.Fatalf("SignIn(new person) = %+v, %v; want a bind ticket", res, err)
	}
	if _, err := f.store.Get(ctx, "bind:ticket:"+res.BindTicket); !errors.Is(err, storage.ErrNotFound) {
		t.Error("the ticket is stored in clear")
	}
	if _, err := f.svc.SignIn(ctx, Identity{App: mp, OpenID: "m1", UnionID: "un1"}, Options{Phone: "+8613800000009"}); err != nil {
		t.Fatal(err)
	}
	res, err = f.svc.SignIn(ctx, Identity{App: oa, OpenID: "o1", UnionID: "un1"}, Options{})
	if err != nil || res.BindTicket != "" || res.IsNew {
		t.Errorf("SignIn(person known by unionid) = %+v, %v; want a session", res, err)
	}
}

func (f *fixture) ticket(t *testing.T, app, openID string) string {
	t.Helper()
	a, _ := f.svc.apps.Named(app)
	tk, err := f.svc.IssueTicket(t.Context(), Identity{App: a, OpenID: openID}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tk
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

// send sends a bind code to phone for ticket tk and returns it.
func (f *fixture) send(t *testing.T, tk, phone string) string {
	t.Helper()
	if err := f.svc.SendCode(t.Context(), SendRequest{Ticket: tk, Phone: phone, Purpose: PurposeBind}); err != nil {
		t.Fatalf("SendCode(%s) = %v", phone, err)
	}
	return f.sms.code(phone)
}

func tkey(t *testing.T, tk string) string {
	t.Helper()
	k, ok := ticketKey(tk)
	if !ok {
		t.Fatalf("ticketKey(%q) not ok", tk)
	}
	return k
}

func otherCode(t *testing.T, code string, plus int) string {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(code, &n); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%06d", (n+plus)%1_000_000)
}

// However many tries of one ticket's codes arrive at once, at most
// MaxTries are compared; the others spend the ticket, and the right code
// after them is refused with it.
func TestTriesRace(t *testing.T) {
	f := newFixture(t)
	const phone = "+8613800000000"
	ctx := t.Context()
	tk := f.ticket(t, "oa", "o1")
	right := f.send(t, tk, phone)
	wrong := otherCode(t, right, 1)
	var wg sync.WaitGroup
	var compared, spent atomic.Int32
	for range 50 {
		wg.Go(func() {
			switch err := f.svc.useCode(ctx, tkey(t, tk), phone, PurposeBind, wrong); {
			case errors.Is(err, ErrInvalidSMSCode):
				compared.Add(1)
			case errors.Is(err, ErrInvalidTicket):
				spent.Add(1)
			default:
				t.Errorf("useCode(wrong) = %v", err)
			}
		})
	}
	wg.Wait()
	if got := compared.Load(); got != MaxTries {
		t.Errorf("%d of 50 concurrent wrong tries were compared, want %d", got, MaxTries)
	}
	if err := f.svc.useCode(ctx, tkey(t, tk), phone, PurposeBind, right); !errors.Is(err, ErrInvalidTicket) {
		t.Errorf("useCode(right, after %d wrong) = %v, want ErrInvalidTicket", MaxTries, err)
	}
	if _, err := f.svc.Bind(ctx, BindRequest{Ticket: tk, Phone: phone, SMSCode: right}); !errors.Is(err, ErrInvalidTicket) {
		t.Errorf("Bind(right code, spent ticket) = %v, want ErrInvalidTicket", err)
	}
}

// The sixth guess spends the ticket, however the five wrong ones were
// spread over phones and fresh codes.
func TestSixthGuessSpendsTicket(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tk := f.ticket(t, "oa", "o1")
	// Five wrong codes over two phones and three sends.
	var code string
	for i, phone := range []string{"+8613800000000", "+8613800000000", "+8613800000004", "+8613800000000", "+8613800000004"} {
		if i != 1 && i != 4 {
			code = f.send(t, tk, phone)
		}
		_, err := f.svc.Bind(ctx, BindRequest{Ticket: tk, Phone: phone, SMSCode: otherCode(t, code, 1)})
		if !errors.Is(err, ErrInvalidSMSCode) {
			t.Fatalf("wrong guess %d: Bind = %v, want ErrInvalidSMSCode", i+1, err)
		}
	}
	// The sixth guess, even the right code of the last phone, finds the
	// ticket spent; so does a new send.
	const last = "+8613800000000"
	if _, err := f.svc.Bind(ctx, BindRequest{Ticket: tk, Phone: last, SMSCode: code}); !errors.Is(err, ErrInvalidTicket) {
		t.Fatalf("sixth guess (the right code) = %v, want ErrInvalidTicket", err)
	}
	if err := f.svc.SendCode(ctx, SendRequest{Ticket: tk, Phone: "+8613800000009", Purpose: PurposeBind}); !errors.Is(err, ErrInvalidTicket) {
		t.Errorf("SendCode(spent ticket) = %v, want ErrInvalidTicket", err)
	}
}

// A code belongs to its ticket: another ticket — an attacker's, for the
// same phone — can neither use it, nor replace it, nor burn it.
func TestCodeBelongsToTicket(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	const phone = "+8613800000000"
	victim := f.ticket(t, "oa", "victim")
	attacker := f.ticket(t, "oa", "attacker")
	code := f.send(t, victim, phone)

	// Use: the victim's code (read from a log, say) through the attacker's ticket.
	if _, err := f.svc.Bind(ctx, BindRequest{Ticket: attacker, Phone: phone, SMSCode: code}); !errors.Is(err, ErrInvalidSMSCode) {
		t.Fatalf("Bind(attacker's ticket, victim's code) = %v, want ErrInvalidSMSCode", err)
	}
	// Nor does the MAC let a record moved under another ticket's key pass.
	b, err := f.store.Get(ctx, f.svc.codeKey(tkey(t, victim), PurposeBind, phone))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutOnce(ctx, f.svc.codeKey(tkey(t, attacker), PurposeBind, phone), b, CodeTTL); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.useCode(ctx, tkey(t, attacker), phone, PurposeBind, code); !errors.Is(err, ErrInvalidSMSCode) {
		t.Fatalf("useCode(victim's record under the attacker's ticket) = %v, want ErrInvalidSMSCode", err)
	}

	// Burn: the attacker's wrong guesses spend the attacker's ticket only.
	for range MaxTries + 1 {
		_, _ = f.svc.Bind(ctx, BindRequest{Ticket: attacker, Phone: phone, SMSCode: otherCode(t, code, 7)})
	}
	// Replace: the attacker's own send for the phone leaves the victim's code.
	f.clock.Advance(CodeTTL / 2)
	attacker2 := f.ticket(t, "oa", "attacker")
	if f.send(t, attacker2, phone) == code {
		t.Skip("the attacker's code happens to equal the victim's")
	}
	res, err := f.svc.Bind(ctx, BindRequest{Ticket: victim, Phone: phone, SMSCode: code})
	if err != nil || res.User.Phone != phone {
		t.Fatalf("Bind(victim's ticket, victim's code) = %+v, %v; want the victim bound", res, err)
	}
}

// A right code is consumed once; a code sent after it replaces it.
func TestCodeUsedOnce(t *testing.T) {
	f := newFixture(t)
	const phone = "+8613800000000"
	ctx := t.Context()
	tk := f.ticket(t, "oa", "o1")
	first := f.send(t, tk, phone)
	f.clock.Advance(CodeTTL / 2)
	second := f.send(t, tk, phone)
	if first != second {
		if err := f.svc.useCode(ctx, tkey(t, tk), phone, PurposeBind, first); !errors.Is(err, ErrInvalidSMSCode) {
			t.Errorf("the replaced code = %v, want ErrInvalidSMSCode", err)
		}
	}
	if err := f.svc.useCode(ctx, tkey(t, tk), phone, PurposeBind, second); err != nil {
		t.Fatalf("the last code = %v", err)
	}
	if err := f.svc.useCode(ctx, tkey(t, tk), phone, PurposeBind, second); !errors.Is(err, ErrInvalidSMSCode) {
		t.Errorf("the last code again = %v, want ErrInvalidSMSCode", err)
	}
}

// A code the provider did not take is forgotten, and the failure is
// ErrSMSUnavailable (503).
func TestSendFailure(t *testing.T) {
	f := newFixture(t)
	const phone = "+8613800000000"
	tk := f.ticket(t, "oa", "o1")
	f.sms.fail.Store(true)
	err := f.svc.SendCode(t.Context(), SendRequest{Ticket: tk, Phone: phone, Purpose: PurposeBind})
	if !errors.Is(err, ErrSMSUnavailable) {
		t.Fatalf("SendCode with the provider down = %v, want ErrSMSUnavailable", err)
	}
	if strings.Contains(ErrSMSUnavailable.Message, "provider down") {
		t.Error("the provider's error reached the client's sentence")
	}
	if err := f.svc.useCode(t.Context(), tkey(t, tk), phone, PurposeBind, "123456"); !errors.Is(err, ErrInvalidSMSCode) || !strings.Contains(err.Error(), "no SMS code is pending") {
		t.Errorf("the unsent code: useCode = %v, want no code pending", err)
	}
}

// A ticket has MaxSends codes; the fourth send is a limit until the
// ticket expires, and sends nothing.
func TestSendsPerTicket(t *testing.T) {
	f := newFixture(t)
	tk := f.ticket(t, "oa", "o1")
	for i := range MaxSends {
		f.send(t, tk, fmt.Sprintf("+861380000000%d", i))
	}
	var limited *storage.LimitError
	err := f.svc.SendCode(t.Context(), SendRequest{Ticket: tk, Phone: "+8613800000009", Purpose: PurposeBind})
	if !errors.Is(err, ErrTicketSendsSpent) || !errors.As(err, &limited) || limited.RetryAfter != TicketTTL {
		t.Fatalf("SendCode(send %d) = %v, want a LimitError until the ticket expires", MaxSends+1, err)
	}
	if f.sms.code("+8613800000009") != "" {
		t.Error("the refused send sent a code")
	}
	// Another ticket sends.
	f.send(t, f.ticket(t, "oa", "o2"), "+8613800000009")
}

// Codes go only to the configured countries: mainland China by default.
func TestSendCountries(t *testing.T) {
	for _, tc := range []struct {
		countries []string
		phone     string
		ok        bool
	}{
		{nil, "+8613800000000", true},
		{nil, "+85291234567", false},
		{nil, "+447700900123", false},
		{[]string{"86", "852"}, "+85291234567", true},
		{[]string{"86", "852"}, "+447700900123", false},
		{[]string{"1"}, "+12025550123", true},
		{[]string{"1"}, "+8613800000000", false},
	} {
		f := newFixture(t, func(c *Config) { c.SMSCountries = tc.countries })
		err := f.svc.SendCode(t.Context(), SendRequest{Ticket: f.ticket(t, "oa", "o1"), Phone: tc.phone, Purpose: PurposeBind})
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrPhoneNotAllowed) {
			t.Errorf("countries %v: SendCode(%s) = %v, want allowed %v", tc.countries, tc.phone, err, tc.ok)
		}
		if !tc.ok && f.sms.code(tc.phone) != "" {
			t.Errorf("countries %v: a code went to %s", tc.countries, tc.phone)
		}
	}
}

// The daily budget counts every send of the service; once spent, sends
// answer ErrSMSBudgetSpent (503), call the alert, and send nothing until
// the UTC day turns.
func TestSMSDailyBudget(t *testing.T) {
	var alerts atomic.Int32
	f := newFixture(t, func(c *Config) { c.OnSMSBudgetSpent = func() { alerts.Add(1) } })
	f.svc.cfg.Limits = ratelimit.NewPolicy(ratelimit.Rules{SMSDailyBudget: ratelimit.Rule{Name: "sms_budget", Limit: 2, Window: 24 * time.Hour}},
		f.store, f.store, f.clock.Now)
	f.send(t, f.ticket(t, "oa", "o1"), "+8613800000001")
	f.send(t, f.ticket(t, "oa", "o2"), "+8613800000002")
	err := f.svc.SendCode(t.Context(), SendRequest{Ticket: f.ticket(t, "oa", "o3"), Phone: "+8613800000003", Purpose: PurposeBind})
	if !errors.Is(err, ErrSMSBudgetSpent) || alerts.Load() != 1 {
		t.Fatalf("SendCode(over budget) = %v, alerts %d; want ErrSMSBudgetSpent and 1", err, alerts.Load())
	}
	if f.sms.code("+8613800000003") != "" {
		t.Error("a code was sent over budget")
	}
	f.clock.Advance(16*time.Hour + time.Second) // t0 is 08:00 UTC: past midnight
	f.send(t, f.ticket(t, "oa", "o4"), "+8613800000003")
}

// A code is sent only for a live bind ticket.
func TestSendNeedsTicket(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	for name, tc := range map[string]struct {
		ticket string
		want   error
	}{
		"none":    {"", ErrInvalidRequest},
		"garbage": {"nope", ErrInvalidTicket},
		"unknown": {strings.Repeat("A", 43), ErrInvalidTicket},
	} {
		if err := f.svc.SendCode(ctx, SendRequest{Ticket: tc.ticket, Phone: "+8613800000000", Purpose: PurposeBind}); !errors.Is(err, tc.want) {
			t.Errorf("SendCode(%s ticket) = %v, want %v", name, err, tc.want)
		}
	}
	if got := f.sms.code("+8613800000000"); got != "" {
		t.Errorf("a code was sent without a live ticket")
	}
}

func TestPhoneCodeNeedsOneMiniProgram(t *testing.T) {
	only := func(apps ...App) func(*Config) { return func(c *Config) { c.Apps = apps } }
	oa := App{Name: "oa", Kind: KindOfficialAccount, AppID: "wxoa"}
	for name, edit := range map[string]func(*Config){
		"none": only(oa),
		"two":  only(oa, App{Name: "mp1", Kind: KindMiniProgram, AppID: "wxmp1"}, App{Name: "mp2", Kind: KindMiniProgram, AppID: "wxmp2"}),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, edit)
			_, err := f.svc.Bind(t.Context(), BindRequest{Ticket: f.ticket(t, "oa", "o1"), PhoneCode: "pc"})
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("Bind(phone_code) with %s mini programs = %v, want ErrInvalidRequest", name, err)
			}
		})
	}
	t.Run("watermark of another app", func(t *testing.T) {
		f := newFixture(t)
		f.wc.phone = wechat.PhoneInfo{PhoneNumber: "13800000001", PurePhoneNumber: "13800000001", CountryCode: "86",
			Watermark: wechat.Watermark{AppID: "wxother"}}
		tk := f.ticket(t, "oa", "o1")
		if _, err := f.svc.Bind(t.Context(), BindRequest{Ticket: tk, PhoneCode: "pc"}); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("Bind(phone_code granted to another app) = %v, want ErrInvalidSignature", err)
		}
		// The ticket was not spent.
		f.wc.phone.Watermark.AppID = "wxmp"
		res, err := f.svc.Bind(t.Context(), BindRequest{Ticket: tk, PhoneCode: "pc"})
		if err != nil || res.User.Phone != "+8613800000001" || !res.IsNew || res.App != "oa" {
			t.Errorf("Bind(phone_code) = %+v, %v", res, err)
		}
	})
	t.Run("a number WeChat should not give", func(t *testing.T) {
		f := newFixture(t)
		f.wc.phone = wechat.PhoneInfo{PhoneNumber: "23800000001", PurePhoneNumber: "23800000001", CountryCode: "86",
			Watermark: wechat.Watermark{AppID: "wxmp"}}
		if _, err := f.svc.Bind(t.Context(), BindRequest{Ticket: f.ticket(t, "oa", "o1"), PhoneCode: "pc"}); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Bind(+8623800000001) = %v, want ErrInvalidRequest, as /v1/miniprogram/phone answers", err)
		}
	})
}

// racingUsers disables or deletes the user right after LinkIdentity found
// it, as an admin acting in the middle of a login would.
type racingUsers struct {
	*memstore.Store
	act  string // "disable" or "delete"
	once sync.Once
}

func (u *racingUsers) LinkIdentity(ctx context.Context, req storage.LinkRequest) (storage.LinkResult, error) {
	res, err := u.Store.LinkIdentity(ctx, req)
	if err != nil || res.Created {
		return res, err
	}
	u.once.Do(func() {
		switch u.act {
		case "disable":
			_, err = u.Store.UpdateUser(ctx, res.User.ID, func(v *storage.User) error { v.Disabled = true; return nil })
		case "delete":
			_, _, err = u.Store.DeleteUser(ctx, res.User.ID)
		}
	})
	return res, err
}

// A disable or delete that lands between a login's LinkIdentity and its
// session leaves no live session of that user: the login looks at the user
// again after opening (refreshes never read the user).
func TestSignInRacingDisableAndDelete(t *testing.T) {
	for _, act := range []string{"disable", "delete"} {
		t.Run(act, func(t *testing.T) {
			f := newFixture(t)
			mp, _ := f.svc.apps.Named("mp")
			ctx := t.Context()
			first, err := f.svc.SignIn(ctx, Identity{App: mp, OpenID: "o-race"}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			f.svc.cfg.Users = &racingUsers{Store: f.store, act: act}
			res, err := f.svc.SignIn(ctx, Identity{App: mp, OpenID: "o-race"}, Options{})
			switch act {
			case "disable":
				if !errors.Is(err, ErrUserDisabled) {
					t.Fatalf("SignIn = %+v, %v; want ErrUserDisabled", res.User, err)
				}
				// The disable itself revokes the sessions opened before it
				// (account.Disable); the one this login opened is ended here.
				live, err := f.store.UserSessions(ctx, first.User.ID, f.clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range live {
					if s.ID != first.Tokens.Session.ID {
						t.Errorf("session %s opened by the racing login is live", s.ID)
					}
				}
			case "delete":
				if err != nil || !res.IsNew || res.User.ID == first.User.ID {
					t.Fatalf("SignIn = %+v, %v; want a new user", res.User, err)
				}
				live, err := f.store.UserSessions(ctx, first.User.ID, f.clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range live {
					if s.ID != first.Tokens.Session.ID {
						t.Errorf("session %s of the deleted user opened by the racing login is live", s.ID)
					}
				}
			}
		})
	}
}
