package push

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
)

// Errors of this package; test with errors.Is.
var (
	// ErrSignature: a signature does not match (forged, or the token
	// configured here is not the one set on WeChat).
	ErrSignature = errors.New("push: signature does not match")
	// ErrMalformed: the body is not the XML WeChat sends.
	ErrMalformed = errors.New("push: malformed message")
	// ErrDecrypt: a safe-mode payload does not decrypt (not base64, not
	// whole blocks, bad padding, bad length); most often the
	// EncodingAESKey here is not the one set on WeChat.
	ErrDecrypt = errors.New("push: payload does not decrypt")
	// ErrAppID: the payload decrypts but names another appid.
	ErrAppID = errors.New("push: payload is for another appid")
)

// Sign is WeChat's push signature: the lowercase hex sha1 of parts sorted
// as strings and joined without separator. parts are (token, timestamp,
// nonce) for the plaintext signature and the URL check, and (token,
// timestamp, nonce, Encrypt) for safe mode's msg_signature.
func Sign(parts ...string) string {
	sorted := slices.Clone(parts)
	slices.Sort(sorted)
	sum := sha1.Sum([]byte(strings.Join(sorted, "")))
	return hex.EncodeToString(sum[:])
}

// Verify reports whether signature is [Sign] of parts, in constant time
// (the token is a shared secret). A signature in upper case is refused:
// WeChat sends lower case.
func Verify(signature string, parts ...string) bool {
	want := Sign(parts...)
	return subtle.ConstantTimeCompare([]byte(signature), []byte(want)) == 1
}

// CheckToken checks a push token as WeChat's console accepts it: 3 to 32
// letters and digits.
func CheckToken(token string) error {
	if len(token) < 3 || len(token) > 32 {
		return errors.New("must be 3 to 32 characters")
	}
	if strings.IndexFunc(token, func(r rune) bool { return !isAlnum(r) }) >= 0 {
		return errors.New("must be letters and digits only")
	}
	return nil
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
