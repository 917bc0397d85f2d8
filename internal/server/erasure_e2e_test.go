package server_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
	"github.com/wxauth/wxauth/internal/storage"
)

// TestDeletionLeavesNoTrace is the grep test of account deletion (issue
// 15): on PostgreSQL and Redis, a user with a phone, a nickname, openids
// in two apps, a unionid and sessions (one holding sealed OAuth tokens)
// deletes their account; then every row of every table of the schema and
// every Redis key of the test database is read as text, and none may hold
// the phone, the nickname, an openid or the unionid.
func TestDeletionLeavesNoTrace(t *testing.T) {
	pgURL, redisURL := os.Getenv("WXAUTH_TEST_POSTGRES_URL"), os.Getenv("WXAUTH_TEST_REDIS_URL")
	if pgURL == "" || redisURL == "" {
		t.Skip("WXAUTH_TEST_POSTGRES_URL and WXAUTH_TEST_REDIS_URL are not both set")
	}
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := "wxauth_erasure_" + randomHex(t, 6)
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	sep := "?"
	if strings.Contains(pgURL, "?") {
		sep = "&"
	}
	s := servertest.New(t, servertest.Configure(func(c *config.Config) {
		c.DatabaseURL = pgURL + sep + "search_path=" + schema
		c.RedisURL = redisURL
	}))

	// Redis expires records on its own, real clock: bring the test clock
	// to the real time.
	s.Clock.Advance(time.Until(s.Clock.Now()) * -1)

	name := "erase" + randomHex(t, 4)
	wu, err := s.Sandbox.AddUser(name)
	if err != nil {
		t.Fatal(err)
	}
	mini := s.Login(t, "mp", name)
	br := newBrowser(t, s, wechatUA)
	verifier, challenge := pkce("erase-browser-verifier-0123456789-abcdefghij")
	code, state := br.authorizeAs(name, oauthParams(s, challenge))
	if r := br.login(code, state, verifier); r.Status != 200 {
		t.Fatalf("H5 login = %d %s", r.Status, r.Body)
	}
	phone := "+86139" + fmt.Sprint(10000000+int(randomHex(t, 3)[0])*1000)
	nickname := "Nick" + randomHex(t, 5)
	if _, err := s.Inst.Users.UpdateUser(t.Context(), mini.User.ID, func(u *storage.User) error {
		u.Phone, u.Nickname = phone, nickname
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ids, _ := s.Inst.Users.Identities(t.Context(), mini.User.ID)
	if len(ids) != 2 {
		t.Fatalf("identities = %+v, want two apps", ids)
	}
	needles := []string{phone, strings.TrimPrefix(phone, "+"), nickname}
	for _, id := range ids {
		needles = append(needles, id.OpenID)
		if id.UnionID != "" {
			needles = append(needles, id.UnionID)
		}
	}
	for _, o := range wu.OpenIDs {
		needles = append(needles, o)
	}
	if wu.UnionID != "" {
		needles = append(needles, wu.UnionID)
	}
	// The needles are there before: the grep can fail.
	if found := grepStores(t, db, schema, redisURL, needles); len(found) == 0 {
		t.Fatal("before deletion the grep finds nothing: it cannot fail")
	}

	if r := s.Do(t, "DELETE", "/v1/me", nil, mini.AccessToken); r.Status != 204 {
		t.Fatalf("DELETE /v1/me = %d %s", r.Status, r.Body)
	}
	wantError(t, refresh(t, s, mini.RefreshToken), 401, api.CodeInvalidGrant)
	for _, f := range grepStores(t, db, schema, redisURL, needles) {
		t.Errorf("after deletion: %s", f)
	}
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// grepStores reads every table of schema and every key of the Redis
// database and says where a needle appears (never printing the needle's
// context beyond the table or key).
func grepStores(t *testing.T, db *sql.DB, schema, redisURL string, needles []string) []string {
	t.Helper()
	var found []string
	hit := func(where, text string) {
		for i, n := range needles {
			if n != "" && strings.Contains(text, n) {
				found = append(found, fmt.Sprintf("%s holds needle #%d", where, i))
			}
		}
	}
	ctx := t.Context()
	rows, err := db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatal("no tables in the schema")
	}
	for _, tb := range tables {
		rs, err := db.QueryContext(ctx, fmt.Sprintf("SELECT t::text FROM %s.%q t", schema, tb))
		if err != nil {
			t.Fatalf("read %s: %v", tb, err)
		}
		for rs.Next() {
			var row string
			if err := rs.Scan(&row); err != nil {
				t.Fatal(err)
			}
			hit("table "+tb, row)
		}
		rs.Close()
	}

	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	iter := rc.Scan(ctx, 0, "*", 500).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		hit("redis key name "+key, key)
		typ, err := rc.Type(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		var text string
		switch typ {
		case "string":
			text, _ = rc.Get(ctx, key).Result()
		case "hash":
			m, _ := rc.HGetAll(ctx, key).Result()
			text = fmt.Sprint(m)
		case "set":
			m, _ := rc.SMembers(ctx, key).Result()
			text = fmt.Sprint(m)
		case "zset":
			m, _ := rc.ZRangeWithScores(ctx, key, 0, -1).Result()
			text = fmt.Sprint(m)
		case "list":
			m, _ := rc.LRange(ctx, key, 0, -1).Result()
			text = fmt.Sprint(m)
		case "stream":
			m, _ := rc.XRange(ctx, key, "-", "+").Result()
			text = fmt.Sprint(m)
		case "none":
			continue // expired meanwhile
		default:
			t.Fatalf("redis key %s of type %s not read", key, typ)
		}
		hit("redis key "+key, text)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return found
}
