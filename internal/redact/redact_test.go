package redact

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		// PostgreSQL
		{"postgres://user:secret@db.internal:5432/wxauth?sslmode=require", "postgres://user:***@db.internal:5432/wxauth?sslmode=require"},
		{"postgresql://user:secret@host/db", "postgresql://user:***@host/db"},
		{"postgres://user@host/db", "postgres://user@host/db"},
		{"postgres://host/db?sslmode=disable", "postgres://host/db?sslmode=disable"},
		{"postgres://user@host/db?password=secret&sslmode=require", "postgres://user@host/db?password=***&sslmode=require"},
		{"postgres://host/db?sslmode=verify-full&sslpassword=secret", "postgres://host/db?sslmode=verify-full&sslpassword=***"},
		{"postgres://u:p@ss@host/db", "postgres://u:***@host/db"},
		{"postgres://u:pa/ss@host/db", "postgres://u:***@host/db"},
		{"postgres://u:pa?ss@host/db", "postgres://u:***@host/db"},
		{"postgres://u:secret@host/db?application_name=me@laptop", "postgres://u:***@host/db?application_name=me@laptop"},
		{"postgres://host:5432/db?application_name=me@laptop", "postgres://host:5432/db?application_name=me@laptop"},
		{"host=db user=wxauth password=secret dbname=wxauth", "host=db user=wxauth password=*** dbname=wxauth"},
		{"user=wxauth PASSWORD=secret", "user=wxauth PASSWORD=***"},
		// Redis
		{"redis://:secret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"},
		{"rediss://default:secret@redis.internal:6380", "rediss://default:***@redis.internal:6380"},
		{"redis+cluster://u:secret@h1:7001,h2:7002,h3:7003", "redis+cluster://u:***@h1:7001,h2:7002,h3:7003"},
		{"redis+sentinel://s1:26379,s2:26379/mymaster?password=secret&sentinel_password=other", "redis+sentinel://s1:26379,s2:26379/mymaster?password=***&sentinel_password=***"},
		{"redis://h:6379?username=u&password=secret#frag", "redis://h:6379?username=u&password=***#frag"},
		{"redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15"},
		// Text quoting URLs: errors, log messages.
		{`sqlstore: open postgres://u:secret@h/db: connect: refused`, `sqlstore: open postgres://u:***@h/db: connect: refused`},
		{`parse "postgres://u:secret@h:x/db": invalid port`, `parse "postgres://u:***@h:x/db": invalid port`},
		{"a redis://:s1@a:1 and postgres://u:s2@b/db", "a redis://:***@a:1 and postgres://u:***@b/db"},
		{"no secrets: sqlite:/var/lib/wxauth.db, user@example.com", "no secrets: sqlite:/var/lib/wxauth.db, user@example.com"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := URLs(tt.in); got != tt.want {
			t.Errorf("URLs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestError(t *testing.T) {
	if Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
	plain := errors.New("no secret")
	if Error(plain) != plain {
		t.Error("Error changed an error without secrets")
	}
	err := Error(fmt.Errorf("open postgres://u:secret@h/db: %w", io.EOF))
	if got, want := err.Error(), "open postgres://u:***@h/db: EOF"; got != want {
		t.Errorf("Error().Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, io.EOF) {
		t.Error("errors.Is(Error(err), io.EOF) = false")
	}
}
