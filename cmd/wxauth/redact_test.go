package main

import (
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/internal/config"
)

// syncBuilder is a strings.Builder safe for the logger's goroutines.
type syncBuilder struct {
	mu chan struct{}
	b  strings.Builder
}

func newSyncBuilder() *syncBuilder { return &syncBuilder{mu: make(chan struct{}, 1)} }

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

// No connection-string password reaches the terminal: not in the error a
// command stops with, not in any log line (JSON or text), whatever is
// wrong with the URL.
func TestCommandsNeverShowPasswords(t *testing.T) {
	const pw = "s3cretpw"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	sqlite := "sqlite:" + t.TempDir() + "/db"
	cases := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"serve, postgres refused", []string{"serve", "--config", serveConfig(t)},
			map[string]string{"WXAUTH_DATABASE_URL": "postgres://u:" + pw + "@" + refused + "/db?sslmode=disable"}},
		{"serve, postgres password parameter", []string{"serve", "--config", serveConfig(t)},
			map[string]string{"WXAUTH_DATABASE_URL": "postgres://u@" + refused + "/db?sslmode=disable&password=" + pw}},
		{"serve, postgres URL that does not parse", []string{"serve", "--config", serveConfig(t)},
			map[string]string{"WXAUTH_DATABASE_URL": "postgres://u:" + pw + "@h:badport/db"}},
		{"serve, redis refused", []string{"serve", "--config", serveConfig(t), "--migrate"},
			map[string]string{"WXAUTH_DATABASE_URL": sqlite, "WXAUTH_REDIS_URL": "redis://:" + pw + "@" + refused + "/0"}},
		{"serve, redis URL that does not parse", []string{"serve", "--config", serveConfig(t), "--migrate"},
			map[string]string{"WXAUTH_DATABASE_URL": sqlite, "WXAUTH_REDIS_URL": "redis://u:" + pw + "@h:badport/0"}},
		{"serve, redis cluster refused", []string{"serve", "--config", serveConfig(t), "--migrate"},
			map[string]string{"WXAUTH_DATABASE_URL": sqlite, "WXAUTH_REDIS_URL": "redis+cluster://u:" + pw + "@" + refused + "," + refused}},
		{"migrate, postgres refused", []string{"migrate", "--config", emptyFile(t)},
			map[string]string{"WXAUTH_DATABASE_URL": "postgres://u:" + pw + "@" + refused + "/db?sslmode=disable"}},
		{"keys, bad escape", []string{"keys", "list", "--config", emptyFile(t)},
			map[string]string{"WXAUTH_DATABASE_URL": "postgres://u:" + pw + "%zz@h/db"}},
		{"dev, postgres refused", []string{"dev", "--addr", "127.0.0.1:0", "--data", t.TempDir()},
			map[string]string{"WXAUTH_DATABASE_URL": "postgres://u:" + pw + "@" + refused + "/db?sslmode=disable"}},
	}
	for _, tc := range cases {
		for _, format := range []string{"json", "text"} {
			t.Run(tc.name+" "+format, func(t *testing.T) {
				env := serveEnv("")
				env["WXAUTH_METRICS_ADDR"] = "off"
				env["WXAUTH_ADDR"] = "127.0.0.1:0"
				env["WXAUTH_LOG_FORMAT"] = format
				for k, v := range tc.env {
					env[k] = v
				}
				stderr := newSyncBuilder()
				err := run(t.Context(), tc.args, io.Discard, stderr, config.Env(env))
				if err == nil {
					t.Fatal("the command succeeded")
				}
				if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), url.QueryEscape(pw)) {
					t.Errorf("error %q shows the password", err)
				}
				if strings.Contains(stderr.String(), pw) {
					t.Errorf("the log shows the password:\n%s", stderr.String())
				}
			})
		}
	}
}

// A server that starts logs its configuration, the connection strings
// with their passwords masked.
func TestServeLogsConfigurationRedacted(t *testing.T) {
	const pw = "s3cretpw"
	db := postgresSchema(t) // trust authentication: the password is never asked for
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	env := serveEnv(u.String())
	env["WXAUTH_LOG_FORMAT"] = "json"
	stderr := newSyncBuilder()
	full := map[string]string{"WXAUTH_ADDR": "127.0.0.1:0", "WXAUTH_METRICS_ADDR": "off"}
	for k, v := range env {
		full[k] = v
	}
	origin, _, stop := startServeTo(t, serveConfig(t), full, stderr, "--migrate")
	if status, _ := get(t, origin+"/healthz", ""); status != 200 {
		t.Errorf("GET /healthz = %d", status)
	}
	stop()
	logs := stderr.String()
	if strings.Contains(logs, pw) {
		t.Errorf("the log shows the password:\n%s", logs)
	}
	if !strings.Contains(logs, `:***@`) {
		t.Errorf("the log does not show the database URL masked:\n%s", logs)
	}
}
