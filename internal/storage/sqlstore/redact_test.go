package sqlstore_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
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
		"postgres://u:" + pw + "@" + refused + "/db?sslmode=disable",                // refused
		"postgres://u@" + refused + "/db?sslmode=disable&password=" + pw,            // the parameter form, refused
		"postgresql://u:" + pw + "@h:badport/db",                                    // the URL does not parse
		"postgres://u:" + pw + "%zz@h/db",                                           // a bad escape in the password
		"postgres://u:" + pw + "@h/db?sslmode=bogus",                                // a bad parameter
		"postgres://u:" + pw + "@h/db?pool_max_conns=many",                          // a bad pool size
		"postgres://u@h/db?sslpassword=" + pw + "&sslmode=verify-full&sslkey=/nope", // a key file that is not there
		"mysql://u:" + pw + "@h/db",                                                 // the wrong scheme
	} {
		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, nil))
		cfg := sqlstore.Config{URL: url, Logger: log, Migrate: true}
		s, err := sqlstore.Open(t.Context(), cfg)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) = nil error", url)
			continue
		}
		log.Info("opening", "database", cfg, "err", err)
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Open(%q) = %v, which shows the password", url, err)
		}
		if strings.Contains(logs.String(), pw) {
			t.Errorf("Open(%q) logged the password:\n%s", url, logs.String())
		}
		if i < 2 && !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("Open(%q) = %v, want ErrUnavailable through the redaction", url, err)
		}
	}
}
