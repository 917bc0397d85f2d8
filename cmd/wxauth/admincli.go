package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/account"
	"github.com/wxauth/wxauth/internal/admin"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/signer"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/redisstore"
	"github.com/wxauth/wxauth/internal/storage/sqlstore"
	"github.com/wxauth/wxauth/internal/token"
)

// adminUsage lists `wxauth admin`'s commands (docs/operations.md "The admin
// CLI and API"). Flags come before the arguments.
const adminUsage = `Usage: wxauth admin <command> --config wxauth.yaml [--json] ...
  user find    --id ID | --unionid U | --openid O [--app APP] | --phone +86...   find users
  user show    ID                           a user, its identities and live sessions
  user revoke  ID                           end every session of a user at once
  user disable ID                           end its sessions and refuse its logins
  user enable  ID                           let it log in again
  user delete  --yes ID                     erase the user, its identities and sessions
  user merge   INTO FROM                    FROM's identities move to INTO, FROM's sessions end, FROM is deleted
  session revoke SID                        end one session at once
`

// adminActor is the audit's actor for the CLI.
const adminActor = "admin_cli"

// runAdmin is `wxauth admin`: the admin actions (internal/admin) against
// the database and Redis of the configuration, the same ones `wxauth
// serve` uses, so a revocation reaches running instances through the
// shared store's revocation feed.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, adminUsage)
		return nil
	}
	if len(args) < 2 {
		fmt.Fprint(stderr, adminUsage)
		return errUsage
	}
	name := args[0] + " " + args[1]
	var positional []string
	switch name {
	case "user find":
	case "user show", "user revoke", "user disable", "user enable", "user delete":
		positional = []string{"ID"}
	case "user merge":
		positional = []string{"INTO", "FROM"}
	case "session revoke":
		positional = []string{"SID"}
	default:
		fmt.Fprintf(stderr, "wxauth admin: unknown command %q\n\n%s", name, adminUsage)
		return errUsage
	}
	synopsis := "wxauth admin " + name + " --config wxauth.yaml [--json]"
	for _, p := range positional {
		synopsis += " " + p
	}
	fs := newCommand("admin "+name, synopsis)
	asJSON := fs.Bool("json", false, "print JSON (the admin API's shapes) instead of text")
	var yes *bool
	if name == "user delete" {
		yes = fs.Bool("yes", false, "really delete: there is no undo")
	}
	var id, unionID, app, openID, phone *string
	if name == "user find" {
		id = fs.String("id", "", "the user id")
		unionID = fs.String("unionid", "", "a WeChat unionid of the user")
		app = fs.String("app", "", "the configured app of --openid")
		openID = fs.String("openid", "", "a WeChat openid of the user (in --app if given, else in any app)")
		phone = fs.String("phone", "", "the user's phone, E.164 (+8613800000000)")
	}
	// Flags first; then exactly the positional arguments.
	path := fs.String("config", "", "configuration file (YAML); WXAUTH_* variables override it")
	if err := fs.parse(args[2:], len(positional), stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() != len(positional) {
		fmt.Fprintf(stderr, "wxauth: %s needs %s\n\n", name, strings.Join(positional, " "))
		fs.usage(stderr)
		return errUsage
	}
	if yes != nil && !*yes {
		return errors.New("user delete erases the user for good: add --yes")
	}
	cfg, err := loadConfig(*path, env)
	if err != nil {
		return err
	}
	if err := cfg.ValidateOnly("database_url", "redis_url", "secret", "issuer", "tokens.access_ttl"); err != nil {
		return err
	}
	if cfg.RedisURL == "" {
		return errors.New("admin: redis_url is required: sessions live in Redis (without it, each serve instance keeps its own)")
	}
	svc, closeAll, err := openAdmin(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	out := adminOutput{w: stdout, json: *asJSON}
	switch name {
	case "user find":
		q := admin.Query{ID: *id, UnionID: *unionID, OpenID: *openID, Phone: *phone}
		if *app != "" {
			i := slices.IndexFunc(cfg.Apps, func(a config.App) bool { return a.Name == *app })
			if i < 0 {
				return fmt.Errorf("no app %q in the configuration", *app)
			}
			q.AppID = cfg.Apps[i].AppID
		}
		users, err := svc.Find(ctx, adminActor, q)
		if errors.Is(err, admin.ErrInvalidQuery) {
			fmt.Fprintf(stderr, "wxauth: give exactly one of --id, --unionid, --openid, --phone\n\n")
			fs.usage(stderr)
			return errUsage
		}
		if err != nil {
			return err
		}
		return out.users(users)
	case "user show":
		a, err := svc.Show(ctx, adminActor, fs.Arg(0))
		if err != nil {
			return adminCLIErr(err, "user", fs.Arg(0))
		}
		return out.account(a, func(appID string) string {
			for _, app := range cfg.Apps {
				if app.AppID == appID {
					return app.Name
				}
			}
			return ""
		})
	case "user revoke":
		n, err := svc.RevokeUser(ctx, adminActor, fs.Arg(0))
		if err != nil {
			return adminCLIErr(err, "user", fs.Arg(0))
		}
		return out.print(api.AdminRevoked{Revoked: n}, fmt.Sprintf("revoked %d session(s) of user %s\n", n, fs.Arg(0)))
	case "user merge":
		u, n, err := svc.Merge(ctx, adminActor, fs.Arg(0), fs.Arg(1))
		if errors.Is(err, admin.ErrSameUser) {
			return err
		}
		if err != nil {
			return adminCLIErr(err, "user", fs.Arg(0)+" or "+fs.Arg(1))
		}
		return out.print(api.AdminMerged{User: account.APIUser(u), Revoked: n},
			fmt.Sprintf("merged %s into %s; %d session(s) of %s ended\n", fs.Arg(1), u.ID, n, fs.Arg(1)))
	case "user disable", "user enable", "user delete":
		act, done := svc.Disable, "disabled"
		switch name {
		case "user enable":
			act, done = svc.Enable, "enabled"
		case "user delete":
			act, done = svc.Delete, "deleted"
		}
		if err := act(ctx, adminActor, fs.Arg(0)); err != nil {
			return adminCLIErr(err, "user", fs.Arg(0))
		}
		return out.print(map[string]string{done: fs.Arg(0)}, fmt.Sprintf("%s user %s\n", done, fs.Arg(0)))
	default: // session revoke
		if err := svc.RevokeSession(ctx, adminActor, fs.Arg(0)); err != nil {
			return adminCLIErr(err, "live session", fs.Arg(0))
		}
		return out.print(map[string]string{"revoked": fs.Arg(0)}, fmt.Sprintf("revoked session %s\n", fs.Arg(0)))
	}
}

func adminCLIErr(err error, what, id string) error {
	if errors.Is(err, admin.ErrNotFound) {
		return fmt.Errorf("no %s %q", what, id)
	}
	return err
}

// openAdmin opens the stores of cfg and the admin service on them. Its
// token service only revokes and announces: it never signs, so its key is
// a throwaway one and the signing keys in the database are not read.
func openAdmin(ctx context.Context, cfg *config.Config, stderr io.Writer) (*admin.Service, func(), error) {
	log := newLogger(stderr, cfg)
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DatabaseURL, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	rs, err := redisstore.Open(ctx, redisstore.Config{URL: cfg.RedisURL, Logger: log})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	// The CLI's actions go to the audit trail like the API's: a writer of
	// its own, flushed before the process ends (no retention purge here;
	// serve does that).
	var recorder audit.Recorder = audit.Discard
	var auditLog *audit.Writer
	if cfg.Audit.On() {
		if auditLog, err = audit.New(audit.Config{Log: db, Logger: log}); err != nil {
			rs.Close()
			db.Close()
			return nil, nil, err
		}
		recorder = auditLog
	}
	closeAll := func() {
		if auditLog != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := auditLog.Close(ctx); err != nil {
				log.Error("admin: audit events still queued were lost", "err", err)
			}
			cancel()
		}
		rs.Close()
		db.Close()
	}
	fail := func(err error) (*admin.Service, func(), error) { closeAll(); return nil, nil, err }
	key, err := signer.Generate(nil, time.Now())
	if err != nil {
		return fail(err)
	}
	keys, err := signer.NewSet(key)
	if err != nil {
		return fail(err)
	}
	tokens, err := token.New(token.Config{Issuer: cfg.Issuer, Audience: cfg.Audience, AccessTTL: cfg.Tokens.AccessTTL.D(),
		Keys: keys, Sessions: rs, Revocations: rs, Secret: []byte(cfg.Secret)})
	if err != nil {
		return fail(err)
	}
	accts, err := account.New(account.Config{Users: db, Sessions: rs, Tokens: tokens, Recorder: recorder})
	if err != nil {
		return fail(err)
	}
	svc, err := admin.New(admin.Config{Users: db, Sessions: rs, Tokens: tokens, Accounts: accts, Audit: recorder})
	if err != nil {
		return fail(err)
	}
	return svc, closeAll, nil
}

