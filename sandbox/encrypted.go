package sandbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Kinds of encrypted data [Sandbox.Encrypted] makes (reference §3.7).
const (
	// EncryptedPhone is what the old getPhoneNumber button gave.
	EncryptedPhone = "phone"
	// EncryptedUserInfo is what wx.getUserInfo gives.
	EncryptedUserInfo = "userinfo"
)

// EncryptedData is what a Mini Program front end receives from
// wx.getUserInfo or the old getPhoneNumber button and hands its backend
// (reference §3.7). All strings are as WeChat sends them.
type EncryptedData struct {
	// EncryptedData is the base64 AES-128-CBC ciphertext.
	EncryptedData string `json:"encrypted_data"`
	// IV is the base64 of the random 16-byte IV.
	IV string `json:"iv"`
	// RawData is the JSON of the public profile fields, for user info
	// only; empty for phone data.
	RawData string `json:"raw_data"`
	// Signature is hex(sha1(RawData + session_key)), for user info only;
	// empty for phone data.
	Signature string `json:"signature"`
}

// userProfile is the public part of user info, in WeChat's field order
// (reference §3.7, §3.8).
type userProfile struct {
	NickName  string `json:"nickName"`
	Gender    int    `json:"gender"`
	Language  string `json:"language"`
	City      string `json:"city"`
	Province  string `json:"province"`
	Country   string `json:"country"`
	AvatarURL string `json:"avatarUrl"`
}

// userInfo is the decrypted user info, in WeChat's field order: camelCase
// openId and unionId, unlike the server APIs (reference §3.7).
type userInfo struct {
	OpenID string `json:"openId"`
	userProfile
	UnionID   string    `json:"unionId,omitempty"`
	Watermark watermark `json:"watermark"`
}

// Encrypted returns the encrypted data the front end of the Mini Program
// appID would receive for user now: kind [EncryptedUserInfo] or
// [EncryptedPhone] (reference §3.7, §7 item 5). It is encrypted with the
// user's current session_key, so a user never issued a wx.login code in
// the app fails with [ErrNotFound], and data made before
// [Sandbox.RotateSessionKey] or another code issued no longer matches the
// new key (§3.9). Making it is a use of the key; a lapsed key is replaced
// first, so the data does not match the one the backend holds.
//
// User info carries the test user's nickname, gender 0, language "zh_CN",
// empty region strings (WeChat no longer returns gender and region), a
// deterministic avatar URL, the openId, and the unionId for apps bound to
// the Open Platform. Phone data carries the user's phone number as
// getuserphonenumber would answer it. Both end with a watermark of the app
// and now.
func (s *Sandbox) Encrypted(appID, user, kind string) (EncryptedData, error) {
	if kind != EncryptedUserInfo && kind != EncryptedPhone {
		return EncryptedData{}, fmt.Errorf("kind %q is not %q or %q", kind, EncryptedUserInfo, EncryptedPhone)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.miniProgramUserLocked(appID, user)
	if err != nil {
		return EncryptedData{}, err
	}
	au := appUser{appID, user}
	if s.sessionKeys[au] == nil {
		return EncryptedData{}, fmt.Errorf("user %q has no session_key in app %q: call wx.login first: %w", user, appID, ErrNotFound)
	}
	now := s.now()
	// The user is using the app: the key is used, or replaced if it lapsed.
	sessionKey, err := s.useKeyLocked(au, now, false)
	if err != nil {
		return EncryptedData{}, fmt.Errorf("encrypt: %w", err)
	}

	var out EncryptedData
	var plain any
	if kind == EncryptedPhone {
		plain = newPhoneInfo(u.phone, appID, now)
	} else {
		info := userInfo{
			OpenID: openID(appID, user),
			userProfile: userProfile{
				NickName:  u.nickname,
				Language:  "zh_CN",
				AvatarURL: avatarURL(user),
			},
			Watermark: watermark{Timestamp: now.Unix(), AppID: appID},
		}
		if !s.apps[appID].Unbound {
			info.UnionID = unionID(user)
		}
		raw, err := marshalCompact(info.userProfile)
		if err != nil {
			return EncryptedData{}, err
		}
		out.RawData = string(raw)
		out.Signature = rawDataSignature(out.RawData, sessionKey)
		plain = info
	}
	plaintext, err := marshalCompact(plain)
	if err != nil {
		return EncryptedData{}, err
	}
	key, err := base64.StdEncoding.DecodeString(sessionKey)
	if err != nil {
		return EncryptedData{}, fmt.Errorf("session key: %w", err)
	}
	iv := make([]byte, aes.BlockSize)
	if err := s.readRand(iv); err != nil {
		return EncryptedData{}, fmt.Errorf("encrypt: %w", err)
	}
	ciphertext, err := encryptCBC(key, iv, plaintext)
	if err != nil {
		return EncryptedData{}, err
	}
	out.EncryptedData = base64.StdEncoding.EncodeToString(ciphertext)
	out.IV = base64.StdEncoding.EncodeToString(iv)
	return out, nil
}

// encryptCBC encrypts plaintext as WeChat does encrypted user data
// (reference §3.7): AES-128-CBC with PKCS#7 padding to 16-byte blocks.
func encryptCBC(key, iv, plaintext []byte) ([]byte, error) {
	if len(key) != 16 || len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("encrypt: key and iv must be 16 bytes, not %d and %d", len(key), len(iv))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := append(bytes.Clone(plaintext), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf, nil
}

// rawDataSignature is the signature WeChat sends with user info (reference
// §3.7): lowercase hex of SHA-1 over rawData followed by the session_key's
// base64 text.
func rawDataSignature(rawData, sessionKey string) string {
	sum := sha1.Sum([]byte(rawData + sessionKey))
	return hex.EncodeToString(sum[:])
}

// avatarURL gives a test user a deterministic avatar URL shaped like
// WeChat's (reference §3.8). Nothing is served there.
func avatarURL(name string) string {
	return "http://wx.qlogo.cn/mmopen/vi_32/" + derivedID("avatar|" + name)[1:] + "/0"
}

// marshalCompact encodes v as compact JSON without HTML escaping, as
// WeChat writes it.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
