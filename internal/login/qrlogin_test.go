package login

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/wakeup"
)

// qrFixture is a fixture whose QR waits run on its clock and wake through
// a hub on its store.
func newQRFixture(t *testing.T, edit ...func(*Config)) (*fixture, *wakeup.Hub) {
	t.Helper()
	var hub *wakeup.Hub
	f := newFixture(t, append([]func(*Config){func(c *Config) {
		hub = wakeup.New(c.OneTime.(storage.Signals), nil, nil)
		c.Wake, c.QRAfter = hub, nil
	}}, edit...)...)
	f.svc.cfg.QRAfter = f.clock.After
	go hub.Run(t.Context())
	<-hub.Ready()
	return f, hub
}

// mpUser logs a mini program user in and returns who they are to the QR
// steps.
func (f *fixture) mpUser(t *testing.T, openid string) QRUser {
	t.Helper()
	res, err := f.svc.MiniProgram(t.Context(), MiniProgramRequest{App: "mp", Code: "c-" + openid})
	if err != nil {
		t.Fatal(err)
	}
	return QRUser{UserID: res.User.ID, App: "mp"}
}

func (f *fixture) newTicket(t *testing.T) QRTicket {
	t.Helper()
	tk, err := f.svc.CreateQR(t.Context(), QRRequest{App: "mp",
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36", ClientIP: "203.0.113.7"})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestQRLogin(t *testing.T) {
	f, _ := newQRFixture(t)
	ctx := t.Context()
	tk := f.newTicket(t)
	if len(tk.Ticket) != 32 || !validTicket(tk.Ticket) || tk.PollToken == "" || tk.ExpiresIn != DefaultQRTTL {
		t.Fatalf("CreateQR = %+v", tk)
	}
	st, err := f.svc.FollowQR(ctx, tk.Ticket, tk.PollToken, "", time.Minute)
	if err != nil || st.Status != QRWaiting {
		t.Fatalf("FollowQR = %+v, %v; want waiting", st, err)
	}

	// The picture: drawn once however many ask at once.
	f.wc.wxaHold = make(chan struct{})
	var wg sync.WaitGroup
	pics := make([][]byte, 20)
	for i := range pics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pic, ct, maxAge, err := f.svc.QRImage(ctx, tk.Ticket)
			if err != nil || ct != "image/png" || maxAge <= 0 || maxAge > DefaultQRTTL {
				t.Errorf("QRImage = %q, %v, %v", ct, maxAge, err)
			}
			pics[i] = pic
		}()
	}
	waitFor(t, "the first drawing", func() bool { return f.wc.wxaCodes.Load() == 1 })
	close(f.wc.wxaHold)
	wg.Wait()
	if _, _, _, err := f.svc.QRImage(ctx, tk.Ticket); err != nil {
		t.Fatal(err)
	}
	if n := f.wc.wxaCodes.Load(); n != 1 {
		t.Errorf("WeChat drew %d codes for one ticket, want 1", n)
	}
	for _, p := range pics {
		if !bytes.HasSuffix(p, []byte(tk.Ticket)) {
			t.Fatalf("picture does not carry the ticket as scene")
		}
	}

	alice, bob := f.mpUser(t, "alice"), f.mpUser(t, "bob")
	if err := f.svc.ConfirmQR(ctx, tk.Ticket, alice); !errors.Is(err, ErrQRConflict) {
		t.Errorf("confirm before scan = %v, want ErrQRConflict", err)
	}
	scan, err := f.svc.ScanQR(ctx, tk.Ticket, alice)
	if err != nil || scan.App != "mp" || scan.Browser != "Chrome on Windows" || scan.Place != "203.0.113.*" || !scan.CreatedAt.Equal(t0) {
		t.Fatalf("ScanQR = %+v, %v", scan, err)
	}
	if _, err := f.svc.ScanQR(ctx, tk.Ticket, alice); err != nil {
		t.Errorf("the same user scanning again = %v, want nil", err)
	}
	if _, err := f.svc.ScanQR(ctx, tk.Ticket, bob); !errors.Is(err, ErrQRConflict) {
		t.Errorf("another user scanning = %v, want ErrQRConflict", err)
	}
	if err := f.svc.ConfirmQR(ctx, tk.Ticket, bob); !errors.Is(err, ErrQRConflict) {
		t.Errorf("another user confirming = %v, want ErrQRConflict", err)
	}
	if _, err := f.svc.ScanQR(ctx, tk.Ticket, QRUser{UserID: alice.UserID, App: "other"}); !errors.Is(err, ErrInvalidQRTicket) {
		t.Errorf("a session of another app scanning = %v, want ErrInvalidQRTicket", err)
	}
	if _, err := f.svc.FollowQR(ctx, tk.Ticket, "wrong", "", time.Minute); !errors.Is(err, ErrQRPollToken) {
		t.Errorf("FollowQR with a wrong poll token = %v, want ErrQRPollToken", err)
	}
	if err := f.svc.ConfirmQR(ctx, tk.Ticket, alice); err != nil {
		t.Fatalf("ConfirmQR = %v", err)
	}
	if err := f.svc.ConfirmQR(ctx, tk.Ticket, alice); !errors.Is(err, ErrQRConflict) {
		t.Errorf("confirming twice = %v, want ErrQRConflict", err)
	}
	// Sealed at rest: no token in clear in the store.
	raw, _ := f.store.Get(ctx, qrKey(tk.Ticket))
	if _, err := f.svc.FollowQR(ctx, tk.Ticket, "wrong", "", time.Minute); !errors.Is(err, ErrQRPollToken) {
		t.Errorf("FollowQR of a confirmed ticket with a wrong poll token = %v", err)
	}
	// A follower that names confirmed as its last status still gets the
	// login at once.
	st, err = f.svc.FollowQR(ctx, tk.Ticket, tk.PollToken, QRConfirmed, time.Minute)
	if err != nil || st.Status != QRConfirmed || st.Tokens == nil || st.Tokens.User.ID != alice.UserID {
		t.Fatalf("FollowQR after confirm = %+v, %v", st, err)
	}
	if bytes.Contains(raw, []byte(st.Tokens.RefreshToken)) || bytes.Contains(raw, []byte(st.Tokens.AccessToken)) {
		t.Error("the stored ticket holds the tokens in clear")
	}
	if c, err := f.tokens.Authenticate(ctx, st.Tokens.AccessToken); err != nil || c.Subject != alice.UserID || c.App != "mp" {
		t.Errorf("the browser's session: %+v, %v", c, err)
	}
	if _, err := f.svc.FollowQR(ctx, tk.Ticket, tk.PollToken, "", time.Minute); !errors.Is(err, ErrInvalidQRTicket) {
		t.Errorf("a second delivery = %v, want ErrInvalidQRTicket", err)
	}
}

