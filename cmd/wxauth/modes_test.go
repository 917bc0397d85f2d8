package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to create a test schema

	"github.com/wxauth/wxauth/internal/config"
)

// startServe runs `wxauth serve` in process with the configuration file
// path and environment env (WXAUTH_ADDR and WXAUTH_METRICS_ADDR default to
// free loopback ports), and returns its origin, the URL of its metrics
// ("" when off) and a stop function that waits for a clean shutdown.
func startServe(t *testing.T, path string, env map[string]string, args ...string) (origin, metrics string, stop func()) {
	t.Helper()
	full := map[string]string{"WXAUTH_ADDR": "127.0.0.1:0", "WXAUTH_METRICS_ADDR": "127.0.0.1:0"}
	for k, v := range env {
		full[k] = v
	}
	return startServeTo(t, path, full, io.Discard, args...)
}

// startServeTo is startServe with the environment as given and the log
// written to stderr.
func startServeTo(t *testing.T, path string, full map[string]string, stderr io.Writer, args ...string) (origin, metrics string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--config", path}, args...), pw, stderr, config.Env(full))
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "wxauth serving on "); ok {
			origin = strings.Fields(rest)[0]
			if _, m, ok := strings.Cut(rest, "metrics on "); ok {
				metrics = m
			}
			break
		}
	}
	if origin == "" {
		cancel()
		t.Fatalf("wxauth serve did not start: %v", <-done)
	}
	go io.Copy(io.Discard, pr)
	return origin, metrics, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("wxauth serve stopped with %v", err)
		}
	}
}

// serveConfig is the least a `wxauth serve` needs in its file: one app.
func serveConfig(t *testing.T) string {
	t.Helper()
	return writeFile(t, "apps:\n  - {name: mp, kind: miniprogram, appid: wx1234567890abcdef}\n")
}

// serveEnv is the rest, on the database db.
func serveEnv(db string) map[string]string {
	return map[string]string{"WXAUTH_ISSUER": "https://auth.example.com", "WXAUTH_SECRET": strings.Repeat("s", 32),
		"WXAUTH_APP_MP_SECRET": "mp-secret", "WXAUTH_DATABASE_URL": db}
}

// `wxauth dev` serves the sandbox (log in as anyone, read the SMS inbox):
// it listens on loopback only.
func TestDevRefusesNonLoopbackAddress(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--addr", "0.0.0.0:0"}, nil},
		{[]string{"--addr", ":0"}, nil},
		{[]string{"--addr", "[::]:0"}, nil},
		{[]string{"--addr", "192.0.2.1:0"}, nil},
		{[]string{"--addr", "example.com:0"}, nil},
		{[]string{"--addr", "[::ffff:192.0.2.1]:0"}, nil},
		{nil, map[string]string{"WXAUTH_ADDR": "0.0.0.0:8080"}},
	} {
		t.Run(strings.Join(tc.args, " ")+tc.env["WXAUTH_ADDR"], func(t *testing.T) {
			data := t.TempDir()
			err := run(t.Context(), append([]string{"dev", "--data", data}, tc.args...), io.Discard, io.Discard, config.Env(tc.env))
			if err == nil || !strings.Contains(err.Error(), "loopback") {
				t.Fatalf("wxauth dev %v (env %v) = %v, want a refusal naming loopback", tc.args, tc.env, err)
			}
			if entries, _ := os.ReadDir(data); len(entries) != 0 {
				t.Errorf("the refused dev wrote %d files into its data folder", len(entries))
			}
		})
	}
	for _, addr := range []string{"127.0.0.1:0", "127.0.0.2:0", "localhost:0", "[::ffff:127.0.0.1]:0"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("checkLoopback(%q) = %v, want nil", addr, err)
		}
	}
	if err := checkLoopback("[::1]:0"); err != nil {
		t.Errorf("checkLoopback([::1]:0) = %v, want nil", err)
	}
}

