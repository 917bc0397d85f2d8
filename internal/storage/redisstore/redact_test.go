package redisstore

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

// No error of Open and no log line shows the password of the URL, in
// user information or in a password parameter, whatever is wrong with it.
func TestOpenNeverShowsPassword(t *testing.T) {
	const pw = "s3cretpw"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	for i, url := range []string{
		"redis://:" + pw + "@" + refused + "/0",                    // refused
		"redis://u:" + pw + "@h:badport/0",                         // the URL does not parse
		"redis://u:" + pw + "%zz@h:1/0",                            // a bad escape in the password
		"redis://u:" + pw + "@h:1/x",                               // a bad database
		"redis+cluster://u:" + pw + "@h1:1,,h2:2",                  // an empty seed
		"redis+sentinel://:" + pw + "@s1:26379",                    // no master
		"redis://" + refused + "/0?password=" + pw,                 // the parameter form, refused
		"redis://" + refused + "/0?password=" + pw + "&bogus=1",    // an unknown option
		"redis+sentinel://" + refused + "/m?password=" + pw,        // the nodes' password, sentinels refused
		"redis://u:" + pw + "@" + refused + "/0?dial_timeout=soon", // a bad option value
		"http://u:" + pw + "@h:1/0",                                // the wrong scheme
	} {
		var logs bytes.Buffer
		cfg := Config{URL: url, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), DialTimeout: 200 * time.Millisecond}
		s, err := Open(t.Context(), cfg)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) = nil error", url)
			continue
		}
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("opening", "redis", cfg, "err", err)
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Open(%q) = %v, which shows the password", url, err)
		}
		if strings.Contains(logs.String(), pw) {
			t.Errorf("Open(%q) logged the password:\n%s", url, logs.String())
		}
		if i == 0 && !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("Open(%q) = %v, want ErrUnavailable through the redaction", url, err)
		}
	}
}
