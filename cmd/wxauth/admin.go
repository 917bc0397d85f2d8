package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/keyring"
	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
)

// adminConfig reads the configuration of an admin command and checks only
// the keys it uses: a database to migrate needs no app secrets.
func adminConfig(fs command, args []string, stdout, stderr io.Writer, env config.Env, keys ...string) (config.Config, error) {
	path := fs.String("config", "", "configuration file (YAML); WXAUTH_* variables override it")
	if err := fs.parse(args, 0, stdout, stderr); err != nil {
		return config.Config{}, err
	}
	cfg, err := loadConfig(*path, env)
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.ValidateOnly(keys...)
}

// runMigrate is `wxauth migrate`: the schema up to date, then exit. Safe to
// run from several places at once (the migration takes a database lock).
// It needs only database_url, and marks the database as production's
// (sqlstore.ModeProduction), which `wxauth dev` then refuses.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	cfg, err := adminConfig(newCommand("migrate", "wxauth migrate --config wxauth.yaml"), args, stdout, stderr, env, "database_url")
	if err != nil {
		return err
	}
	log := newLogger(stderr, &cfg)
	if err := sqlstore.Migrate(ctx, sqlstore.Config{URL: cfg.DatabaseURL, Logger: log, Mode: sqlstore.ModeProduction}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "database schema is up to date")
	return nil
}

// runKeys is `wxauth keys rotate|list`: rotate needs the database and the
// secret (it seals the new key); list needs only the database and never
// adds a key.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	const synopsis = "wxauth keys rotate|list --config wxauth.yaml"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprintf(stdout, "Usage: %s\n  rotate  add a signing key (it signs once every instance has loaded it)\n  list    list the signing keys\n", synopsis)
		return nil
	}
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		fmt.Fprintf(stderr, "Usage: %s\n", synopsis)
		return errUsage
	}
	fs := newCommand("keys "+args[0], "wxauth keys "+args[0]+" --config wxauth.yaml")
	need := []string{"database_url", "tokens.access_ttl"}
	if args[0] == "rotate" {
		need = append(need, "secret", "key_reload")
	}
	cfg, err := adminConfig(fs, args[1:], stdout, stderr, env, need...)
	if err != nil {
		return err
	}
	log := newLogger(stderr, &cfg)
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DatabaseURL, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "rotate" {
		box, err := seal.New([]byte(cfg.Secret), nil)
		if err != nil {
			return err
		}
		ring, err := keyring.Open(ctx, keyring.Config{Store: db, Seal: box, AccessTTL: cfg.Tokens.AccessTTL.D(),
			Reload: cfg.KeyReload.D(), Logger: log})
		if err != nil {
			return err
		}
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
	if len(keys) == 0 {
		fmt.Fprintln(stdout, "no signing keys yet: the first `wxauth serve` (or `wxauth keys rotate`) adds one")
		return nil
	}
	signing := keyring.Plan(keys, time.Now(), cfg.Tokens.AccessTTL.D()).Keep[0].ID
	fmt.Fprintf(stdout, "%-44s  %-20s  %s\n", "kid", "active from", "signing now")
	for _, k := range keys {
		fmt.Fprintf(stdout, "%-44s  %-20s  %v\n", k.ID, k.ActiveAt.Format(time.RFC3339), k.ID == signing)
	}
	return nil
}
