package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
)

// startDev runs `wxauth dev` in process on a free port with the given data
// folder, environment and extra flags, and returns its origin and a stop
// function that waits for a clean shutdown.
func startDev(t *testing.T, data string, env map[string]string, flags ...string) (origin string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"dev", "--addr", "127.0.0.1:0", "--data", data}, flags...), pw, io.Discard, config.Env(env))
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "wxauth dev is running on "); ok {
			origin = strings.Fields(rest)[0]
			break
		}
	}
	if origin == "" {
		cancel()
		t.Fatalf("wxauth dev did not start: %v", <-done)
	}
	go io.Copy(io.Discard, pr)
	return origin, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("wxauth dev stopped with %v", err)
		}
	}
}

func call(t *testing.T, method, url, body, bearer string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func post(t *testing.T, url, body, bearer string) (int, []byte) {
	t.Helper()
	return call(t, "POST", url, body, bearer)
}

func get(t *testing.T, url, bearer string) (int, []byte) {
	t.Helper()
	return call(t, "GET", url, "", bearer)
}

// loginAlice does what the banner's curl walkthrough does.
func loginAlice(t *testing.T, origin string) api.TokenResponse {
	t.Helper()
	return loginMP(t, origin, aliceCode(t, origin))
}

// aliceCode is a wx.login code of alice for dev's mini program "mp".
func aliceCode(t *testing.T, origin string) string {
	t.Helper()
	status, b := post(t, origin+"/sandbox/v1/miniprogram/code", `{"appid":"wxd0000000000000a1","user":"alice"}`, "")
	var code struct{ Code string }
	if status != 200 || json.Unmarshal(b, &code) != nil || code.Code == "" {
		t.Fatalf("sandbox code = %d %s", status, b)
	}
	return code.Code
}

// loginMP logs in to dev's mini program "mp" with code.
func loginMP(t *testing.T, origin, code string) api.TokenResponse {
	t.Helper()
	status, b := post(t, origin+"/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`, "")
	var tr api.TokenResponse
	if status != 200 || json.Unmarshal(b, &tr) != nil {
		t.Fatalf("login = %d %s", status, b)
	}
	return tr
}

// The README's walkthrough works, and restarting `wxauth dev` on the same
// data folder keeps users and the signing key.
func TestDevWalkthroughAndRestart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	origin, stop := startDev(t, data, nil)
	first := loginAlice(t, origin)
	if !first.IsNewUser {
		t.Error("alice's first login is not a new user")
	}
	if status, b := get(t, origin+"/v1/me", first.AccessToken); status != 200 {
		t.Errorf("GET /v1/me = %d %s", status, b)
	}
	if status, b := post(t, origin+"/v1/token/refresh", `{"refresh_token":"`+first.RefreshToken+`"}`, ""); status != 200 {
		t.Errorf("refresh = %d %s", status, b)
	}
	_, jwks1 := get(t, origin+"/.well-known/jwks.json", "")
	if status, _ := post(t, origin+"/v1/logout", ``, first.AccessToken); status != 204 {
		t.Errorf("logout = %d", status)
	}
	stop()

	for _, f := range []string{"wxauth.db", "signing-key.json", "secret"} {
		fi, err := os.Stat(filepath.Join(data, f))
		if err != nil {
			t.Fatalf("data folder lacks %s: %v", f, err)
		}
		if f != "wxauth.db" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}

	origin, stop = startDev(t, data, nil)
	defer stop()
	again := loginAlice(t, origin)
	if again.IsNewUser || again.User.ID != first.User.ID {
		t.Errorf("after restart alice is user %q (new=%v), want %q", again.User.ID, again.IsNewUser, first.User.ID)
	}
	if _, jwks2 := get(t, origin+"/.well-known/jwks.json", ""); string(jwks2) != string(jwks1) {
		t.Errorf("the signing key changed across restarts:\n%s\n%s", jwks1, jwks2)
	}
}

// `wxauth dev`'s H5 login works on its own loopback port and on the
// origins of its redirects: the sandbox's dev allowance (WeChat itself
// allows registered domains on the default port only, and so does the
// sandbox elsewhere).
func TestDevBrowserLogin(t *testing.T) {
	origin, stop := startDev(t, t.TempDir(), map[string]string{"WXAUTH_REDIRECTS": "http://localhost:3000/demo/"})
	defer stop()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	hop := func(u string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50")
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, page := range []string{origin + "/demo/", "http://localhost:3000/demo/"} {
		resp := hop(origin + "/v1/oauth/wechat/authorize?app=oa&redirect_uri=" + url.QueryEscape(page))
		wx, _, _ := strings.Cut(resp.Header.Get("Location"), "#")
		if resp.StatusCode != 302 || wx == "" {
			t.Fatalf("authorize for %s = %d", page, resp.StatusCode)
		}
		resp = hop(wx + "&sandbox_user=alice")
		if back := resp.Header.Get("Location"); resp.StatusCode != 302 || !strings.HasPrefix(back, page+"?code=") {
			t.Errorf("the sandbox's page for %s = %d Location %q, want 302 back with a code", page, resp.StatusCode, back)
		}
	}
}

// WXAUTH_* variables apply to `wxauth dev` (docs/configuration.md "wxauth dev").
func TestDevHonoursEnvironment(t *testing.T) {
	origin, stop := startDev(t, t.TempDir(), map[string]string{"WXAUTH_ACCESS_TTL": "90s"})
	defer stop()
	if tr := loginAlice(t, origin); tr.ExpiresIn != 90 {
		t.Errorf("expires_in = %d with WXAUTH_ACCESS_TTL=90s, want 90", tr.ExpiresIn)
	}
}

func TestBadConfigurationStopsStartup(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"bad duration": {[]string{"dev", "--data", t.TempDir()}, map[string]string{"WXAUTH_ACCESS_TTL": "soon"}, "WXAUTH_ACCESS_TTL"},
		"bad registration": {[]string{"dev", "--addr", "127.0.0.1:0", "--data", t.TempDir()},
			map[string]string{"WXAUTH_REGISTRATION": "open"}, "registration"},
		"serve without secret": {[]string{"serve", "--config", emptyFile(t)}, map[string]string{"WXAUTH_ISSUER": "https://a.example.com",
			"WXAUTH_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db")}, "secret"},
		"unknown command": {[]string{"frobnicate"}, nil, "usage"},
		// WeChat returns only to registered domains on the default port.
		"serve with a redirect WeChat refuses": {[]string{"serve", "--config", writeFile(t, `apps:
  - {name: oa, kind: official_account, appid: wx1, secret: s, domains: [h5.example.com]}
redirects: ["https://h5.example.com:8443/login/"]
`)}, map[string]string{"WXAUTH_ISSUER": "https://a.example.com", "WXAUTH_SECRET": strings.Repeat("s", 32),
			"WXAUTH_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db")}, `redirects[0]: "https://h5.example.com:8443/login/": WeChat returns only to the default port (80, 443), never to port 8443, for any app (oa (domains: h5.example.com)) (line 3)`},
		// No sandbox inbox in serve: codes would reach no phone.
		"serve bind_phone without an SMS provider": {[]string{"serve", "--config", writeFile(t, `apps:
  - {name: mp, kind: miniprogram, appid: wx1, secret: s}
registration: bind_phone
`)}, map[string]string{"WXAUTH_ISSUER": "https://a.example.com", "WXAUTH_SECRET": strings.Repeat("s", 32),
			"WXAUTH_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db")}, "sms.provider: required with registration bind_phone"},
		"serve with the development sender": {[]string{"serve", "--config", writeFile(t, `apps:
  - {name: mp, kind: miniprogram, appid: wx1, secret: s}
sms: {provider: dev}
`)}, map[string]string{"WXAUTH_ISSUER": "https://a.example.com", "WXAUTH_SECRET": strings.Repeat("s", 32),
			"WXAUTH_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db")}, "sms.provider: dev delivers only to the sandbox inbox"},
		"serve with an official account without domains": {[]string{"serve", "--config", writeFile(t, `apps:
  - {name: oa, kind: official_account, appid: wx1, secret: s}
`)}, map[string]string{"WXAUTH_ISSUER": "https://a.example.com", "WXAUTH_SECRET": strings.Repeat("s", 32),
			"WXAUTH_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db")}, `apps[0].domains: app "oa" (official_account) needs the domains registered for it on WeChat`},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr strings.Builder
			err := run(t.Context(), tc.args, io.Discard, &stderr, config.Env(tc.env))
			if err == nil {
				t.Fatal("run succeeded")
			}
			if !strings.Contains(err.Error()+stderr.String(), tc.want) {
				t.Errorf("error %q (stderr %q) does not name %q", err, stderr.String(), tc.want)
			}
		})
	}
}
