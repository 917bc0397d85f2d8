package prodtest

import (
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/bearer"
)

// admin runs `wxauth admin args...` on the deployment's configuration
// (flags before the positional arguments) and returns its stdout.
func (d *deployment) admin(t *testing.T, args ...string) string {
	t.Helper()
	full := append([]string{"admin"}, args[:2]...)
	full = append(full, "--config", d.cfgPath)
	full = append(full, args[2:]...)
	cmd := exec.Command(wxauthBinary(t), full...)
	cmd.Env = slices.Clone(d.env)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wxauth %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
	return string(out)
}

// The admin CLI, on the database and Redis of running serve instances:
// it shows a user's identities and sessions, and a session it revokes is
// refused at once by an instance and, through the revocation push, by a
// resource server; revoking all ends the rest.
func TestAdminCLIReachesRunningInstances(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	d := newDeployment(t, pgSchema(t), redisURL)
	in := d.start(t)
	ctx := t.Context()
	v, err := bearer.New(bearer.Config{Issuer: "https://auth.prodtest.example", JWKSURL: in.URL + "/.well-known/jwks.json",
		RevocationsURL: in.URL + "/v1/revocations", ServiceKey: "prodtest-service-key-0123"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Start(ctx); err != nil {
		t.Fatalf("bearer Start: %v", err)
	}
	one, two := d.login(t, in, "alice"), d.login(t, in, "alice")
	uid := one.User.ID

	var acct api.AdminAccount
	if err := json.Unmarshal([]byte(d.admin(t, "user", "show", "--json", uid)), &acct); err != nil {
		t.Fatal(err)
	}
	if acct.User.ID != uid || len(acct.Identities) != 1 || acct.Identities[0].App != "mp" || len(acct.Sessions) != 2 {
		t.Fatalf("user show = %+v, want alice, one mp identity, two sessions", acct)
	}
	if out := d.admin(t, "user", "show", uid); !strings.Contains(out, one.SessionID) || !strings.Contains(out, "live sessions: 2") {
		t.Errorf("user show (text) = %q, want both sessions", out)
	}
	if out := d.admin(t, "user", "find", "--unionid", acct.Identities[0].UnionID); acct.Identities[0].UnionID == "" || !strings.Contains(out, uid) {
		t.Errorf("user find --unionid %q = %q, want %s", acct.Identities[0].UnionID, out, uid)
	}

	if out := d.admin(t, "user", "find", "--app", "mp", "--openid", acct.Identities[0].OpenID); !strings.Contains(out, uid) {
		t.Errorf("user find --app mp --openid = %q, want %s", out, uid)
	}

	d.admin(t, "session", "revoke", one.SessionID)
	revoked := time.Now()
	if r := d.do(ctx, "GET", in.URL+"/v1/me", "", one.AccessToken); r.Status != 401 || r.errorCode() != api.CodeSessionRevoked {
		t.Errorf("serve after `admin session revoke` = %d %s, want 401 session_revoked", r.Status, r.Body)
	}
	for {
		_, err := v.Verify(ctx, one.AccessToken)
		if errors.Is(err, bearer.ErrSessionRevoked) {
			break
		}
		if time.Since(revoked) > 5*time.Second {
			t.Fatalf("a resource server still accepts the token 5 s after the CLI revoked it (err %v)", err)
		}
		time.Sleep(time.Millisecond) // polling for the push, bounded above
	}
	if r := d.do(ctx, "GET", in.URL+"/v1/me", "", two.AccessToken); r.Status != 200 {
		t.Fatalf("the other session = %d %s, want 200", r.Status, r.Body)
	}

	var rev api.AdminRevoked
	if err := json.Unmarshal([]byte(d.admin(t, "user", "revoke", "--json", uid)), &rev); err != nil || rev.Revoked != 1 {
		t.Fatalf("user revoke = %+v, %v; want 1", rev, err)
	}
	if r := d.do(ctx, "GET", in.URL+"/v1/me", "", two.AccessToken); r.Status != 401 || r.errorCode() != api.CodeSessionRevoked {
		t.Errorf("serve after `admin user revoke` = %d %s, want 401 session_revoked", r.Status, r.Body)
	}

	// Merge bob into alice: bob's session is refused by serve at once, and
	// bob's next login lands on alice.
	bob := d.login(t, in, "bob")
	if out := d.admin(t, "user", "merge", uid, bob.User.ID); !strings.Contains(out, "1 session(s)") {
		t.Errorf("user merge = %q, want one session ended", out)
	}
	if r := d.do(ctx, "GET", in.URL+"/v1/me", "", bob.AccessToken); r.Status != 401 || r.errorCode() != api.CodeSessionRevoked {
		t.Errorf("serve after `admin user merge` = %d %s, want 401 session_revoked", r.Status, r.Body)
	}
	again := d.login(t, in, "bob")
	if again.User.ID != uid {
		t.Errorf("bob's login after the merge = user %s, want %s", again.User.ID, uid)
	}

	// Disable: serve refuses the session and the next login; enable lets it
	// back; delete needs --yes, then the next login makes a new user.
	d.admin(t, "user", "disable", uid)
	if r := d.do(ctx, "GET", in.URL+"/v1/me", "", again.AccessToken); r.Status != 401 || r.errorCode() != api.CodeSessionRevoked {
		t.Errorf("serve after `admin user disable` = %d %s, want 401 session_revoked", r.Status, r.Body)
	}
	code, err := d.sb.IssueCode(d.mpAppID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if r := d.do(ctx, "POST", in.URL+"/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`, ""); r.Status != 403 || r.errorCode() != api.CodeUserDisabled {
		t.Errorf("login of a disabled user = %d %s, want 403 user_disabled", r.Status, r.Body)
	}
	d.admin(t, "user", "enable", uid)
	if l := d.login(t, in, "alice"); l.User.ID != uid {
		t.Errorf("login after enable = user %s, want %s", l.User.ID, uid)
	}
	cmd := exec.Command(wxauthBinary(t), "admin", "user", "delete", "--config", d.cfgPath, uid)
	cmd.Env = slices.Clone(d.env)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "--yes") {
		t.Errorf("user delete without --yes = %v %q, want a refusal naming --yes", err, out)
	}
	d.admin(t, "user", "delete", "--yes", uid)
	if l := d.login(t, in, "alice"); l.User.ID == uid || !l.IsNewUser {
		t.Errorf("login after delete = user %s (new %v), want a new user", l.User.ID, l.IsNewUser)
	}
}
