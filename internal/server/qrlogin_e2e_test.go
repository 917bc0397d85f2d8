package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/qrtest"
	"github.com/wxauth/wxauth/internal/servertest"
)

const pcUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

type qrTicket struct {
	Ticket    string `json:"ticket"`
	PollToken string `json:"poll_token"`
	ImageURL  string `json:"image_url"`
	ExpiresIn int    `json:"expires_in"`
}

type qrStatus struct {
	Status    string             `json:"status"`
	ExpiresIn int                `json:"expires_in"`
	Login     *api.TokenResponse `json:"login"`
}

// qrCreate is the PC browser asking for a ticket.
func qrCreate(t *testing.T, s *servertest.Server, app string) qrTicket {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/v1/qrlogin", strings.NewReader(`{"app":"`+app+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", pcUA)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tk qrTicket
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&tk) != nil {
		t.Fatalf("POST /v1/qrlogin = %d", resp.StatusCode)
	}
	return tk
}

// qrPoll is the browser's long poll.
func qrPoll(t *testing.T, s *servertest.Server, tk qrTicket, after string) (servertest.Response, qrStatus) {
	t.Helper()
	path := "/v1/qrlogin/" + tk.Ticket
	if after != "" {
		path += "?after=" + after
	}
	r := s.Do(t, "GET", path, nil, tk.PollToken)
	var st qrStatus
	if r.Status == 200 {
		r.JSON(t, &st)
	}
	return r, st
}

// phone is the mini program: opened by the code (the sandbox's scan
// control), it logs in with its wx.login code; it returns the session's
// access token.
func phone(t *testing.T, s *servertest.Server, app, user, ticket string) string {
	t.Helper()
	// The browser shows the code: the sandbox draws it, and only a drawn
	// code can be scanned.
	if img := s.Do(t, "GET", "/v1/qrlogin/"+ticket+"/image", nil, ""); img.Status != 200 {
		t.Fatalf("image = %d %s", img.Status, img.Body)
	}
	var scan struct{ Scene, Page, Code string }
	r := s.Do(t, "POST", "/sandbox/v1/miniprogram/scan", map[string]string{"appid": s.AppID(t, app), "user": user, "scene": ticket}, "")
	if r.Status != 200 {
		t.Fatalf("sandbox scan = %d %s", r.Status, r.Body)
	}
	r.JSON(t, &scan)
	if scan.Scene != ticket {
		t.Fatalf("the mini program opened with scene %q, want the ticket", scan.Scene)
	}
	r = s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: app, Code: scan.Code}, "")
	var tr api.TokenResponse
	if r.Status != 200 {
		t.Fatalf("mini program login = %d %s", r.Status, r.Body)
	}
	r.JSON(t, &tr)
	return tr.AccessToken
}

func qrWantError(t *testing.T, what string, r servertest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.Error(t).Code != code {
		t.Errorf("%s = %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
}

// The whole flow over HTTP, long poll: the code carries the ticket, the
// mini program scans and confirms, the browser gets a session once.
func TestQRLoginLongPoll(t *testing.T) {
	s := servertest.New(t)
	tk := qrCreate(t, s, "mp")
	if len(tk.Ticket) != 32 || tk.ImageURL != "/v1/qrlogin/"+tk.Ticket+"/image" || tk.ExpiresIn != 300 {
		t.Fatalf("ticket = %+v", tk)
	}
	img := s.Do(t, "GET", tk.ImageURL, nil, "")
	if img.Status != 200 || img.Header.Get("Content-Type") != "image/png" || img.Header.Get("Cache-Control") != "private, max-age=300" {
		t.Fatalf("image = %d %v", img.Status, img.Header)
	}
	u, err := url.Parse(qrtest.Read(t, img.Body))
	if err != nil || u.Query().Get("scene") != tk.Ticket {
		t.Fatalf("the code carries %v, want scene=%s", u, tk.Ticket)
	}
	if again := s.Do(t, "GET", tk.ImageURL, nil, ""); !bytes.Equal(again.Body, img.Body) {
		t.Error("the picture changed between two requests")
	}
	if n := s.Sandbox.Stats()["/wxa/getwxacodeunlimit"]; n != 1 {
		t.Errorf("WeChat drew %d codes for one ticket, want 1", n)
	}
	if _, st := qrPoll(t, s, tk, ""); st.Status != "waiting" || st.Login != nil {
		t.Fatalf("first poll = %+v", st)
	}
	mp := phone(t, s, "mp", "alice", tk.Ticket)
	qrWantError(t, "confirm before scan", s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/confirm", nil, mp), 409, "ticket_conflict")
	r := s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, mp)
	var who struct {
		App, Browser, Place string
		ExpiresIn           int `json:"expires_in"`
	}
	r.JSON(t, &who)
	if r.Status != 200 || who.App != "mp" || who.Browser != "Chrome on Windows" || who.Place != "127.0.0.*" {
		t.Fatalf("scan = %d %s", r.Status, r.Body)
	}
	if _, st := qrPoll(t, s, tk, "waiting"); st.Status != "scanned" {
		t.Fatalf("poll after waiting = %+v, want scanned", st)
	}
	bob := phone(t, s, "mp", "bob", tk.Ticket)
	qrWantError(t, "scan by another user", s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, bob), 409, "ticket_conflict")
	qrWantError(t, "confirm by another user", s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/confirm", nil, bob), 409, "ticket_conflict")
	if r := s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/confirm", nil, mp); r.Status != 200 {
		t.Fatalf("confirm = %d %s", r.Status, r.Body)
	}
	// Only the poll token's holder gets the tokens.
	other := tk
	other.PollToken = qrCreate(t, s, "mp").PollToken
	r, _ = qrPoll(t, s, other, "scanned")
	qrWantError(t, "poll with another ticket's poll token", r, 401, "invalid_token")
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`) {
		t.Errorf("401 without WWW-Authenticate: %v", r.Header)
	}
	qrWantError(t, "poll without a poll token", s.Do(t, "GET", "/v1/qrlogin/"+tk.Ticket, nil, ""), 401, "invalid_token")
	_, st := qrPoll(t, s, tk, "scanned")
	if st.Status != "confirmed" || st.Login == nil || st.Login.User == nil || st.Login.RefreshToken == "" {
		t.Fatalf("poll after confirm = %+v", st)
	}
	me := s.Do(t, "GET", "/v1/me", nil, st.Login.AccessToken)
	var m api.Me
	me.JSON(t, &m)
	if me.Status != 200 || m.ID != st.Login.User.ID {
		t.Errorf("the browser's session: %d %s", me.Status, me.Body)
	}
	if strings.Contains(s.Logs.String(), st.Login.RefreshToken) || strings.Contains(s.Logs.String(), tk.PollToken) {
		t.Error("a refresh token or the poll token reached the log")
	}
	r, _ = qrPoll(t, s, tk, "")
	qrWantError(t, "poll after delivery", r, 400, "invalid_ticket")
	qrWantError(t, "image after delivery", s.Do(t, "GET", tk.ImageURL, nil, ""), 400, "invalid_ticket")
	qrWantError(t, "bad after", s.Do(t, "GET", "/v1/qrlogin/"+tk.Ticket+"?after=nope", nil, tk.PollToken), 400, "invalid_request")
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name string
	data qrStatus
}

