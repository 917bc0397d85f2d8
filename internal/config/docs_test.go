package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the key table of docs/configuration.md")

const (
	docsPath   = "../../docs/configuration.md"
	tableBegin = "<!-- keys: generated from internal/config/keys.go by `go test ./internal/config -update` -->\n"
	tableEnd   = "<!-- keys: end -->\n"
)

// docsTable is the key table of docs/configuration.md, made from keys.
func docsTable() string {
	var b strings.Builder
	b.WriteString("| key | variable | default | meaning |\n|---|---|---|---|\n")
	for _, k := range keys {
		b.WriteString("| `" + k.Path + "` | " + k.variable() + " | " + k.defaultText() + " | " + k.Doc + " |\n")
	}
	b.WriteString("| `apps` | | (dev: `mp`, `oa`, `web`, `app`) | a list of apps, each with the keys below |\n")
	for _, k := range appKeys {
		v := ""
		if k.Env != "" {
			v = "`" + k.Env + "`"
		}
		b.WriteString("| `apps[]." + k.Path + "` | " + v + " | | " + k.Doc + " |\n")
	}
	b.WriteString("| `service_keys` | | none | keys of other services, each with the keys below ([api.md](api.md#service-keys)) |\n")
	for _, k := range serviceKeyKeys {
		v := ""
		if k.Env != "" {
			v = "`" + k.Env + "`"
		}
		b.WriteString("| `service_keys[]." + k.Path + "` | " + v + " | | " + k.Doc + " |\n")
	}
	b.WriteString("| `oidc.clients` | | none | OpenID Connect clients, each with the keys below ([oidc.md](oidc.md#configuration)) |\n")
	for _, k := range oidcClientKeys {
		v := ""
		if k.Env != "" {
			v = "`" + k.Env + "`"
		}
		b.WriteString("| `oidc.clients[]." + k.Path + "` | " + v + " | | " + k.Doc + " |\n")
	}
	return b.String()
}

// The table in docs/configuration.md is the table of keys.go: it cannot
// drift (go test ./internal/config -update rewrites it).
func TestDocsTable(t *testing.T) {
	b, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, tableBegin), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated key table (markers %q … %q)", docsPath, tableBegin, tableEnd)
	}
	want := docsTable()
	if got := doc[i+len(tableBegin) : j]; got != want {
		if *update {
			if err := os.WriteFile(docsPath, []byte(doc[:i+len(tableBegin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the key table of %s differs from keys.go; run go test ./internal/config -update\n--- want\n%s", docsPath, want)
	}
}

// Every field of Config a key sets is in the table once, and every
// variable is distinct.
func TestKeysAreUnique(t *testing.T) {
	paths, envs := map[string]bool{}, map[string]bool{}
	for _, k := range keys {
		if paths[k.Path] || envs[k.Env] {
			t.Errorf("key %s (%s) is defined twice", k.Path, k.Env)
		}
		paths[k.Path], envs[k.Env] = true, true
		if !strings.HasPrefix(k.Env, "WXAUTH_") {
			t.Errorf("key %s: variable %q", k.Path, k.Env)
		}
	}
}
