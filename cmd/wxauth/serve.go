package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/demo"
	"github.com/wxauth/wxauth/internal/instance"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
	"github.com/wxauth/wxauth/sandbox"
)

// loadConfig is the defaults, then the file at path (if any), then the
// WXAUTH_* variables; the problems of both come back together.
// Validation is the caller's, as the modes differ.
func loadConfig(path string, env config.Env) (config.Config, error) {
	cfg := config.Defaults()
	var fileErr error
	if path != "" {
		fileErr = cfg.ParseFile(path)
	}
	envErr := cfg.ApplyEnv(env)
	var fp, ep config.Problems
	if errors.As(fileErr, &fp) && (envErr == nil || errors.As(envErr, &ep)) {
		return cfg, append(fp, ep...)
	}
	if fileErr != nil {
		return cfg, fileErr
	}
	return cfg, envErr
}

// runDev is `wxauth dev` (docs/configuration.md "wxauth dev").
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	fs := newCommand("dev", "wxauth dev [--addr 127.0.0.1:8080] [--data ./wxauth-data] [--config wxauth.yaml]")
	addr := fs.String("addr", "", "listen address (default 127.0.0.1:8080, or WXAUTH_ADDR)")
	data := fs.String("data", "wxauth-data", "data folder: SQLite database, signing key, secret")
	// Optional: what env cannot say (oidc.clients, service_keys, apps);
	// whatever it leaves out dev fills in as without it.
	path := fs.String("config", "", "configuration file (YAML), optional; WXAUTH_* variables override it")
	if err := fs.parse(args, 0, stdout, stderr); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, env)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if err := checkLoopback(cfg.Addr); err != nil {
		return err
	}
	if cfg.Secret == "" {
		s, err := config.LoadOrCreateSecret(filepath.Join(*data, "secret"))
		if err != nil {
			return err
		}
		cfg.Secret = s
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	origin := "http://" + ln.Addr().String()
	cfg.Addr = ln.Addr().String()
	cfg.FillDev(origin, *data)
	if err := cfg.Validate(false); err != nil {
		ln.Close()
		return err
	}
	log := newLogger(stderr, &cfg)
	tr, stopTracing, err := startTracing(ctx, env, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopTracing()
	// The sandbox is WeChat for this process: its apps have this host as a
	// registered domain, and this origin and those of the redirects the
	// developer allowed (ports WeChat would refuse) are its dev allowance
	// (docs/sandbox.md).
	var own []string
	if h := ln.Addr().(*net.TCPAddr).IP.String(); !strings.Contains(h, ":") { // an IPv6 address is no domain
		own = append(own, h)
	}
	sb, err := sandbox.New(sandbox.Config{Apps: withPushes(sandboxApps(cfg.Apps, own...), cfg.Apps, origin), DevOrigins: devOrigins(origin, cfg.Redirects),
		Logger: log.With("component", "sandbox")})
	if err != nil {
		ln.Close()
		return err
	}
	inst, err := instance.New(ctx, &cfg, instance.Options{
		KeyFile:      filepath.Join(*data, "signing-key.json"),
		Migrate:      true,
		DatabaseMode: sqlstore.ModeDev,
		MetricsOnAPI: true,
		Mount:        map[string]http.Handler{"/sandbox/": sb, "/demo/": demo.Handler()},
		DeliverSMS:   sb.DeliverSMS,
		Tracing:      tr,
		Logger:       log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		if err := inst.Close(); err != nil {
			log.Error("closing", "err", err)
		}
	}()
	log.Info("wxauth dev started", "config", &cfg, "data", *data)
	printDevBanner(stdout, origin, *data, cfg)
	return serveHTTP(ctx, ln, inst.Handler, log, stopping{Timeout: cfg.ShutdownTimeout.D(), Drain: inst.API.Drain, OnShutdown: inst.API.EndStreams})
}

// checkLoopback refuses a listen address other than a loopback one: `wxauth
// dev` serves the sandbox (logins as anyone, the SMS inbox) and must not be
// reachable from another machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("dev: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("dev: refusing to listen on %q: `wxauth dev` serves the WeChat sandbox (anyone can log in as any user and read the SMS inbox), so it listens only on a loopback address (127.0.0.1, ::1, localhost); use `wxauth serve` to serve other machines", addr)
}

// runServe is `wxauth serve --config FILE` (docs/configuration.md).
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	fs := newCommand("serve", "wxauth serve --config wxauth.yaml [--migrate] [--check-config]")
	path := fs.String("config", "", "configuration file (YAML), required; WXAUTH_* variables override it")
	migrate := fs.Bool("migrate", false, "run the database migrations before serving (else run `wxauth migrate` first)")
	check := fs.Bool("check-config", false, "check the configuration and the WXAUTH_* variables as serve would, open nothing, and exit")
	if err := fs.parse(args, 0, stdout, stderr); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("serve: --config is required: the YAML file of your apps and stores (docs/configuration.md)")
	}
	cfg, err := loadConfig(*path, env)
	if err != nil {
		return err
	}
	if err := cfg.Validate(true); err != nil {
		return err
	}
	// Against WeChat itself: refuse redirects WeChat would never return to.
	if err := cfg.CheckWeChatDomains(); err != nil {
		return err
	}
	if *check {
		fmt.Fprintf(stdout, "configuration OK: %s (%d apps, issuer %s)\n", *path, len(cfg.Apps), cfg.Issuer)
		return nil
	}
	log := newLogger(stderr, &cfg)
	tr, stopTracing, err := startTracing(ctx, env, log)
	if err != nil {
		return err
	}
	defer stopTracing()
	inst, err := instance.New(ctx, &cfg, instance.Options{Migrate: *migrate, DatabaseMode: sqlstore.ModeProduction, Tracing: tr, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		if err := inst.Close(); err != nil {
			log.Error("closing", "err", err)
		}
	}()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	stop := stopping{Delay: cfg.ShutdownDelay.D(), Timeout: cfg.ShutdownTimeout.D(), Drain: inst.API.Drain, OnShutdown: inst.API.EndStreams}
	if cfg.MetricsOff() {
		log.Info("wxauth serve started", "config", &cfg)
		fmt.Fprintf(stdout, "wxauth serving on http://%s (issuer %s), metrics off\n", ln.Addr(), cfg.Issuer)
		return serveHTTP(ctx, ln, inst.Handler, log, stop)
	}
	// The metrics on a listener of their own: never on the public port.
	mln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen on metrics_addr: %w", err)
	}
	metrics := http.NewServeMux()
	metrics.Handle("GET /metrics", inst.Metrics.Handler())
	log.Info("wxauth serve started", "config", &cfg, "metrics", "http://"+mln.Addr().String()+"/metrics")
	fmt.Fprintf(stdout, "wxauth serving on http://%s (issuer %s), metrics on http://%s/metrics\n", ln.Addr(), cfg.Issuer, mln.Addr())
	// The metrics stay up while the API drains, and stop after it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mctx, mcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer mcancel()
	merr := make(chan error, 1)
	go func() {
		err := serveHTTP(mctx, mln, metrics, log.With("listener", "metrics"), stopping{Timeout: cfg.ShutdownTimeout.D()})
		cancel() // one listener failing stops the other
		merr <- err
	}()
	err = serveHTTP(ctx, ln, inst.Handler, log, stop)
	mcancel()
	return errors.Join(err, <-merr)
}

