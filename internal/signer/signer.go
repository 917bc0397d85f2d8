package signer

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Alg is the JWS algorithm of every key this package makes.
const Alg = "EdDSA"

// Key is one signing key. The private half never leaves the process except
// through [WriteFile] or an encrypted store.
type Key struct {
	ID        string // RFC 7638 thumbprint of the public key
	Private   ed25519.PrivateKey
	CreatedAt time.Time
}

// Public is the key's public half.
func (k *Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// String names the key by kid only, keeping the private half out of logs.
func (k *Key) String() string { return "signer.Key{" + k.ID + "}" }

// LogValue logs the key as its kid.
func (k *Key) LogValue() slog.Value { return slog.StringValue(k.ID) }

// Generate makes a new Ed25519 key from rnd (nil: crypto/rand).
func Generate(rnd io.Reader, now time.Time) (*Key, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	_, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return FromPrivate(priv, now)
}

// FromPrivate wraps an existing Ed25519 private key.
func FromPrivate(priv ed25519.PrivateKey, created time.Time) (*Key, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, errors.New("signer: ed25519 private key must be 64 bytes")
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &Key{ID: Thumbprint(pub), Private: priv, CreatedAt: created.UTC()}, nil
}

// Thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key:
// base64url(SHA-256 of the canonical JWK {"crv","kty","x"}).
func Thumbprint(pub ed25519.PublicKey) string {
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// JWK is the JSON Web Key form of a public key (RFC 8037 §2).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	// D is the private key, only in files written by WriteFile.
	D string `json:"d,omitempty"`
}

func publicJWK(k *Key) JWK {
	return JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.Public()), Kid: k.ID, Alg: Alg, Use: "sig"}
}

// Set is an immutable set of keys: the first signs, all verify. A rotation
// builds a new Set with the new key first and the previous keys after it.
type Set struct {
	keys []*Key
	byID map[string]ed25519.PublicKey
	jwks []byte
}

// NewSet makes a Set; keys[0] is the signing key. At least one key is needed.
func NewSet(keys ...*Key) (*Set, error) {
	if len(keys) == 0 {
		return nil, errors.New("signer: a key set needs at least one key")
	}
	s := &Set{keys: keys, byID: make(map[string]ed25519.PublicKey, len(keys))}
	doc := struct {
		Keys []JWK `json:"keys"`
	}{}
	for _, k := range keys {
		if k == nil || len(k.Private) != ed25519.PrivateKeySize {
			return nil, errors.New("signer: invalid key in set")
		}
		if _, dup := s.byID[k.ID]; dup {
			continue
		}
		s.byID[k.ID] = k.Public()
		doc.Keys = append(doc.Keys, publicJWK(k))
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	s.jwks = b
	return s, nil
}

// Current is the key that signs new tokens.
func (s *Set) Current() *Key { return s.keys[0] }

// PublicKey finds a verification key by kid.
func (s *Set) PublicKey(kid string) (ed25519.PublicKey, bool) {
	k, ok := s.byID[kid]
	return k, ok
}

// JWKS is the set's public JWKS document, ready to serve. Callers must not
// modify it.
func (s *Set) JWKS() []byte { return s.jwks }
