package signer

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RFC 8037 Appendix A.1–A.3: the Ed25519 example key and its thumbprint.
func TestThumbprintRFC8037(t *testing.T) {
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	got := Thumbprint(ed25519.PublicKey(x))
	const want = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	if got != want {
		t.Errorf("Thumbprint = %q, want %q", got, want)
	}
}

func TestSetJWKS(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	k1, err := Generate(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := Generate(nil, now)
	s, err := NewSet(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Current() != k2 {
		t.Errorf("Current = %v, want the first key %v", s.Current(), k2)
	}
	for _, k := range []*Key{k1, k2} {
		pub, ok := s.PublicKey(k.ID)
		if !ok || !bytes.Equal(pub, k.Public()) {
			t.Errorf("PublicKey(%q) = %x, %v; want %x", k.ID, pub, ok, k.Public())
		}
	}
	if _, ok := s.PublicKey("nope"); ok {
		t.Error("PublicKey(unknown) found a key")
	}
	var doc struct{ Keys []JWK }
	if err := json.Unmarshal(s.JWKS(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 2 || doc.Keys[0].Kid != k2.ID || doc.Keys[0].Alg != "EdDSA" || doc.Keys[0].Kty != "OKP" {
		t.Errorf("JWKS = %s", s.JWKS())
	}
	if strings.Contains(string(s.JWKS()), `"d"`) {
		t.Errorf("JWKS leaks a private key: %s", s.JWKS())
	}
	if _, err := NewSet(); err == nil {
		t.Error("NewSet() with no keys succeeded")
	}
}

func TestLoadOrCreateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "signing-key.json")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	k1, created, err := LoadOrCreateFile(path, nil, now)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateFile (first) = %v, %v, %v", k1, created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateFile(path, nil, now.Add(time.Hour))
	if err != nil || created {
		t.Fatalf("LoadOrCreateFile (second) = %v, %v, %v", k2, created, err)
	}
	if k2.ID != k1.ID || !k2.Private.Equal(k1.Private) || !k2.CreatedAt.Equal(now) {
		t.Errorf("reloaded key %v (created %v) differs from %v", k2, k2.CreatedAt, k1)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateFile(path, nil, now); err == nil {
		t.Error("LoadOrCreateFile on a corrupt file succeeded; want an error, not a silently new key")
	}
}

func TestKeyNeverPrintsPrivate(t *testing.T) {
	k, _ := Generate(nil, time.Now())
	if s := k.String(); strings.Contains(s, base64.RawURLEncoding.EncodeToString(k.Private.Seed())) || !strings.Contains(s, k.ID) {
		t.Errorf("String() = %q", s)
	}
}