// adminOutput prints either text for a person or the admin API's JSON.
type adminOutput struct {
	w    io.Writer
	json bool
}

func (o adminOutput) print(v any, text string) error {
	if o.json {
		enc := json.NewEncoder(o.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(o.w, text)
	return err
}

func (o adminOutput) users(users []storage.User) error {
	if o.json {
		list := api.AdminUserList{Users: make([]api.AdminUser, 0, len(users))}
		for _, u := range users {
			list.Users = append(list.Users, account.APIUser(u))
		}
		return o.print(list, "")
	}
	if len(users) == 0 {
		_, err := fmt.Fprintln(o.w, "no user found")
		return err
	}
	tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tnickname\tphone\tcreated")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.ID, u.Nickname, u.Phone, u.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func (o adminOutput) account(a admin.Account, appName func(string) string) error {
	v := a.API(appName)
	if o.json {
		return o.print(v, "")
	}
	tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "user\t%s\nnickname\t%s\nphone\t%s\ncreated\t%s\n", v.User.ID, v.User.Nickname, v.User.Phone,
		v.User.CreatedAt.Format(time.RFC3339))
	fmt.Fprintf(tw, "\nidentities: %d\napp\topenid\tunionid\tlinked\n", len(v.Identities))
	for _, id := range v.Identities {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id.App, id.OpenID, id.UnionID, id.CreatedAt.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "\nlive sessions: %d\nsid\tapp\tcreated\tlast used\texpires\n", len(v.Sessions))
	for _, s := range v.Sessions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.App, s.CreatedAt.Format(time.RFC3339),
			s.LastUsedAt.Format(time.RFC3339), s.ExpiresAt.Format(time.RFC3339))
	}
	return tw.Flush()
}
