// Command wxauth is the WeChat login and session service.
//
//	wxauth dev      [--addr 127.0.0.1:8080] [--data ./wxauth-data] [--config wxauth.yaml]
//	wxauth serve    --config wxauth.yaml
//	wxauth sandbox  [--addr 127.0.0.1:9090] [--config wxauth.yaml]
//	wxauth migrate  --config wxauth.yaml
//	wxauth keys     rotate|list --config wxauth.yaml
//	wxauth healthcheck [--url http://127.0.0.1:8080/healthz]
//	wxauth version
//
// See README.md and docs/configuration.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/redact"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
)

const usage = `wxauth — WeChat login and sessions

Usage:
  wxauth dev      [--addr 127.0.0.1:8080] [--data ./wxauth-data] [--config wxauth.yaml]
        everything on one port, no outside service: the WeChat sandbox,
        apps mp/oa/web, SQLite and an in-process session store
  wxauth serve    --config wxauth.yaml [--migrate] [--check-config]
        production mode, from a configuration file and WXAUTH_* variables
        (--check-config: validate them, open nothing, exit)
  wxauth migrate  --config wxauth.yaml
        bring the database schema up to date
  wxauth keys     rotate|list --config wxauth.yaml
        add a signing key (it signs after every instance has loaded it), or list them
  wxauth admin    user find|show|revoke|disable|enable|merge|delete, session revoke --config wxauth.yaml
        find users, show their identities and sessions, end sessions, disable, merge, delete (audited)
  wxauth sandbox  [--addr 127.0.0.1:9090] [--config wxauth.yaml]
        the WeChat imitation alone
  wxauth healthcheck [--url http://127.0.0.1:8080/healthz]
        exit 0 if the URL answers 200, else 1 (a container's HEALTHCHECK)
  wxauth version
        print the version

Run "wxauth <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, config.EnvFrom(os.Environ())); err != nil {
		if errors.Is(err, errUnhealthy) {
			os.Exit(1)
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "wxauth:", err)
		}
		os.Exit(2)
	}
}

var errUsage = errors.New("usage")

// run is main without the process: tests call it with their own arguments,
// output and environment.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	err := dispatch(ctx, args, stdout, stderr, env)
	if errors.Is(err, errHelp) {
		return nil
	}
	// The last guard: whatever a driver put in an error, no password of a
	// connection string reaches the terminal.
	return redact.Error(explain(err))
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr, env)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, env)
	case "sandbox":
		return runSandbox(ctx, args[1:], stdout, stderr, env)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr, env)
	case "keys":
		return runKeys(ctx, args[1:], stdout, stderr, env)
	case "admin":
		return runAdmin(ctx, args[1:], stdout, stderr, env)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], stdout, stderr, env)
	case "version", "--version":
		fmt.Fprintln(stdout, "wxauth", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "wxauth: unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}

// explain adds to an error what the operator should do about it.
func explain(err error) error {
	if errors.Is(err, sqlstore.ErrNotMigrated) {
		return fmt.Errorf("%w: run `wxauth migrate` (or `serve --migrate`)", err)
	}
	if errors.Is(err, sqlstore.ErrProductionDatabase) {
		return fmt.Errorf("%w: `wxauth dev` never opens it; unset WXAUTH_DATABASE_URL (dev keeps SQLite in its data folder) or point it at a development database", err)
	}
	return err
}
