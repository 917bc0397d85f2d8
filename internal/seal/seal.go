// Package seal encrypts the small secrets wxauth must keep but never show:
// WeChat session_keys (and later WeChat user tokens and signing keys), with
// AES-256-GCM under a key derived from the configured secret. The context
// (for example "appid|openid") is bound as associated data, so a sealed value
// moved to another record does not open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

const version = 1

// ErrOpen means a sealed value could not be opened: wrong secret, wrong
// context, or damaged data.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Box seals and opens values. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	rand io.Reader
}

// New derives a Box from secret (at least 32 bytes). rnd nil means crypto/rand.
func New(secret []byte, rnd io.Reader) (*Box, error) {
	if len(secret) < 32 {
		return nil, errors.New("seal: secret must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "wxauth seal v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Box{aead: aead, rand: rnd}, nil
}

// Seal encrypts plaintext bound to context: version | nonce | ciphertext.
func (b *Box) Seal(plaintext []byte, context string) ([]byte, error) {
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+b.aead.Overhead())
	out[0] = version
	if _, err := io.ReadFull(b.rand, out[1:]); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return b.aead.Seal(out, out[1:1+ns], plaintext, []byte(context)), nil
}

// Open decrypts a value made by Seal with the same context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