// follow opens the browser's event stream; events arrive on the channel,
// which closes when the stream ends.
func follow(t *testing.T, s *servertest.Server, tk qrTicket) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/v1/qrlogin/"+tk.Ticket, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tk.PollToken)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream = %d %v", resp.StatusCode, resp.Header)
	}
	ch := make(chan sseEvent, 8)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data); err != nil {
					t.Errorf("event data: %v", err)
				}
			case line == "" && ev.name != "":
				ch <- ev
				ev = sseEvent{}
			}
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	panic("unreachable")
}

// The same flow as Server-Sent Events: waiting, scanned, confirmed with
// the tokens, then the end of the stream; and a cancelled one.
func TestQRLoginEventStream(t *testing.T) {
	s := servertest.New(t)
	tk := qrCreate(t, s, "mp")
	events := follow(t, s, tk)
	if ev := next(t, events); ev.name != "waiting" || ev.data.Status != "waiting" {
		t.Fatalf("first event = %+v", ev)
	}
	mp := phone(t, s, "mp", "alice", tk.Ticket)
	s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, mp)
	if ev := next(t, events); ev.name != "scanned" {
		t.Fatalf("event = %+v, want scanned", ev)
	}
	s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/confirm", nil, mp)
	ev := next(t, events)
	if ev.name != "confirmed" || ev.data.Login == nil || ev.data.Login.AccessToken == "" {
		t.Fatalf("event = %+v, want confirmed with tokens", ev)
	}
	if _, open := <-events; open {
		t.Error("the stream goes on after the final event")
	}

	tk = qrCreate(t, s, "mp")
	events = follow(t, s, tk)
	next(t, events)
	mp = phone(t, s, "mp", "bob", tk.Ticket)
	s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, mp)
	next(t, events)
	if r := s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/cancel", nil, mp); r.Status != 200 {
		t.Fatalf("cancel = %d %s", r.Status, r.Body)
	}
	if ev := next(t, events); ev.name != "canceled" || ev.data.Login != nil {
		t.Fatalf("event = %+v, want canceled", ev)
	}
	qrWantError(t, "confirm after cancel", s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/confirm", nil, mp), 409, "ticket_conflict")
}

