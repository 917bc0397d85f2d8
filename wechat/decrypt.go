package wechat

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Error classes of [Decrypt] and its kin, one per code of WeChat's official
// WXBizDataCrypt demos (reference §3.7). Test with [errors.Is]; the errors
// returned are [*DecryptError].
var (
	// ErrIllegalAESKey: the session_key is not 24 base64 characters of a
	// 16-byte key (-41001).
	ErrIllegalAESKey = errors.New("wechat: illegal AES key")
	// ErrIllegalIV: the iv is not 24 base64 characters of 16 bytes (-41002).
	ErrIllegalIV = errors.New("wechat: illegal IV")
	// ErrIllegalBuffer: the data does not decrypt: not whole blocks, bad
	// padding, not JSON, or stamped for another app (-41003). Most often
	// the session_key is not the one the data was encrypted with: it was
	// replaced by a later wx.login (reference §3.9); the user must log in
	// again, and retrying with the same key is useless.
	ErrIllegalBuffer = errors.New("wechat: illegal buffer")
	// ErrDecodeBase64: the session_key, iv or data is not standard base64
	// with padding (-41004).
	ErrDecodeBase64 = errors.New("wechat: bad base64")
	// ErrWatermark: the data decrypted to JSON, but its watermark.appid is
	// not the caller's app. Also [ErrIllegalBuffer], as in the demos.
	ErrWatermark = errors.New("wechat: watermark is for another app")
)

// Codes of [DecryptError], as in WeChat's official demos (reference §3.7).
const (
	codeIllegalAESKey = -41001
	codeIllegalIV     = -41002
	codeIllegalBuffer = -41003
	codeDecodeBase64  = -41004
)

// DecryptError is a failure to decrypt WeChat's encrypted user data. Its
// text names what failed, never the key, the data or the plaintext.
type DecryptError struct {
	// Code is the official demos' code: -41001 illegal AES key, -41002
	// illegal IV, -41003 illegal buffer, -41004 base64 decoding failed.
	Code int
	// Reason says what failed, for humans.
	Reason string

	cause error // ErrWatermark, or nil
}

func (e *DecryptError) Error() string {
	return fmt.Sprintf("wechat: decrypt: %s (%d)", e.Reason, e.Code)
}

// Is reports whether target is the sentinel of e's Code.
func (e *DecryptError) Is(target error) bool {
	switch target {
	case ErrIllegalAESKey:
		return e.Code == codeIllegalAESKey
	case ErrIllegalIV:
		return e.Code == codeIllegalIV
	case ErrIllegalBuffer:
		return e.Code == codeIllegalBuffer
	case ErrDecodeBase64:
		return e.Code == codeDecodeBase64
	}
	return false
}

// Unwrap returns [ErrWatermark] for a watermark mismatch, else nil.
func (e *DecryptError) Unwrap() error { return e.cause }

func decryptError(code int, reason string) error { return &DecryptError{Code: code, Reason: reason} }

// b64 is standard base64 with padding, refusing non-canonical encodings
// so that one ciphertext has one text.
var b64 = base64.StdEncoding.Strict()

// Decrypt decrypts a Mini Program's legacy encrypted data (reference §3.7):
// AES-128-CBC with key base64(sessionKey) and IV base64(iv), PKCS#7 padding
// checked byte by byte (in constant time), all three arguments standard
// base64 with padding. It returns the plaintext, which it does not parse:
// use [DecryptUserInfo] or [DecryptPhone], which also check the watermark.
//
// The scheme has no MAC and the client picks the IV, so whoever knows a
// plaintext can rewrite its first block: prefer [Client.PhoneNumber] to
// encrypted phone numbers. Errors are [*DecryptError].
func Decrypt(sessionKey, encryptedData, iv string) ([]byte, error) {
	if len(sessionKey) != 24 {
		return nil, decryptError(codeIllegalAESKey, "session key is not 24 characters")
	}
	key, err := b64.DecodeString(sessionKey)
	if err != nil {
		return nil, decryptError(codeDecodeBase64, "session key is not base64")
	}
	if len(key) != 16 {
		return nil, decryptError(codeIllegalAESKey, "session key is not 16 bytes")
	}
	if len(iv) != 24 {
		return nil, decryptError(codeIllegalIV, "iv is not 24 characters")
	}
	ivb, err := b64.DecodeString(iv)
	if err != nil {
		return nil, decryptError(codeDecodeBase64, "iv is not base64")
	}
	if len(ivb) != aes.BlockSize {
		return nil, decryptError(codeIllegalIV, "iv is not 16 bytes")
	}
	data, err := b64.DecodeString(encryptedData)
	if err != nil {
		return nil, decryptError(codeDecodeBase64, "data is not base64")
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, decryptError(codeIllegalBuffer, "data is not whole AES blocks")
	}
	block, err := aes.NewCipher(key)
	if err != nil { // unreachable: the key is 16 bytes
		return nil, decryptError(codeIllegalAESKey, "session key refused by AES")
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, ivb).CryptBlocks(plain, data)
	n, ok := pkcs7Padding(plain)
	if !ok {
		return nil, decryptError(codeIllegalBuffer, "bad padding")
	}
	return plain[:len(plain)-n], nil
}