func TestQRCreateRefuses(t *testing.T) {
	f, _ := newQRFixture(t)
	// "oa" has no push_token: its follow-to-login could never complete.
	for _, app := range []string{"oa", "web", "nope", ""} {
		if _, err := f.svc.CreateQR(t.Context(), QRRequest{App: app}); !errors.Is(err, ErrUnknownApp) {
			t.Errorf("CreateQR(%q) = %v, want ErrUnknownApp", app, err)
		}
	}
	for _, ticket := range []string{"", "short", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", randomAlnum(32)} {
		if _, err := f.svc.ScanQR(t.Context(), ticket, QRUser{UserID: "u", App: "mp"}); !errors.Is(err, ErrInvalidQRTicket) {
			t.Errorf("ScanQR(%q) = %v, want ErrInvalidQRTicket", ticket, err)
		}
	}
}

// Confirm racing cancel, many times over: exactly one wins each ticket,
// the others get ErrQRConflict, and a session exists only if the confirm
// won.
func TestQRConfirmRacesCancel(t *testing.T) {
	f, _ := newQRFixture(t)
	alice := f.mpUser(t, "alice")
	for range 20 {
		tk := f.newTicket(t)
		if _, err := f.svc.ScanQR(t.Context(), tk.Ticket, alice); err != nil {
			t.Fatal(err)
		}
		var confirmed, canceled, conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var err error
				if i%2 == 0 {
					if err = f.svc.ConfirmQR(t.Context(), tk.Ticket, alice); err == nil {
						confirmed.Add(1)
					}
				} else if err = f.svc.CancelQR(t.Context(), tk.Ticket, alice); err == nil {
					canceled.Add(1)
				}
				if err != nil {
					if !errors.Is(err, ErrQRConflict) {
						t.Errorf("loser's error = %v, want ErrQRConflict", err)
					}
					conflicts.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		st, err := f.svc.FollowQR(t.Context(), tk.Ticket, tk.PollToken, QRScanned, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Cancelling a cancelled ticket is fine, so cancels may all
		// succeed; a confirm wins alone.
		switch {
		case confirmed.Load() == 1 && canceled.Load() == 0:
			if st.Status != QRConfirmed || st.Tokens == nil {
				t.Fatalf("confirm won but the browser sees %+v", st)
			}
		case confirmed.Load() == 0 && canceled.Load() >= 1:
			if st.Status != QRCanceled || st.Tokens != nil {
				t.Fatalf("cancel won but the browser sees %+v", st)
			}
		default:
			t.Fatalf("%d confirms and %d cancels succeeded", confirmed.Load(), canceled.Load())
		}
	}
}

// A waiting browser is woken by the step, not by its timers.
func TestQRFollowWakes(t *testing.T) {
	f, hub := newQRFixture(t)
	tk := f.newTicket(t)
	alice := f.mpUser(t, "alice")
	got := make(chan QRState, 1)
	go func() {
		st, err := f.svc.FollowQR(t.Context(), tk.Ticket, tk.PollToken, QRWaiting, 25*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- st
	}()
	waitFor(t, "the browser to wait", func() bool { return hub.Waiting(tk.Ticket) == 1 })
	if _, err := f.svc.ScanQR(t.Context(), tk.Ticket, alice); err != nil {
		t.Fatal(err)
	}
	if st := <-got; st.Status != QRScanned {
		t.Errorf("woken with %+v, want scanned", st)
	}
}

// Past its lifetime a ticket is refused everywhere; a browser waiting on
// it is told it expired.
func TestQRExpiry(t *testing.T) {
	f, hub := newQRFixture(t, func(c *Config) { c.QRTTL = time.Minute })
	tk := f.newTicket(t)
	alice := f.mpUser(t, "alice")
	if _, err := f.svc.ScanQR(t.Context(), tk.Ticket, alice); err != nil {
		t.Fatal(err)
	}
	got := make(chan QRState, 1)
	go func() {
		st, _ := f.svc.FollowQR(t.Context(), tk.Ticket, tk.PollToken, QRScanned, 25*time.Second)
		got <- st
	}()
	waitFor(t, "the browser to wait", func() bool { return hub.Waiting(tk.Ticket) == 1 })
	f.clock.Advance(time.Minute)
	if st := <-got; st.Status != QRExpired {
		t.Errorf("waiting browser got %+v, want expired", st)
	}
	if _, err := f.svc.ScanQR(t.Context(), tk.Ticket, alice); !errors.Is(err, ErrInvalidQRTicket) {
		t.Errorf("ScanQR = %v", err)
	}
	if err := f.svc.ConfirmQR(t.Context(), tk.Ticket, alice); !errors.Is(err, ErrInvalidQRTicket) {
		t.Errorf("ConfirmQR = %v", err)
	}
	if err := f.svc.CancelQR(t.Context(), tk.Ticket, alice); !errors.Is(err, ErrInvalidQRTicket) {
		t.Errorf("CancelQR = %v", err)
	}
	if _, _, _, err := f.svc.QRImage(t.Context(), tk.Ticket); !errors.Is(err, ErrInvalidQRTicket) {
		t.Errorf("QRImage = %v", err)
	}
	if _, err := f.svc.FollowQR(t.Context(), tk.Ticket, tk.PollToken, "", time.Second); !errors.Is(err, ErrInvalidQRTicket) {
		t.Errorf("FollowQR = %v", err)
	}
}

// CompleteQR: a flow that knows who scanned (follow-to-login) signs the
// identity in and confirms in one step; under bind_phone a new person's
// ticket carries a bind ticket instead of tokens.
func TestCompleteQR(t *testing.T) {
	for _, bind := range []bool{false, true} {
		f, _ := newQRFixture(t, func(c *Config) { c.BindPhone = bind })
		app, _ := f.svc.Apps().Named("mp")
		tk := f.newTicket(t)
		if err := f.svc.CompleteQR(t.Context(), tk.Ticket, Identity{App: testApps[1], OpenID: "x"}); !errors.Is(err, ErrInvalidQRTicket) {
			t.Errorf("bind=%v: CompleteQR with another app's identity = %v", bind, err)
		}
		if err := f.svc.CompleteQR(t.Context(), tk.Ticket, Identity{App: app, OpenID: "carol"}); err != nil {
			t.Fatalf("bind=%v: CompleteQR = %v", bind, err)
		}
		if err := f.svc.CompleteQR(t.Context(), tk.Ticket, Identity{App: app, OpenID: "carol"}); !errors.Is(err, ErrQRConflict) {
			t.Errorf("bind=%v: completing twice = %v, want ErrQRConflict", bind, err)
		}
		st, err := f.svc.FollowQR(t.Context(), tk.Ticket, tk.PollToken, "", 0)
		if err != nil || st.Status != QRConfirmed {
			t.Fatalf("bind=%v: FollowQR = %+v, %v", bind, st, err)
		}
		if bind != (st.BindTicket != "") || bind == (st.Tokens != nil) {
			t.Errorf("bind=%v: delivered tokens %v, bind ticket %q", bind, st.Tokens != nil, st.BindTicket)
		}
	}
}

func TestDescribeAndMask(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15": "Safari on macOS",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0":                                             "Firefox on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0":                  "Edge on Windows",
		"curl/8.0": "A browser",
		"":         "A browser",
	} {
		if got := describeBrowser(ua); got != want {
			t.Errorf("describeBrowser(%q) = %q, want %q", ua, got, want)
		}
	}
	for ip, want := range map[string]string{"203.0.113.7": "203.0.113.*", "::ffff:198.51.100.9": "198.51.100.*",
		"2001:db8:1:2::5": "2001:db8:1::*", "": "", "nope": ""} {
		if got := maskIP(ip); got != want {
			t.Errorf("maskIP(%q) = %q, want %q", ip, got, want)
		}
	}
}

// Many readers with the poll token (tabs, retries) race for a confirmed
// ticket: exactly one receives the login; the others are told the ticket
// is used.
func TestQRDeliveredOnce(t *testing.T) {
	f, _ := newQRFixture(t)
	alice := f.mpUser(t, "alice")
	tk := f.newTicket(t)
	if _, err := f.svc.ScanQR(t.Context(), tk.Ticket, alice); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ConfirmQR(t.Context(), tk.Ticket, alice); err != nil {
		t.Fatal(err)
	}
	var got, used atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, err := f.svc.FollowQR(t.Context(), tk.Ticket, tk.PollToken, QRScanned, 0)
			switch {
			case err == nil && st.Tokens != nil:
				got.Add(1)
			case errors.Is(err, ErrInvalidQRTicket):
				used.Add(1)
			default:
				t.Errorf("FollowQR = %+v, %v", st, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if got.Load() != 1 || used.Load() != 31 {
		t.Errorf("%d readers got the login and %d were refused, want 1 and 31", got.Load(), used.Load())
	}
}

// droppingWaker loses every signal, as a broken subscription does.
type droppingWaker struct{ watching atomic.Int32 }

func (w *droppingWaker) Watch(string) (<-chan struct{}, func()) {
	w.watching.Add(1)
	return make(chan struct{}), func() {}
}
func (*droppingWaker) Signal(context.Context, string) error { return nil }

// A lost signal only delays the browser until its slow re-read.
func TestQRFollowSurvivesLostSignal(t *testing.T) {
	w := &droppingWaker{}
	f := newFixture(t, func(c *Config) { c.Wake = w })
	f.svc.cfg.QRAfter = f.clock.After
	tk := f.newTicket(t)
	alice := f.mpUser(t, "alice")
	got := make(chan QRState, 1)
	go func() {
		st, err := f.svc.FollowQR(t.Context(), tk.Ticket, tk.PollToken, QRWaiting, 25*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- st
	}()
	// Waiting: its deadline and its safety re-read are armed.
	waitFor(t, "the browser to wait", func() bool { return w.watching.Load() == 1 && f.clock.Waiters() == 2 })
	if _, err := f.svc.ScanQR(t.Context(), tk.Ticket, alice); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-got:
		t.Fatalf("woken without a signal nor a re-read: %+v", st)
	default:
	}
	f.clock.Advance(qrSafetyRead)
	if st := <-got; st.Status != QRScanned {
		t.Errorf("after the re-read: %+v, want scanned", st)
	}
}
