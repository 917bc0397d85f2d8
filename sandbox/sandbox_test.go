package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test apps: two Mini Programs bound to the Open Platform account, one
// unbound, and an Official Account.
var (
	appA  = App{Name: "shop", Kind: KindMiniProgram, AppID: "wx00000000000000a1", Secret: "secret-a"}
	appB  = App{Name: "club", Kind: KindMiniProgram, AppID: "wx00000000000000b2", Secret: "secret-b"}
	appU  = App{Name: "solo", Kind: KindMiniProgram, AppID: "wx00000000000000c3", Secret: "secret-c", Unbound: true}
	appOA = App{Name: "news", Kind: KindOfficialAccount, AppID: "wx00000000000000d4", Secret: "secret-d", Domains: []string{"app.example"}}
)

// clock is a settable clock for code expiry and rate limits.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a sandbox served over real HTTP with a settable clock.
type env struct {
	sb    *Sandbox
	srv   *httptest.Server
	clock *clock
}

// newEnv starts a sandbox with the test apps; mutate may adjust the config.
func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg := Config{Apps: []App{appA, appB, appU, appOA}, Now: c.Now}
	if mutate != nil {
		mutate(&cfg)
	}
	sb, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv, clock: c}
}

// answer is a decoded WeChat answer. Errcode is a pointer so that an absent
// errcode is visible, and an int so that a non-number fails to decode.
type answer struct {
	Errcode    *int   `json:"errcode"`
	Errmsg     string `json:"errmsg"`
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid"`
	// App access tokens (reference §2.1, §2.2).
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	// getuserphonenumber (reference §3.5).
	PhoneInfo *struct {
		PhoneNumber     string `json:"phoneNumber"`
		PurePhoneNumber string `json:"purePhoneNumber"`
		CountryCode     string `json:"countryCode"`
		Watermark       struct {
			Timestamp int64  `json:"timestamp"`
			AppID     string `json:"appid"`
		} `json:"watermark"`
	} `json:"phone_info"`

	// Web OAuth (reference §5.3–§5.5).
	RefreshToken   string `json:"refresh_token"`
	Scope          string `json:"scope"`
	IsSnapshotUser int    `json:"is_snapshotuser"`
	Nickname       string `json:"nickname"`
	HeadImgURL     string `json:"headimgurl"`

	status      int
	contentType string
	fields      map[string]json.RawMessage
}

func (a answer) code() int {
	if a.Errcode == nil {
		return 0
	}
	return *a.Errcode
}

// get calls the WeChat path (as WeChat spells it) with query q.
func (e *env) get(t *testing.T, path string, q url.Values) answer {
	t.Helper()
	resp, err := http.Get(e.srv.URL + APIPrefix + path + "?" + q.Encode())
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return readAnswer(t, resp)
}