// pkcs7Padding returns the length of b's PKCS#7 padding (block 16) and
// whether it is well formed: its last byte n is 1..16 and so are the n
// bytes it covers. The check takes the same time whatever b holds, so that
// it answers no padding-oracle question. len(b) must be a non-zero
// multiple of 16.
func pkcs7Padding(b []byte) (int, bool) {
	n := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, aes.BlockSize)
	for i := 1; i <= aes.BlockSize; i++ {
		inPadding := subtle.ConstantTimeLessOrEq(i, n)
		same := subtle.ConstantTimeByteEq(b[len(b)-i], byte(n))
		good &= (inPadding ^ 1) | same
	}
	return n, good == 1
}

// UserInfo is the decrypted data of wx.getUserInfo (reference §3.7). Since
// 2021 WeChat anonymises the profile fields (nickname "微信用户", a grey
// avatar, gender 0, empty region); OpenID and UnionID remain, but
// getUserProfile data never had them.
type UserInfo struct {
	OpenID    string
	NickName  string
	Gender    int // 0 unknown, 1 male, 2 female
	Language  string
	City      string
	Province  string
	Country   string
	AvatarURL string
	// UnionID is empty when the app is not bound to an Open Platform
	// account.
	UnionID   string
	Watermark Watermark
}

// userInfoJSON is UserInfo as WeChat encrypts it: openId, unionId in camel
// case, unlike the server APIs.
type userInfoJSON struct {
	OpenID    string        `json:"openId"`
	NickName  string        `json:"nickName"`
	Gender    int           `json:"gender"`
	Language  string        `json:"language"`
	City      string        `json:"city"`
	Province  string        `json:"province"`
	Country   string        `json:"country"`
	AvatarURL string        `json:"avatarUrl"`
	UnionID   string        `json:"unionId"`
	Watermark watermarkJSON `json:"watermark"`
}

// DecryptUserInfo decrypts wx.getUserInfo data with [Decrypt] and checks
// that it is JSON stamped for appID (watermark.appid, reference §3.7): a
// mismatch is [ErrWatermark], also [ErrIllegalBuffer]. Verify the rawData
// signature separately with [VerifyRawData]. An empty appID is
// [ErrInvalidRequest].
func DecryptUserInfo(appID, sessionKey, encryptedData, iv string) (UserInfo, error) {
	var u userInfoJSON
	if err := decryptJSON(appID, sessionKey, encryptedData, iv, &u, &u.Watermark); err != nil {
		return UserInfo{}, err
	}
	return UserInfo{
		OpenID:    u.OpenID,
		NickName:  u.NickName,
		Gender:    u.Gender,
		Language:  u.Language,
		City:      u.City,
		Province:  u.Province,
		Country:   u.Country,
		AvatarURL: u.AvatarURL,
		UnionID:   u.UnionID,
		Watermark: u.Watermark.watermark(),
	}, nil
}

// DecryptPhone decrypts the legacy getPhoneNumber data with [Decrypt] and
// checks it like [DecryptUserInfo]; data without a phoneNumber is
// [ErrIllegalBuffer]. Prefer [Client.PhoneNumber] with the button's code.
func DecryptPhone(appID, sessionKey, encryptedData, iv string) (PhoneInfo, error) {
	var p phoneJSON
	if err := decryptJSON(appID, sessionKey, encryptedData, iv, &p, &p.Watermark); err != nil {
		return PhoneInfo{}, err
	}
	if p.PhoneNumber == "" {
		return PhoneInfo{}, decryptError(codeIllegalBuffer, "no phoneNumber")
	}
	return p.phoneInfo(), nil
}

// decryptJSON decrypts into out, a JSON object whose watermark, once
// decoded, is *wm, and checks that wm is for appID.
func decryptJSON(appID, sessionKey, encryptedData, iv string, out any, wm *watermarkJSON) error {
	if appID == "" {
		return fmt.Errorf("%w: decrypt: empty app ID", ErrInvalidRequest)
	}
	plain, err := Decrypt(sessionKey, encryptedData, iv)
	if err != nil {
		return err
	}
	// The reason never quotes the JSON error: it would quote the plaintext.
	if !json.Valid(plain) {
		return decryptError(codeIllegalBuffer, "plaintext is not JSON")
	}
	if err := json.Unmarshal(plain, out); err != nil {
		return decryptError(codeIllegalBuffer, "plaintext is not the expected JSON object")
	}
	if wm.AppID != appID {
		return &DecryptError{Code: codeIllegalBuffer, Reason: "watermark appid is not the app's", cause: ErrWatermark}
	}
	return nil
}

// VerifyRawData reports whether signature is WeChat's signature of rawData
// for sessionKey: hex(sha1(rawData + sessionKey)), with rawData exactly as
// the client received it and the session_key's base64 text (reference
// §3.7). The comparison takes constant time. Empty arguments are false.
func VerifyRawData(rawData, sessionKey, signature string) bool {
	if rawData == "" || sessionKey == "" || len(signature) != 2*sha1.Size {
		return false
	}
	want, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	sum := sha1.Sum([]byte(rawData + sessionKey))
	return subtle.ConstantTimeCompare(sum[:], want) == 1
}
