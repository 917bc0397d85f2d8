package token

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
)

// Layout of a refresh token before base64url: version, raw session id,
// big-endian generation, secret, truncated HMAC tag.
const (
	refreshVersion = 1
	sidLen         = 16
	secretLen      = 32 // 256 bits of entropy
	tagLen         = 16
	bodyLen        = 1 + sidLen + 8 + secretLen
	refreshLen     = bodyLen + tagLen
)

// refreshKeys are derived from the configured secret, one per purpose.
type refreshKeys struct {
	tag   *macKey // authenticates a token
	chain *macKey // derives a successor's secret from its predecessor
}

func deriveRefreshKeys(secret []byte) (refreshKeys, error) {
	tag, err := hkdf.Key(sha256.New, secret, nil, "wxauth refresh-token tag v1", 32)
	if err != nil {
		return refreshKeys{}, err
	}
	chain, err := hkdf.Key(sha256.New, secret, nil, "wxauth refresh-token chain v1", 32)
	if err != nil {
		return refreshKeys{}, err
	}
	return refreshKeys{tag: newMACKey(tag), chain: newMACKey(chain)}, nil
}

// macKey is an HMAC-SHA256 key with a pool of ready hashes and scratch
// space: every refresh computes three MACs, and a fresh HMAC costs five
// allocations, while bytes handed to a hash.Hash escape to the heap.
type macKey struct{ pool sync.Pool }

type macScratch struct {
	h   hash.Hash
	in  [bodyLen]byte
	out [sha256.Size]byte
}

func newMACKey(key []byte) *macKey {
	m := &macKey{}
	m.pool.New = func() any { return &macScratch{h: hmac.New(sha256.New, key)} }
	return m
}

// sum writes HMAC(parts...) to out. The parts together are at most bodyLen
// bytes, the largest message this package authenticates.
func (m *macKey) sum(out *[sha256.Size]byte, parts ...[]byte) {
	s := m.pool.Get().(*macScratch)
	n := 0
	for _, p := range parts {
		n += copy(s.in[n:], p)
	}
	s.h.Reset()
	s.h.Write(s.in[:n])
	s.h.Sum(s.out[:0])
	*out = s.out
	m.pool.Put(s)
}

// refreshToken is a parsed, authenticated refresh token.
type refreshToken struct {
	raw [refreshLen]byte
}

func (t *refreshToken) sid() []byte       { return t.raw[1 : 1+sidLen] }
func (t *refreshToken) gen() uint64       { return binary.BigEndian.Uint64(t.raw[1+sidLen:]) }
func (t *refreshToken) secret() []byte    { return t.raw[1+sidLen+8 : bodyLen] }
func (t *refreshToken) hash() [32]byte    { return sha256.Sum256(t.raw[:]) }
func (t *refreshToken) String() string    { return base64.RawURLEncoding.EncodeToString(t.raw[:]) }
func (t *refreshToken) sessionID() string { return base64.RawURLEncoding.EncodeToString(t.sid()) }

var errMalformedRefresh = errors.New("malformed refresh token")

// strictB64 refuses non-canonical encodings (stray trailing bits), so that
// one token has exactly one spelling.
var strictB64 = base64.RawURLEncoding.Strict()

// mint builds the token of generation gen for sid with the given secret.
func (k refreshKeys) mint(sid []byte, gen uint64, secret []byte) refreshToken {
	var t refreshToken
	t.raw[0] = refreshVersion
	copy(t.raw[1:], sid)
	binary.BigEndian.PutUint64(t.raw[1+sidLen:], gen)
	copy(t.raw[1+sidLen+8:], secret)
	var tag [sha256.Size]byte
	k.tag.sum(&tag, t.raw[:bodyLen])
	copy(t.raw[bodyLen:], tag[:tagLen])
	return t
}

// successor is the token that follows t: generation+1, secret derived from
// t's secret under the chain key. Deterministic, so a grace replay of t
// yields the same successor, and unguessable without the server key.
func (k refreshKeys) successor(t refreshToken) refreshToken {
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], t.gen()+1)
	var secret [sha256.Size]byte
	k.chain.sum(&secret, t.sid(), g[:], t.secret())
	return k.mint(t.sid(), t.gen()+1, secret[:])
}

// parse decodes s and checks its tag in constant time.
func (k refreshKeys) parse(s string) (refreshToken, error) {
	var t refreshToken
	if base64.RawURLEncoding.DecodedLen(len(s)) != refreshLen {
		return t, errMalformedRefresh
	}
	n, err := strictB64.Decode(t.raw[:], []byte(s))
	if err != nil || n != refreshLen || t.raw[0] != refreshVersion {
		return t, errMalformedRefresh
	}
	var tag [sha256.Size]byte
	k.tag.sum(&tag, t.raw[:bodyLen])
	if !hmac.Equal(tag[:tagLen], t.raw[bodyLen:]) {
		return t, errMalformedRefresh
	}
	return t, nil
}
