package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// errorJSON is the control API's error body.
type errorJSON struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func TestControlApps(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Apps = []App{appA, appU} })

	var list struct {
		Apps []map[string]any `json:"apps"`
	}
	if status := e.control(t, http.MethodGet, "/apps", nil, &list); status != http.StatusOK {
		t.Fatalf("GET /apps: status %d", status)
	}
	want := []map[string]any{
		{"name": "shop", "kind": "miniprogram", "appid": appA.AppID},
		{"name": "solo", "kind": "miniprogram", "appid": appU.AppID, "unbound": true},
	}
	if diff := cmp.Diff(want, list.Apps); diff != "" {
		t.Errorf("GET /apps (-want +got):\n%s", diff)
	}

	body := map[string]any{"name": "web", "kind": "website", "appid": "wx00000000000000e5", "secret": "secret-e", "domains": []string{"www.example.com"}}
	var created map[string]any
	if status := e.control(t, http.MethodPost, "/apps", body, &created); status != http.StatusCreated {
		t.Fatalf("POST /apps: status %d, want 201", status)
	}
	if diff := cmp.Diff(map[string]any{"name": "web", "kind": "website", "appid": "wx00000000000000e5", "domains": []any{"www.example.com"}}, created); diff != "" {
		t.Errorf("POST /apps answer (-want +got):\n%s", diff)
	}
	if got := e.sb.Apps(); len(got) != 3 || got[2].Secret != "secret-e" || len(got[2].Domains) != 1 {
		t.Errorf("Apps() after POST = %+v, want the website app with its secret last", got)
	}

	// A Mini Program added at run time logs users in at once.
	mp := App{Name: "late", Kind: KindMiniProgram, AppID: "wx00000000000000f6", Secret: "secret-f"}
	if status := e.control(t, http.MethodPost, "/apps", map[string]any{"name": mp.Name, "kind": mp.Kind, "appid": mp.AppID, "secret": mp.Secret}, nil); status != http.StatusCreated {
		t.Fatalf("POST /apps: status %d", status)
	}
	if a := e.login(t, mp, "bob"); a.code() != 0 || a.UnionID == "" {
		t.Errorf("login at the added app: errcode %d, unionid %q", a.code(), a.UnionID)
	}
}

func TestControlUsers(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Apps = []App{appA, appU} })

	type userJSON struct {
		Name     string            `json:"name"`
		Nickname string            `json:"nickname"`
		UnionID  string            `json:"unionid"`
		OpenIDs  map[string]string `json:"openids"`
		Phone    string            `json:"phone"`
		Snapshot string            `json:"snapshot"`
	}
	var list struct {
		Users []userJSON `json:"users"`
	}
	if status := e.control(t, http.MethodGet, "/users", nil, &list); status != http.StatusOK {
		t.Fatalf("GET /users: status %d", status)
	}
	var names []string
	for _, u := range list.Users {
		names = append(names, u.Name+"/"+u.Nickname+"/"+u.Phone)
	}
	if diff := cmp.Diff([]string{"alice/Alice/+8613800000001", "bob/Bob/+8613800000002", "snapshot/Snapshot/+8613800000003", "xiaoming/小明🐱/+8613800000004"}, names); diff != "" {
		t.Errorf("GET /users (-want +got):\n%s", diff)
	}

	var carol, again userJSON
	if status := e.control(t, http.MethodPost, "/users", map[string]string{"name": "carol"}, &carol); status != http.StatusCreated {
		t.Fatalf("POST /users carol: status %d, want 201", status)
	}
	if carol.Name != "carol" || carol.Nickname != "Carol" || !idPattern.MatchString(carol.UnionID) || !strings.HasPrefix(carol.Phone, "+86139") ||
		len(carol.OpenIDs) != 2 || !idPattern.MatchString(carol.OpenIDs[appA.AppID]) {
		t.Errorf("POST /users carol = %+v", carol)
	}
	if status := e.control(t, http.MethodPost, "/users", map[string]string{"name": "carol"}, &again); status != http.StatusOK {
		t.Errorf("POST /users carol again: status %d, want 200", status)
	}
	if diff := cmp.Diff(carol, again); diff != "" {
		t.Errorf("POST /users carol again (-first +second):\n%s", diff)
	}

	// Any Unicode nickname, as WeChat users have them; the snapshot variant.
	var dan userJSON
	nick := "  丹丹 👩\u200d💻　ｄａｎ "
	if status := e.control(t, http.MethodPost, "/users", map[string]string{"name": "dan", "nickname": nick, "snapshot": "unflagged"}, &dan); status != http.StatusCreated {
		t.Fatalf("POST /users dan: status %d, want 201", status)
	}
	if dan.Nickname != nick || dan.Snapshot != SnapshotUnflagged {
		t.Errorf("POST /users dan = nickname %q snapshot %q, want %q %q", dan.Nickname, dan.Snapshot, nick, SnapshotUnflagged)
	}

	// The control API's ids are the ones jscode2session answers.
	a := e.login(t, appA, "carol")
	if a.OpenID != carol.OpenIDs[appA.AppID] || a.UnionID != carol.UnionID {
		t.Errorf("login as carol = %q, %q; want %q, %q", a.OpenID, a.UnionID, carol.OpenIDs[appA.AppID], carol.UnionID)
	}
}

