package prodtest

import (
	"errors"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/bearer"
)

// A logout on instance A is refused by instance B at its next request, and
// by a resource server using package bearer (subscribed to B's revocation
// push) within a second, with no per-request call to wxauth.
func TestRevocationReachesInstancesAndResourceServers(t *testing.T) {
	redisURL := needEnv(t, "WXAUTH_TEST_REDIS_URL")
	d := newDeployment(t, pgSchema(t), redisURL)
	a, b := d.start(t), d.start(t)
	ctx := t.Context()
	v, err := bearer.New(bearer.Config{
		Issuer:         "https://auth.prodtest.example",
		JWKSURL:        b.URL + "/.well-known/jwks.json",
		RevocationsURL: b.URL + "/v1/revocations",
		ServiceKey:     "prodtest-service-key-0123",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Start(ctx); err != nil {
		t.Fatalf("bearer Start: %v", err)
	}
	var worst time.Duration
	for i := range 10 {
		l := d.login(t, a, []string{"alice", "bob"}[i%2])
		if _, err := v.Verify(ctx, l.AccessToken); err != nil {
			t.Fatalf("bearer refuses a fresh token: %v", err)
		}
		if r := d.do(ctx, "POST", a.URL+"/v1/logout", "{}", l.AccessToken); r.Status != 204 {
			t.Fatalf("logout on A = %d", r.Status)
		}
		loggedOut := time.Now()
		if r := d.do(ctx, "GET", b.URL+"/v1/me", "", l.AccessToken); r.Status != 401 || r.errorCode() != api.CodeSessionRevoked {
			t.Errorf("B after logout on A = %d %s", r.Status, r.Body)
		}
		for {
			_, err := v.Verify(ctx, l.AccessToken)
			if errors.Is(err, bearer.ErrSessionRevoked) {
				break
			}
			if time.Since(loggedOut) > 5*time.Second {
				t.Fatalf("bearer still accepts the token 5 s after logout (err %v)", err)
			}
			time.Sleep(time.Millisecond) // polling for the push, bounded above
		}
		worst = max(worst, time.Since(loggedOut))
	}
	t.Logf("logout on A → refused by a bearer service subscribed to B: worst of 10 = %v", worst.Round(time.Microsecond))
	if worst > time.Second {
		t.Errorf("propagation took %v, want within 1 s", worst)
	}
}