// Two tabs follow one ticket with its poll token: one stream delivers the
// login, the other ends with an error event (invalid_ticket).
func TestQRLoginTwoStreamsOneDelivery(t *testing.T) {
	s := servertest.New(t)
	tk := qrCreate(t, s, "mp")
	a, b := follow(t, s, tk), follow(t, s, tk)
	next(t, a)
	next(t, b)
	mp := phone(t, s, "mp", "alice", tk.Ticket)
	s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, mp)
	next(t, a)
	next(t, b)
	s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/confirm", nil, mp)
	evA, evB := next(t, a), next(t, b)
	if evA.name == "error" {
		evA, evB = evB, evA
	}
	if evA.name != "confirmed" || evA.data.Login == nil || evB.name != "error" {
		t.Fatalf("events %+v and %+v, want one confirmed with tokens and one error", evA, evB)
	}
}

// Confirm racing cancel over HTTP: exactly one kind wins.
func TestQRLoginConfirmRacesCancel(t *testing.T) {
	s := servertest.New(t)
	for range 5 {
		tk := qrCreate(t, s, "mp")
		mp := phone(t, s, "mp", "alice", tk.Ticket)
		s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, mp)
		var confirms, cancels atomic.Int32
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				step := "/confirm"
				if i%2 == 1 {
					step = "/cancel"
				}
				r := s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+step, nil, mp)
				switch {
				case r.Status == 200 && step == "/confirm":
					confirms.Add(1)
				case r.Status == 200:
					cancels.Add(1)
				case r.Status != 409:
					t.Errorf("%s = %d %s", step, r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		_, st := qrPoll(t, s, tk, "scanned")
		if !(confirms.Load() == 1 && cancels.Load() == 0 && st.Status == "confirmed" && st.Login != nil) &&
			!(confirms.Load() == 0 && cancels.Load() > 0 && st.Status == "canceled" && st.Login == nil) {
			t.Fatalf("%d confirms, %d cancels, browser sees %+v", confirms.Load(), cancels.Load(), st)
		}
	}
}

// Past qrlogin.ttl every endpoint refuses the ticket; a browser waiting
// on it hears that it expired.
func TestQRLoginExpired(t *testing.T) {
	s := servertest.New(t)
	tk := qrCreate(t, s, "mp")
	mp := phone(t, s, "mp", "alice", tk.Ticket)
	s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, mp)
	events := follow(t, s, tk)
	next(t, events)
	s.Clock.Advance(5 * time.Minute)
	if ev := next(t, events); ev.name != "expired" {
		t.Errorf("event = %+v, want expired", ev)
	}
	r, _ := qrPoll(t, s, tk, "")
	qrWantError(t, "poll", r, 400, "invalid_ticket")
	qrWantError(t, "image", s.Do(t, "GET", tk.ImageURL, nil, ""), 400, "invalid_ticket")
	for _, step := range []string{"scan", "confirm", "cancel"} {
		qrWantError(t, step, s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/"+step, nil, mp), 400, "invalid_ticket")
	}
}

