package push

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// blockSize is the PKCS#7 block of WeChat's scheme: 32 bytes, not AES's
// 16 (the official samples' PKCS7Encoder block_size = 32).
const blockSize = 32

// AESKeyLen is the length of an EncodingAESKey as WeChat's console shows
// it: 43 characters of base64 without the final "=".
const AESKeyLen = 43

// Cipher encrypts and decrypts safe-mode payloads of one account. It is
// safe for concurrent use.
type Cipher struct {
	key   []byte // 32 bytes
	appID string
}

// CheckAESKey checks an EncodingAESKey: 43 base64 characters that decode,
// with "=" appended, to 32 bytes.
func CheckAESKey(encodingAESKey string) error {
	_, err := decodeAESKey(encodingAESKey)
	return err
}

func decodeAESKey(k string) ([]byte, error) {
	if len(k) != AESKeyLen {
		return nil, fmt.Errorf("must be %d characters, not %d", AESKeyLen, len(k))
	}
	key, err := base64.StdEncoding.DecodeString(k + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("must be base64 letters, digits, + and / (as WeChat's console generates it)")
	}
	return key, nil
}

// NewCipher returns the cipher of the account appID whose EncodingAESKey
// is encodingAESKey.
func NewCipher(encodingAESKey, appID string) (*Cipher, error) {
	key, err := decodeAESKey(encodingAESKey)
	if err != nil {
		return nil, fmt.Errorf("push: EncodingAESKey %w", err)
	}
	if appID == "" {
		return nil, errors.New("push: appid is empty")
	}
	return &Cipher{key: key, appID: appID}, nil
}

// Decrypt opens the Encrypt element of a safe-mode push and returns the
// message XML. It fails with [ErrDecrypt] for anything that is not a
// payload made with this key, and [ErrAppID] for one made for another
// appid; it never panics, whatever encrypt holds.
func (c *Cipher) Decrypt(encrypt string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encrypt))
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrDecrypt)
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: not whole AES blocks", ErrDecrypt)
	}
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, c.key[:aes.BlockSize]).CryptBlocks(plain, data)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > blockSize || pad > len(plain) {
		return nil, fmt.Errorf("%w: bad padding", ErrDecrypt)
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("%w: bad padding", ErrDecrypt)
		}
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, fmt.Errorf("%w: too short", ErrDecrypt)
	}
	n := binary.BigEndian.Uint32(plain[16:20])
	if uint64(n) > uint64(len(plain)-20) {
		return nil, fmt.Errorf("%w: bad length", ErrDecrypt)
	}
	msg, appID := plain[20:20+n], plain[20+n:]
	if string(appID) != c.appID {
		return nil, ErrAppID
	}
	return bytes.Clone(msg), nil
}

// Encrypt seals msg as WeChat does for a safe-mode push or reply, with 16
// bytes from random in front (nil means crypto/rand), and returns the
// Encrypt element's base64 text.
func (c *Cipher) Encrypt(msg []byte, random io.Reader) (string, error) {
	if random == nil {
		random = cryptoRand
	}
	plain := make([]byte, 20, 20+len(msg)+len(c.appID)+blockSize)
	if _, err := io.ReadFull(random, plain[:16]); err != nil {
		return "", fmt.Errorf("push: read random: %w", err)
	}
	binary.BigEndian.PutUint32(plain[16:20], uint32(len(msg)))
	plain = append(append(plain, msg...), c.appID...)
	pad := blockSize - len(plain)%blockSize
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, c.key[:aes.BlockSize]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out), nil
}
