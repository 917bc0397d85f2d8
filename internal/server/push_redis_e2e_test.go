package server_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// Two instances on one Redis handle a scan once: WeChat's retry (or a
// replay) landing on the other instance, many times at once, is answered
// success and reaches no hook.
func TestFollowScanOnceAcrossInstances(t *testing.T) {
	redisURL := os.Getenv("WXAUTH_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("WXAUTH_TEST_REDIS_URL is not set: the shared dedupe needs a real Redis")
	}
	shared := servertest.Configure(func(c *config.Config) { c.RedisURL = redisURL })
	ha, hb := &scanHook{}, &scanHook{}
	a := servertest.New(t, servertest.PushHook(ha.hook), shared)
	b := servertest.New(t, servertest.PushHook(hb.hook), shared)
	// A user of this run only: Redis outlives the run, the fake clock
	// repeats CreateTime.
	user := fmt.Sprintf("u%x", rand.Text()[:12])
	if _, err := a.Sandbox.AddUser(user); err != nil {
		t.Fatal(err)
	}
	pushes := capturePushes(t, a)
	followQR(t, a, "Shared1")
	if status, res := scan(t, a, user, "Shared1"); status != 200 || !res.Delivered {
		t.Fatalf("scan = %d %+v", status, res)
	}
	p := pushes()[0]
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body := postPush(t, b, "oa", p.query.Encode(), p.body); status != 200 || string(body) != "success" {
				t.Errorf("the push on B = %d %q", status, body)
			}
		}()
	}
	wg.Wait()
	if na, nb := len(ha.got()), len(hb.got()); na != 1 || nb != 0 {
		t.Fatalf("hook calls A %d, B %d; want 1 and 0", na, nb)
	}
}