// Refusals: a kind without QR login, another app's session, an unknown
// ticket, and the per-address limit on creation.
func TestQRLoginRefusals(t *testing.T) {
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.Apps = append(config.DevApps(), config.App{Name: "mp2", Kind: config.KindMiniProgram, AppID: "wxd0000000000000e5", Secret: "sandbox-secret-mp2-000000000000005"})
		c.RateLimits.AuthorizePerIP = "6/1m"
		c.RateLimits.QRLoginPerIP = "4/1m"
	}))
	for _, app := range []string{"web", "app", "nope"} {
		qrWantError(t, "create for "+app, s.Do(t, "POST", "/v1/qrlogin", map[string]string{"app": app}, ""), 400, "unknown_app")
	}
	qrWantError(t, "create without app", s.Do(t, "POST", "/v1/qrlogin", `{}`, ""), 400, "invalid_request")
	tk := qrCreate(t, s, "mp")
	other := s.Login(t, "mp2", "alice")
	qrWantError(t, "scan with another app's session", s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, other.AccessToken), 400, "invalid_ticket")
	qrWantError(t, "scan without a session", s.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, ""), 401, "invalid_token")
	qrWantError(t, "unknown ticket", s.Do(t, "GET", "/v1/qrlogin/"+strings.Repeat("A", 32)+"/image", nil, ""), 400, "invalid_ticket")
	qrWantError(t, "scene never drawn", s.Do(t, "POST", "/sandbox/v1/miniprogram/scan", map[string]string{"appid": s.AppID(t, "mp"), "user": "alice", "scene": strings.Repeat("A", 32)}, ""), 404, "not_found")
	var last servertest.Response
	for range 4 {
		last = s.Do(t, "POST", "/v1/qrlogin", map[string]string{"app": "mp"}, "")
	}
	qrWantError(t, "create past the limit", last, 429, "rate_limited")
	// Reads count apart: the unknown ticket's image above, then 3 polls.
	for range 3 {
		if r := s.Do(t, "GET", "/v1/qrlogin/"+tk.Ticket, nil, tk.PollToken); r.Status != 200 {
			t.Fatalf("poll within the limit = %d %s", r.Status, r.Body)
		}
	}
	qrWantError(t, "poll past the limit", s.Do(t, "GET", "/v1/qrlogin/"+tk.Ticket, nil, tk.PollToken), 429, "rate_limited")
	qrWantError(t, "image past the limit", s.Do(t, "GET", tk.ImageURL, nil, ""), 429, "rate_limited")
}

// Two instances sharing Redis: the browser waits on one, the phone
// confirms on the other; the Redis signal wakes the browser (its slow
// re-read runs on a clock nobody advances).
func TestQRLoginAcrossInstances(t *testing.T) {
	redisURL := os.Getenv("WXAUTH_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("WXAUTH_TEST_REDIS_URL is not set: the cross-instance wake needs Redis")
	}
	onRedis := servertest.Configure(func(c *config.Config) { c.RedisURL = redisURL })
	a, b := servertest.New(t, onRedis), servertest.New(t, onRedis)
	// Redis keeps keys on its own clock: both stacks move to the present,
	// or the sessions they store would be past their lifetime there.
	for _, s := range []*servertest.Server{a, b} {
		s.Clock.Advance(time.Since(servertest.Start))
	}
	tk := qrCreate(t, a, "mp")
	events := follow(t, a, tk)
	next(t, events)
	mp := phone(t, b, "mp", "alice", tk.Ticket)
	if r := b.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/scan", nil, mp); r.Status != 200 {
		t.Fatalf("scan on b = %d %s", r.Status, r.Body)
	}
	if ev := next(t, events); ev.name != "scanned" {
		t.Fatalf("event on a = %+v, want scanned", ev)
	}
	if r := b.Do(t, "POST", "/v1/qrlogin/"+tk.Ticket+"/confirm", nil, mp); r.Status != 200 {
		t.Fatalf("confirm on b = %d %s", r.Status, r.Body)
	}
	if ev := next(t, events); ev.name != "confirmed" || ev.data.Login == nil {
		t.Fatalf("event on a = %+v, want confirmed with tokens", ev)
	}
}
