package signer

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

type fileKey struct {
	JWK
	CreatedAt time.Time `json:"created_at"`
}

// LoadOrCreateFile reads the key kept at path, or, when there is none,
// generates one and writes it there (mode 0600) so that a restart signs and
// verifies with the same key. It is how `wxauth dev` keeps its key in the
// data folder; production keeps keys in the database instead.
func LoadOrCreateFile(path string, rnd io.Reader, now time.Time) (k *Key, created bool, err error) {
	k, err = ReadFile(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	k, err = Generate(rnd, now)
	if err != nil {
		return nil, false, err
	}
	if err := WriteFile(path, k); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// ReadFile reads a private key written by [WriteFile].
func ReadFile(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	var fk fileKey
	if err := json.Unmarshal(b, &fk); err != nil {
		return nil, fmt.Errorf("read signing key %s: %w", path, err)
	}
	if fk.Kty != "OKP" || fk.Crv != "Ed25519" {
		return nil, fmt.Errorf("read signing key %s: unsupported key type %q/%q", path, fk.Kty, fk.Crv)
	}
	seed, err := base64.RawURLEncoding.DecodeString(fk.D)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("read signing key %s: malformed private key", path)
	}
	return FromPrivate(ed25519.NewKeyFromSeed(seed), fk.CreatedAt)
}

// WriteFile writes k with its private half to path (mode 0600), atomically:
// a crash never leaves half a key behind.
func WriteFile(path string, k *Key) error {
	fk := fileKey{JWK: publicJWK(k), CreatedAt: k.CreatedAt}
	fk.D = base64.RawURLEncoding.EncodeToString(k.Private.Seed())
	b, err := json.MarshalIndent(fk, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write signing key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".signing-key-*")
	if err != nil {
		return fmt.Errorf("write signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write signing key: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write signing key: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write signing key: %w", err)
	}
	return nil
}
