package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/wxauth/wxauth/internal/config"
)

// version is the release, set by scripts/build.sh (-X main.version=…);
// empty: the module version `go install …@v1.2.3` recorded, or "devel".
var version string

// errUnhealthy makes the process exit 1, the status Docker's HEALTHCHECK
// reads as unhealthy (2 is reserved there).
var errUnhealthy = errors.New("unhealthy")

// runHealthcheck is `wxauth healthcheck`: GET the health URL, exit 0 on
// 200 and 1 otherwise. Images without a shell or curl (distroless,
// scratch) run it as their HEALTHCHECK.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	fs := newCommand("healthcheck", "wxauth healthcheck [--url http://127.0.0.1:8080/healthz]")
	url := fs.String("url", "", "the URL to check (default: /healthz on the port of WXAUTH_ADDR, else 8080, on 127.0.0.1)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.parse(args, 0, stdout, stderr); err != nil {
		return err
	}
	if *url == "" {
		port := "8080"
		if addr, ok := env.Lookup("WXAUTH_ADDR"); ok {
			if _, p, err := net.SplitHostPort(addr); err == nil && p != "0" {
				port = p
			}
		}
		*url = "http://127.0.0.1:" + port + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "wxauth: healthcheck: %v\n", err)
		return errUnhealthy
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "wxauth: healthcheck: GET %s: %s\n", *url, resp.Status)
		return errUnhealthy
	}
	fmt.Fprintf(stdout, "healthy: GET %s: %s\n", *url, resp.Status)
	return nil
}

// versionString is the version this binary reports.
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
