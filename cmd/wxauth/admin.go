package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/keyring"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
)

// adminConfig reads and validates the configuration of an admin command.
func adminConfig(name string, args []string, stderr io.Writer, getenv func(string) (string, bool)) (config.Config, []string, error) {
	fs := flag.NewFlagSet("wxauth "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (YAML); WXAUTH_* variables override it")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, nil, errUsage
	}
	cfg, err := loadConfig(*path, getenv)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, fs.Args(), cfg.Validate(true)
}

// runMigrate is `wxauth migrate`: the schema up to date, then exit. Safe to
// run from several places at once (the migration takes a database lock).
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) (string, bool)) error {
	cfg, _, err := adminConfig("migrate", args, stderr, getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Level())
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DatabaseURL, Logger: log, Migrate: true})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "database schema is up to date")
	return db.Close()
}

// runKeys is `wxauth keys rotate|list`.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) (string, bool)) error {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		fmt.Fprintln(stderr, "usage: wxauth keys rotate|list --config wxauth.yaml")
		return errUsage
	}
	cfg, _, err := adminConfig("keys "+args[0], args[1:], stderr, getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Level())
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DatabaseURL, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	box, err := seal.New([]byte(cfg.Secret), nil)
	if err != nil {
		return err
	}
	ring, err := keyring.Open(ctx, keyring.Config{Store: db, Seal: box, AccessTTL: cfg.Tokens.AccessTTL.D(),
		Reload: cfg.KeyReload.D(), Logger: log})
	if err != nil {
		return err
	}
	if args[0] == "rotate" {
		k, activeAt, err := ring.Rotate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added key %s; instances sign with it from %s (after they have all loaded it)\n", k.ID, activeAt.Format(time.RFC3339))
	}
	keys, err := db.SigningKeys(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-44s  %-20s  %s\n", "kid", "active from", "signing now")
	for _, k := range keys {
		fmt.Fprintf(stdout, "%-44s  %-20s  %v\n", k.ID, k.ActiveAt.Format(time.RFC3339), k.ID == ring.Current().ID)
	}
	return nil
}