func TestControlCode(t *testing.T) {
	e := newEnv(t, nil)
	var got struct {
		Code string `json:"code"`
	}
	if status := e.control(t, http.MethodPost, "/miniprogram/code", map[string]string{"appid": appA.AppID, "user": "bob"}, &got); status != http.StatusOK {
		t.Fatalf("POST /miniprogram/code: status %d", status)
	}
	a := e.get(t, loginPath, loginQuery(appA, got.Code))
	if want := e.sb.Users()[1].OpenIDs[appA.AppID]; a.OpenID != want {
		t.Errorf("code from the control API logs in as %q, want bob's %q", a.OpenID, want)
	}
}

func TestControlFaults(t *testing.T) {
	e := newEnv(t, nil)
	status := e.control(t, http.MethodPost, "/faults", map[string]any{"path": loginPath, "errcode": 45011, "status": 0, "delay_ms": 0, "count": 2}, nil)
	if status != http.StatusNoContent {
		t.Fatalf("POST /faults: status %d, want 204", status)
	}
	checkWeChatError(t, e.login(t, appA, "alice"), 45011)
	checkWeChatError(t, e.login(t, appA, "alice"), 45011)
	if a := e.login(t, appA, "alice"); a.code() != 0 {
		t.Errorf("third call: errcode %d, want success", a.code())
	}
}