// A database that `wxauth migrate` or `wxauth serve` initialised is
// production's: `wxauth dev` pointed at it stops and says why, before it
// migrates or serves anything.
func TestDevRefusesProductionDatabase(t *testing.T) {
	refused := func(t *testing.T, db string) {
		t.Helper()
		err := run(t.Context(), []string{"dev", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, io.Discard, io.Discard,
			config.Env{"WXAUTH_DATABASE_URL": db})
		if err == nil {
			t.Fatal("wxauth dev started on a production database")
		}
		for _, want := range []string{"production", "WXAUTH_DATABASE_URL"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("wxauth dev = %v, which does not say %q", err, want)
			}
		}
	}
	t.Run("migrate", func(t *testing.T) {
		db := "sqlite:" + filepath.Join(t.TempDir(), "prod.db")
		if err := run(t.Context(), []string{"migrate", "--config", emptyFile(t)}, io.Discard, io.Discard,
			config.Env{"WXAUTH_DATABASE_URL": db}); err != nil {
			t.Fatal(err)
		}
		refused(t, db)
	})
	t.Run("serve", func(t *testing.T) {
		db := "sqlite:" + filepath.Join(t.TempDir(), "prod.db")
		_, _, stop := startServe(t, serveConfig(t), serveEnv(db), "--migrate")
		stop()
		refused(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db := postgresSchema(t)
		if err := run(t.Context(), []string{"migrate", "--config", emptyFile(t)}, io.Discard, io.Discard,
			config.Env{"WXAUTH_DATABASE_URL": db}); err != nil {
			t.Fatal(err)
		}
		refused(t, db)
	})
	// A dev database stays usable by dev.
	data := t.TempDir()
	_, stop := startDev(t, data, nil)
	stop()
	_, stop = startDev(t, data, nil)
	stop()
}

// `wxauth serve` mounts neither the sandbox (its control API, SMS inbox,
// WeChat's pages) nor the demo: every such path is a 404.
func TestServeHasNoSandbox(t *testing.T) {
	origin, _, stop := startServe(t, serveConfig(t), serveEnv("sqlite:"+filepath.Join(t.TempDir(), "db")), "--migrate")
	defer stop()
	for _, p := range []string{
		"/sandbox/", "/sandbox/v1/sms", "/sandbox/v1/sms?phone=%2B8613800000000", "/sandbox/v1/miniprogram/code",
		"/sandbox/v1/users", "/sandbox/api/sns/jscode2session", "/sandbox/open/connect/oauth2/authorize", "/demo/",
	} {
		for _, method := range []string{"GET", "POST"} {
			if status, b := call(t, method, origin+p, "{}", ""); status != 404 {
				t.Errorf("serve: %s %s = %d %.200s, want 404", method, p, status, b)
			}
		}
	}
}

// postgresSchema is a fresh schema on WXAUTH_TEST_POSTGRES_URL, dropped at
// the end of t; it skips t when the variable is not set.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("WXAUTH_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("WXAUTH_TEST_POSTGRES_URL is not set: skipping the PostgreSQL test")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema := "wxauth_cmdtest_" + strings.ToLower(rand.Text()[:12])
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// `wxauth serve` answers /metrics on metrics_addr only, never on the public
// port; metrics_addr off serves them nowhere. `wxauth dev` keeps them on
// its one port.
func TestServeMetricsOffThePublicPort(t *testing.T) {
	origin, metrics, stop := startServe(t, serveConfig(t), serveEnv("sqlite:"+filepath.Join(t.TempDir(), "db")), "--migrate")
	defer stop()
	if metrics == "" || strings.HasPrefix(metrics, origin) {
		t.Fatalf("metrics at %q, want a listener other than %s", metrics, origin)
	}
	if status, b := get(t, origin+"/healthz", ""); status != 200 {
		t.Fatalf("GET /healthz = %d %s", status, b)
	}
	for _, method := range []string{"GET", "HEAD", "POST"} {
		if status, b := call(t, method, origin+"/metrics", "", ""); status != 404 {
			t.Errorf("%s /metrics on the API port = %d %.200s, want 404", method, status, b)
		}
	}
	status, b := get(t, metrics, "")
	if status != 200 || !strings.Contains(string(b), `wxauth_http_requests_total{route="GET /healthz",status="200"} 1`) {
		t.Errorf("GET %s = %d, want the metrics counting the API's requests:\n%.2000s", metrics, status, b)
	}
	// The metrics listener serves nothing else.
	base := strings.TrimSuffix(metrics, "/metrics")
	for _, p := range []string{"/healthz", "/v1/", "/"} {
		if status, _ := get(t, base+p, ""); status != 404 {
			t.Errorf("GET %s on the metrics listener = %d, want 404", p, status)
		}
	}

	t.Run("off", func(t *testing.T) {
		for _, off := range []string{"off", ""} {
			env := serveEnv("sqlite:" + filepath.Join(t.TempDir(), "db"))
			env["WXAUTH_METRICS_ADDR"] = off
			origin, metrics, stop := startServe(t, serveConfig(t), env, "--migrate")
			if metrics != "" {
				t.Errorf("metrics_addr %q: metrics on %q", off, metrics)
			}
			if status, _ := get(t, origin+"/metrics", ""); status != 404 {
				t.Errorf("metrics_addr %q: GET /metrics on the API port = %d, want 404", off, status)
			}
			stop()
		}
	})
	t.Run("dev", func(t *testing.T) {
		origin, stop := startDev(t, t.TempDir(), nil)
		defer stop()
		if status, b := get(t, origin+"/metrics", ""); status != 200 || !strings.Contains(string(b), "wxauth_") {
			t.Errorf("dev: GET /metrics = %d %.200s, want the metrics", status, b)
		}
	})
}