// runSandbox is `wxauth sandbox`: the WeChat imitation alone, with the apps
// of a configuration file (their secrets included) or the dev apps.
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	fs := newCommand("sandbox", "wxauth sandbox [--addr 127.0.0.1:9090] [--config wxauth.yaml]")
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	path := fs.String("config", "", "configuration file whose apps to register (default: the dev apps mp, oa, web)")
	devOrigins := fs.String("dev-origins", "", "comma-separated origins (http://127.0.0.1:8080) every official_account and website app may return to, port included; WeChat has no such allowance")
	if err := fs.parse(args, 0, stdout, stderr); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, env)
	if err != nil {
		return err
	}
	if len(cfg.Apps) == 0 {
		cfg.Apps = config.DevApps()
	}
	log := newLogger(stderr, &cfg)
	var origins []string
	for _, o := range strings.Split(*devOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	sb, err := sandbox.New(sandbox.Config{Apps: sandboxApps(cfg.Apps), DevOrigins: origins, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "WeChat sandbox on %s\n  api.weixin.qq.com  → %s/sandbox/api\n  open.weixin.qq.com → %s/sandbox/open\n  control API        → %s/sandbox/v1\n", base, base, base, base)
	return serveHTTP(ctx, ln, sb, log, stopping{Timeout: cfg.ShutdownTimeout.D()})
}

// devOrigins are the origins `wxauth dev`'s sandbox lets every app return
// to: the server's own and those of its redirects.
func devOrigins(origin string, redirects []string) []string {
	out := []string{origin}
	for _, r := range redirects {
		if u, err := url.Parse(r); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			if o := u.Scheme + "://" + u.Host; !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

// sandboxApps registers apps with the sandbox as on WeChat: an
// official_account or website app with its domains, plus extra (the dev
// server's own host).
func sandboxApps(apps []config.App, extra ...string) []sandbox.App {
	out := make([]sandbox.App, len(apps))
	for i, a := range apps {
		out[i] = sandbox.App{Name: a.Name, Kind: a.Kind, AppID: a.AppID, Secret: a.Secret}
		if a.Kind == sandbox.KindOfficialAccount || a.Kind == sandbox.KindWebsite {
			out[i].Domains = append(slices.Clone(a.Domains), extra...)
		}
	}
	return out
}
