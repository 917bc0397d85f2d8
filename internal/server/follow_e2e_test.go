package server_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/qrtest"
	"github.com/wxauth/wxauth/internal/servertest"
)

// Follow-to-login over HTTP, end to end: the PC browser gets a ticket for
// the Official Account, shows the parametric QR code (the sandbox draws
// what qrcode/create made), the phone scans it (the sandbox pushes the
// signed, encrypted subscribe event to /v1/wechat/push/oa), and the
// browser's poll gets a session of the follower, whose unionid links them
// to their mini program user; delivered once.
func TestFollowToLogin(t *testing.T) {
	s := servertest.New(t)
	setFollower(t, s, "alice", false)
	tk := qrCreate(t, s, "oa")
	img := s.Do(t, "GET", tk.ImageURL, nil, "")
	if img.Status != 200 || img.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("image = %d %v", img.Status, img.Header)
	}
	if got := qrtest.Read(t, img.Body); !strings.HasPrefix(got, "http://weixin.qq.com/q/") {
		t.Fatalf("the QR code carries %q, want a parametric QR code's url", got)
	}
	if _, st := qrPoll(t, s, tk, ""); st.Status != "waiting" {
		t.Fatalf("before the scan: %+v", st)
	}

	// The mini program user alice, to show the unionid link.
	mp := phone(t, s, "mp", "alice", qrCreate(t, s, "mp").Ticket)

	status, res := scan(t, s, "alice", tk.Ticket)
	if status != 200 || res.Event != "subscribe" || !res.Delivered {
		t.Fatalf("scan = %d %+v", status, res)
	}
	r, st := qrPoll(t, s, tk, "waiting")
	if r.Status != 200 || st.Status != "confirmed" || st.Login == nil || st.Login.AccessToken == "" {
		t.Fatalf("poll after the scan = %d %s", r.Status, r.Body)
	}
	var a, b api.Me
	s.Do(t, "GET", "/v1/me", nil, st.Login.AccessToken).JSON(t, &a)
	s.Do(t, "GET", "/v1/me", nil, mp).JSON(t, &b)
	if a.ID == "" || a.ID != b.ID || len(a.Identities) != 2 {
		t.Fatalf("the follower is %+v, the mini program's user %+v: want one user with both identities", a, b)
	}
	// Delivered once; a second scan (SCAN, the user follows now) finds the
	// ticket used and logs nobody in.
	if r, _ := qrPoll(t, s, tk, ""); r.Status != http.StatusBadRequest {
		t.Fatalf("second poll = %d %s", r.Status, r.Body)
	}
	if status, res := scan(t, s, "alice", tk.Ticket); status != 200 || res.Event != "SCAN" || !res.Delivered {
		t.Fatalf("second scan = %d %+v", status, res)
	}
	if n := sessionsOf(t, s, a.ID); n != 2 {
		t.Fatalf("%d sessions of the user, want 2 (mini program, browser)", n)
	}
}

// A follow-to-login ticket is completed by WeChat's push only: a session
// of the Official Account (or of any app) cannot scan or confirm it, which
// would log its own user into the browser showing the code.
func TestFollowToLoginRefusesConfirmation(t *testing.T) {
	s := servertest.New(t)
	tk := qrCreate(t, s, "oa")
	mpTicket := qrCreate(t, s, "mp")
	mp := phone(t, s, "mp", "bob", mpTicket.Ticket)
	for _, step := range []string{"scan", "confirm", "cancel"} {
		r := s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/"+step, nil, mp)
		qrWantError(t, step+" of a follow ticket", r, http.StatusBadRequest, "invalid_ticket")
	}
	if _, st := qrPoll(t, s, tk, ""); st.Status != "waiting" {
		t.Fatalf("the ticket moved: %+v", st)
	}
}

// Another QR code of the account (a poster's scene) is not a login: the
// push is answered and nothing happens; a ticket scanned by two phones
// at once logs exactly one of them in.
func TestFollowToLoginScenes(t *testing.T) {
	s := servertest.New(t)
	followQR(t, s, "poster-2026")
	if status, res := scan(t, s, "alice", "poster-2026"); status != 200 || !res.Delivered {
		t.Fatalf("poster scan = %d %+v", status, res)
	}
	tk := qrCreate(t, s, "oa")
	if img := s.Do(t, "GET", tk.ImageURL, nil, ""); img.Status != 200 {
		t.Fatalf("image = %d", img.Status)
	}
	var wg sync.WaitGroup
	for _, user := range []string{"alice", "bob", "xiaoming"} {
		wg.Go(func() {
			if status, res := scan(t, s, user, tk.Ticket); status != 200 || !res.Delivered {
				t.Errorf("%s's scan = %d %+v", user, status, res)
			}
		})
	}
	wg.Wait()
	r, st := qrPoll(t, s, tk, "waiting")
	if r.Status != 200 || st.Status != "confirmed" || st.Login == nil {
		t.Fatalf("poll = %d %s", r.Status, r.Body)
	}
	total := 0
	for _, u := range s.Sandbox.Users() {
		if id := userOf(t, s, "oa", u.Name); id != "" {
			total += sessionsOf(t, s, id)
		}
	}
	if total != 1 {
		t.Fatalf("%d sessions after three scans of one ticket, want 1", total)
	}
}

// sessionsOf counts a user's live sessions.
func sessionsOf(t *testing.T, s *servertest.Server, userID string) int {
	t.Helper()
	list, err := s.Inst.Sessions.UserSessions(t.Context(), userID, s.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// userOf is the user id of a sandbox user's identity in app, or "".
func userOf(t *testing.T, s *servertest.Server, app, user string) string {
	t.Helper()
	id, err := s.Inst.Users.Identity(t.Context(), s.AppID(t, app), openIDOf(t, s, app, user))
	if err != nil {
		return ""
	}
	return id.UserID
}