// post calls the WeChat path with query q and body (sent as JSON).
func (e *env) post(t *testing.T, path string, q url.Values, body string) answer {
	t.Helper()
	resp, err := http.Post(e.srv.URL+APIPrefix+path+"?"+q.Encode(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return readAnswer(t, resp)
}

func readAnswer(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	a := answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	if resp.StatusCode != http.StatusOK {
		return a
	}
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if err := json.Unmarshal(body, &a.fields); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return a
}

// loginQuery is a well-formed jscode2session query.
func loginQuery(app App, code string) url.Values {
	return url.Values{
		"appid":      {app.AppID},
		"secret":     {app.Secret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}
}

// login issues a code for user in app and exchanges it.
func (e *env) login(t *testing.T, app App, user string) answer {
	t.Helper()
	return e.get(t, "/sns/jscode2session", loginQuery(app, e.code(t, app, user)))
}

func (e *env) code(t *testing.T, app App, user string) string {
	t.Helper()
	code, err := e.sb.IssueCode(app.AppID, user)
	if err != nil {
		t.Fatalf("IssueCode(%q, %q): %v", app.AppID, user, err)
	}
	return code
}

// control calls the control API with body (nil for none) and decodes the
// JSON answer into out (if not nil). It returns the status.
func (e *env) control(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+ControlPrefix+path, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

var ridSuffix = regexp.MustCompile(`, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$`)

// checkWeChatError checks the conventions every WeChat error follows
// (reference §1).
func checkWeChatError(t *testing.T, a answer, want int) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Errorf("status = %d, want 200 (WeChat errors are HTTP 200)", a.status)
	}
	if a.contentType != "text/plain" {
		t.Errorf("Content-Type = %q, want text/plain", a.contentType)
	}
	if a.Errcode == nil {
		t.Fatalf("errcode absent, want %d", want)
	}
	if *a.Errcode != want {
		t.Errorf("errcode = %d (%q), want %d", *a.Errcode, a.Errmsg, want)
	}
	if !ridSuffix.MatchString(a.Errmsg) {
		t.Errorf("errmsg = %q, want a rid suffix", a.Errmsg)
	}
}

func TestNewValidates(t *testing.T) {
	neg := -time.Second
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error
	}{
		{"bad kind", Config{Apps: []App{appA, {Kind: "mobile", AppID: "wx1", Secret: "s"}}}, []string{"Apps[1]", "Kind"}},
		{"no kind", Config{Apps: []App{{AppID: "wx1", Secret: "s"}}}, []string{"Apps[0]", "Kind"}},
		{"no appid", Config{Apps: []App{{Kind: KindWebsite, Secret: "s"}}}, []string{"Apps[0]", "AppID"}},
		{"no secret", Config{Apps: []App{{Kind: KindWebsite, AppID: "wx1"}}}, []string{"Apps[0]", "Secret"}},
		{"space in appid", Config{Apps: []App{{Kind: KindWebsite, AppID: "wx 1", Secret: "s"}}}, []string{"Apps[0]", "AppID"}},
		{"duplicate appid", Config{Apps: []App{appA, appA}}, []string{"Apps[1]", "AppID", "already"}},
		{"domain with a port", Config{Apps: []App{{Kind: KindWebsite, AppID: "wx1", Secret: "s", Domains: []string{"a.example:8080"}}}}, []string{"Apps[0]", "Domains"}},
		{"domain in upper case", Config{Apps: []App{{Kind: KindWebsite, AppID: "wx1", Secret: "s", Domains: []string{"A.example"}}}}, []string{"Apps[0]", "Domains"}},
		{"dev origin with a path", Config{DevOrigins: []string{"http://127.0.0.1:8080/app"}}, []string{"DevOrigins"}},
		{"dev origin without scheme", Config{DevOrigins: []string{"127.0.0.1:8080"}}, []string{"DevOrigins"}},
		{"negative CodeTTL", Config{CodeTTL: neg}, []string{"CodeTTL"}},
		{"negative AppTokenTTL", Config{AppTokenTTL: neg}, []string{"AppTokenTTL"}},
		{"negative AppTokenOverlap", Config{AppTokenOverlap: neg}, []string{"AppTokenOverlap"}},
		{"negative AppTokenDailyQuota", Config{AppTokenDailyQuota: -1}, []string{"AppTokenDailyQuota"}},
		{"TTL not above default overlap", Config{AppTokenTTL: 5 * time.Minute}, []string{"AppTokenOverlap", "AppTokenTTL"}},
		{"overlap above TTL", Config{AppTokenTTL: time.Minute, AppTokenOverlap: 2 * time.Minute}, []string{"AppTokenOverlap", "AppTokenTTL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatalf("New() = nil error, want one naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	sb, err := New(Config{})
	if err != nil {
		t.Fatalf("New(Config{}): %v", err)
	}
	if got := sb.Apps(); len(got) != 0 {
		t.Errorf("Apps() = %v, want none", got)
	}
	var names []string
	for _, u := range sb.Users() {
		names = append(names, u.Name+"/"+u.Nickname)
	}
	if got, want := strings.Join(names, ","), "alice/Alice,bob/Bob,snapshot/Snapshot,xiaoming/小明🐱"; got != want {
		t.Errorf("Users() = %s, want %s", got, want)
	}
	if err := sb.AddApp(App{Kind: KindMiniProgram, AppID: "wx1", Secret: "s"}); err != nil {
		t.Fatalf("AddApp: %v", err)
	}
	if got := sb.Apps()[0].Name; got != "wx1" {
		t.Errorf("Apps()[0].Name = %q, want the appid for an empty name", got)
	}
}

func TestAppLogValueHidesSecret(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("app", "app", appA)
	if strings.Contains(buf.String(), appA.Secret) || !strings.Contains(buf.String(), appA.AppID) {
		t.Errorf("logged %q, want the appid and not the secret", buf.String())
	}
}