func TestControlErrors(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		code         string
	}{
		{"malformed JSON", "POST", "/users", `{"name":`, 400, "invalid_request"},
		{"not an object", "POST", "/users", `"carol"`, 400, "invalid_request"},
		{"empty body", "POST", "/users", ``, 400, "invalid_request"},
		{"trailing data", "POST", "/users", `{"name":"carol"} {}`, 400, "invalid_request"},
		{"unknown field", "POST", "/users", `{"name":"carol","nick":"C"}`, 400, "invalid_request"},
		{"body too large", "POST", "/users", `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, 400, "invalid_request"},
		{"bad user name", "POST", "/users", map[string]string{"name": "carol smith"}, 400, "invalid_request"},
		{"control character in nickname", "POST", "/users", map[string]string{"name": "carol", "nickname": "Ca\nrol"}, 400, "invalid_request"},
		{"nickname too long", "POST", "/users", map[string]string{"name": "carol", "nickname": strings.Repeat("猫", 65)}, 400, "invalid_request"},
		{"unknown snapshot variant", "POST", "/users", map[string]string{"name": "carol", "snapshot": "yes"}, 400, "invalid_request"},
		{"empty user name", "POST", "/users", map[string]string{}, 400, "invalid_request"},
		{"app without secret", "POST", "/apps", map[string]string{"kind": "website", "appid": "wx9"}, 400, "invalid_request"},
		{"app of unknown kind", "POST", "/apps", map[string]string{"kind": "game", "appid": "wx9", "secret": "s"}, 400, "invalid_request"},
		{"app domain with a port", "POST", "/apps", map[string]any{"kind": "website", "appid": "wx9", "secret": "s", "domains": []string{"www.example.com:8080"}}, 400, "invalid_request"},
		{"app domain with a scheme", "POST", "/apps", map[string]any{"kind": "website", "appid": "wx9", "secret": "s", "domains": []string{"https://www.example.com"}}, 400, "invalid_request"},
		{"duplicate app", "POST", "/apps", map[string]string{"kind": "website", "appid": appA.AppID, "secret": "s"}, 409, "conflict"},
		{"code, unknown user", "POST", "/miniprogram/code", map[string]string{"appid": appA.AppID, "user": "mallory"}, 404, "not_found"},
		{"code, unknown app", "POST", "/miniprogram/code", map[string]string{"appid": "wxunknown", "user": "alice"}, 404, "not_found"},
		{"code, not a Mini Program", "POST", "/miniprogram/code", map[string]string{"appid": appOA.AppID, "user": "alice"}, 400, "invalid_request"},
		{"code, no user", "POST", "/miniprogram/code", map[string]string{"appid": appA.AppID}, 400, "invalid_request"},
		{"code, no appid", "POST", "/miniprogram/code", map[string]string{"user": "alice"}, 400, "invalid_request"},
		{"phonecode, bad phone", "POST", "/miniprogram/phonecode", map[string]string{"appid": appA.AppID, "user": "alice", "phone": "13800000001"}, 400, "invalid_request"},
		{"phonecode, unknown user", "POST", "/miniprogram/phonecode", map[string]string{"appid": appA.AppID, "user": "mallory"}, 404, "not_found"},
		{"phonecode, no appid", "POST", "/miniprogram/phonecode", map[string]string{"user": "alice"}, 400, "invalid_request"},
		{"phonecode, unknown field", "POST", "/miniprogram/phonecode", map[string]string{"appid": appA.AppID, "user": "alice", "number": "+8613800000001"}, 400, "invalid_request"},
		{"encrypted, not logged in", "POST", "/miniprogram/encrypted", map[string]string{"appid": appA.AppID, "user": "alice", "kind": "phone"}, 404, "not_found"},
		{"rotate, not logged in", "POST", "/miniprogram/rotate", map[string]string{"appid": appA.AppID, "user": "alice"}, 404, "not_found"},
		{"rotate, wrong method", "GET", "/miniprogram/rotate", nil, 405, "method_not_allowed"},
		{"invalidate, no appid", "POST", "/apptoken/invalidate", `{}`, 400, "invalid_request"},
		{"invalidate, unknown app", "POST", "/apptoken/invalidate", map[string]string{"appid": "wxunknown"}, 404, "not_found"},
		{"fault, unknown path", "POST", "/faults", map[string]any{"path": "/sns/nothing", "errcode": -1}, 400, "invalid_request"},
		{"fault, prefixed path", "POST", "/faults", map[string]any{"path": APIPrefix + loginPath, "errcode": -1}, 400, "invalid_request"},
		{"fault, bad status", "POST", "/faults", map[string]any{"path": loginPath, "status": 42}, 400, "invalid_request"},
		{"fault, negative delay", "POST", "/faults", map[string]any{"path": loginPath, "delay_ms": -5}, 400, "invalid_request"},
		{"fault, negative count", "POST", "/faults", map[string]any{"path": loginPath, "errcode": -1, "count": -1}, 400, "invalid_request"},
		{"fault, does nothing", "POST", "/faults", map[string]any{"path": loginPath}, 400, "invalid_request"},
		{"fault, errcode as string", "POST", "/faults", `{"path":"/sns/jscode2session","errcode":"-1"}`, 400, "invalid_request"},
		{"unknown endpoint", "GET", "/nothing", nil, 404, "not_found"},
		{"wrong method", "DELETE", "/apps", nil, 405, "method_not_allowed"},
		{"wrong method on stats", "POST", "/stats", `{}`, 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got errorJSON
			status := e.control(t, tt.method, tt.path, tt.body, &got)
			if status != tt.status || got.Error != tt.code {
				t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, status, got.Error, tt.status, tt.code)
			}
			if got.Description == "" {
				t.Errorf("%s %s: empty error_description", tt.method, tt.path)
			}
		})
	}
	// Nothing of the rejected requests took effect.
	if got := len(e.sb.Users()); got != len(builtinUsers) {
		t.Errorf("len(Users()) = %d after rejected requests, want %d", got, len(builtinUsers))
	}
	if a := e.login(t, appA, "alice"); a.code() != 0 {
		t.Errorf("login after rejected faults: errcode %d, want success", a.code())
	}
}

func TestControlNeverShowsSecrets(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/apps", "/users", "/stats"} {
		var raw json.RawMessage
		e.control(t, http.MethodGet, path, nil, &raw)
		for _, app := range e.sb.Apps() {
			if strings.Contains(string(raw), app.Secret) {
				t.Errorf("GET %s shows %s's secret", path, app.Name)
			}
		}
	}
}

// docs/sandbox.md: an app registered with a session_key policy of its own
// shows it, and applies it when codes are issued.
func TestControlAppSessionKey(t *testing.T) {
	e := newEnv(t, nil)
	body := map[string]any{"name": "slow", "kind": "miniprogram", "appid": "wx00000000000000f7", "secret": "secret-g",
		"session_key": map[string]any{"rotate_on_code": true, "min_rotation": "10m"}}
	var created map[string]any
	if status := e.control(t, http.MethodPost, "/apps", body, &created); status != http.StatusCreated {
		t.Fatalf("POST /apps: status %d, want 201", status)
	}
	want := map[string]any{"name": "slow", "kind": "miniprogram", "appid": "wx00000000000000f7",
		"session_key": map[string]any{"rotate_on_code": true, "min_rotation": "10m0s", "ttl": "72h0m0s"}}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("POST /apps answer (-want +got):\n%s", diff)
	}
	slow := App{AppID: "wx00000000000000f7", Secret: "secret-g"}
	first := e.login(t, slow, "alice").SessionKey
	if got := e.login(t, slow, "alice").SessionKey; got != first {
		t.Errorf("second login within min_rotation: key %q → %q, want kept", first, got)
	}
	// Other apps keep the default: every code rotates.
	a1 := e.login(t, appA, "alice").SessionKey
	if a2 := e.login(t, appA, "alice").SessionKey; a2 == a1 {
		t.Errorf("default app kept the key across codes")
	}

	for _, tt := range []struct {
		name string
		sk   any
	}{
		{"bad duration", map[string]any{"ttl": "3 days"}},
		{"negative", map[string]any{"min_rotation": "-1s"}},
		{"unknown field", map[string]any{"rotate": true}},
		{"not an object", "72h"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got errorJSON
			b := map[string]any{"kind": "miniprogram", "appid": "wx00000000000000f8", "secret": "s", "session_key": tt.sk}
			if status := e.control(t, http.MethodPost, "/apps", b, &got); status != 400 || got.Error != "invalid_request" {
				t.Errorf("POST /apps with session_key %v = %d %+v, want 400 invalid_request", tt.sk, status, got)
			}
		})
	}
	var got errorJSON
	b := map[string]any{"kind": "official_account", "appid": "wx00000000000000f9", "secret": "s", "session_key": map[string]any{"ttl": "1h"}}
	if status := e.control(t, http.MethodPost, "/apps", b, &got); status != 400 {
		t.Errorf("POST /apps, official account with a session_key = %d %+v, want 400", status, got)
	}
}

// Config.SessionKey and App.SessionKey are checked like the rest.
func TestNewSessionKeyPolicy(t *testing.T) {
	if _, err := New(Config{SessionKey: SessionKeyPolicy{TTL: -time.Second}}); err == nil {
		t.Error("New with a negative SessionKey.TTL succeeded")
	}
	bad := appA
	bad.SessionKey = &SessionKeyPolicy{MinRotation: -time.Second}
	if _, err := New(Config{Apps: []App{bad}}); err == nil {
		t.Error("New with an app's negative SessionKey.MinRotation succeeded")
	}
	off := false
	own := appA
	own.SessionKey = &SessionKeyPolicy{RotateOnCode: &off}
	sb, err := New(Config{Apps: []App{own}})
	if err != nil {
		t.Fatal(err)
	}
	off = true // the sandbox keeps its own copy
	if got := sb.Apps()[0].SessionKey; got == nil || *got.RotateOnCode || got.TTL != DefaultSessionKeyTTL {
		t.Errorf("Apps()[0].SessionKey = %+v, want rotate_on_code false and the default TTL", got)
	}
}
