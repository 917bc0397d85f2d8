package sandbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decryptVector is WeChat's official decrypt sample (reference §3.8).
type decryptVector struct {
	AppID         string          `json:"appid"`
	SessionKey    string          `json:"session_key"`
	EncryptedData string          `json:"encrypted_data"`
	IV            string          `json:"iv"`
	Plaintext     json.RawMessage `json:"plaintext"`
}

// vectorPlaintext is the vector's exact decrypted bytes, as printed in
// reference §3.8.
const vectorPlaintext = `{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0","unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}`

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return b
}

// Reference §3.8: encrypting the official vector's plaintext with its key
// and IV reproduces its ciphertext byte for byte (§7 item 5).
func TestEncryptCBCVector(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "wechat-decrypt-vector.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v decryptVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if err := json.Compact(&plain, v.Plaintext); err != nil {
		t.Fatal(err)
	}
	if plain.String() != vectorPlaintext || plain.Len() != 393 {
		t.Fatalf("vector plaintext (%d bytes) differs from reference §3.8's 393 bytes", plain.Len())
	}
	got, err := encryptCBC(mustB64(t, v.SessionKey), mustB64(t, v.IV), plain.Bytes())
	if err != nil {
		t.Fatalf("encryptCBC: %v", err)
	}
	if want := mustB64(t, v.EncryptedData); !bytes.Equal(got, want) {
		t.Errorf("encryptCBC(vector) = %s, want %s", base64.StdEncoding.EncodeToString(got), v.EncryptedData)
	}
	// And the test's decrypt, used below, reads it back.
	back, err := decryptCBC(v.SessionKey, v.IV, v.EncryptedData)
	if err != nil || string(back) != vectorPlaintext {
		t.Errorf("decryptCBC(vector) = %q, %v", back, err)
	}

	for _, bad := range []struct{ key, iv []byte }{
		{make([]byte, 24), make([]byte, 16)},
		{make([]byte, 16), make([]byte, 8)},
	} {
		if _, err := encryptCBC(bad.key, bad.iv, []byte("x")); err == nil {
			t.Errorf("encryptCBC with a %d-byte key and %d-byte iv: no error", len(bad.key), len(bad.iv))
		}
	}
}

// Reference §3.8, rawData SHA-1 vector.
func TestRawDataSignatureVector(t *testing.T) {
	const rawData = `{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}`
	if got, want := rawDataSignature(rawData, "HyVFkGl5F5OQWJZZaNzBBg=="), "75e81ceda165f4ffa64f4068af58c64b8f54b88c"; got != want {
		t.Errorf("rawDataSignature(vector) = %s, want %s", got, want)
	}
}

// decryptCBC decrypts as a backend does (reference §3.7): AES-128-CBC,
// PKCS#7 checked.
func decryptCBC(sessionKey, iv, data string) ([]byte, error) {
	key, err1 := base64.StdEncoding.DecodeString(sessionKey)
	ivb, err2 := base64.StdEncoding.DecodeString(iv)
	ct, err3 := base64.StdEncoding.DecodeString(data)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	if len(key) != 16 || len(ivb) != 16 || len(ct) == 0 || len(ct)%16 != 0 {
		return nil, errors.New("bad lengths")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, ivb).CryptBlocks(out, ct)
	pad := int(out[len(out)-1])
	if pad < 1 || pad > 16 || !bytes.Equal(out[len(out)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errors.New("bad padding")
	}
	return out[:len(out)-pad], nil
}

// encrypted calls the control API.
func (e *env) encrypted(t *testing.T, app App, user, kind string) EncryptedData {
	t.Helper()
	var d EncryptedData
	if status := e.control(t, http.MethodPost, "/miniprogram/encrypted", map[string]string{"appid": app.AppID, "user": user, "kind": kind}, &d); status != http.StatusOK {
		t.Fatalf("POST /miniprogram/encrypted %s/%s/%s: status %d", app.Name, user, kind, status)
	}
	return d
}

// Reference §3.7, §7 item 5: user info encrypted with the current
// session_key, with rawData and its SHA-1 signature.
func TestEncryptedUserInfo(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name string
		app  App
		user string
	}{
		{"bound app", appA, "alice"},
		{"unbound app", appU, "bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := e.login(t, tt.app, tt.user).SessionKey
			d := e.encrypted(t, tt.app, tt.user, EncryptedUserInfo)
			if len(d.IV) != 24 || len(mustB64(t, d.IV)) != 16 {
				t.Errorf("iv = %q, want base64 of 16 bytes", d.IV)
			}
			plain, err := decryptCBC(key, d.IV, d.EncryptedData)
			if err != nil {
				t.Fatalf("decrypt with the current session_key: %v", err)
			}
			if !bytes.HasPrefix(plain, []byte(`{"openId":"`)) {
				t.Errorf("plaintext %s, want WeChat's field order starting with openId", plain)
			}
			var got map[string]any
			if err := json.Unmarshal(plain, &got); err != nil {
				t.Fatalf("plaintext %s: %v", plain, err)
			}
			nick := strings.ToUpper(tt.user[:1]) + tt.user[1:]
			want := map[string]any{
				"openId":    openID(tt.app.AppID, tt.user),
				"nickName":  nick,
				"gender":    0.0,
				"language":  "zh_CN",
				"city":      "",
				"province":  "",
				"country":   "",
				"avatarUrl": avatarURL(tt.user),
				"watermark": map[string]any{"timestamp": float64(e.clock.Now().Unix()), "appid": tt.app.AppID},
			}
			if !tt.app.Unbound {
				want["unionId"] = unionID(tt.user)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decrypted user info (-want +got):\n%s", diff)
			}

			// rawData is exactly the public profile fields, signed with
			// sha1(rawData + session_key).
			var profile map[string]any
			if err := json.Unmarshal([]byte(d.RawData), &profile); err != nil {
				t.Fatalf("raw_data %q: %v", d.RawData, err)
			}
			for _, k := range []string{"openId", "unionId", "watermark"} {
				delete(want, k)
			}
			if diff := cmp.Diff(want, profile); diff != "" {
				t.Errorf("raw_data (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(d.RawData, `{"nickName":`) || !strings.Contains(string(plain), strings.TrimSuffix(strings.TrimPrefix(d.RawData, "{"), "}")) {
				t.Errorf("raw_data %s is not the profile fields as they appear in the plaintext %s", d.RawData, plain)
			}
			sum := sha1.Sum([]byte(d.RawData + key))
			if d.Signature != hex.EncodeToString(sum[:]) {
				t.Errorf("signature = %s, want sha1(raw_data + session_key)", d.Signature)
			}
		})
	}
}

// Reference §3.7: old phone-button data; no rawData or signature.
func TestEncryptedPhone(t *testing.T) {
	e := newEnv(t, nil)
	key := e.login(t, appA, "bob").SessionKey
	d, err := e.sb.Encrypted(appA.AppID, "bob", EncryptedPhone)
	if err != nil {
		t.Fatalf("Encrypted: %v", err)
	}
	if d.RawData != "" || d.Signature != "" {
		t.Errorf("phone data raw_data %q, signature %q; want both empty", d.RawData, d.Signature)
	}
	plain, err := decryptCBC(key, d.IV, d.EncryptedData)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(plain, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"phoneNumber":     "13800000002",
		"purePhoneNumber": "13800000002",
		"countryCode":     "86",
		"watermark":       map[string]any{"timestamp": float64(e.clock.Now().Unix()), "appid": appA.AppID},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decrypted phone (-want +got):\n%s", diff)
	}

	// The control API answers the same shape, empty strings included.
	var raw map[string]any
	e.control(t, http.MethodPost, "/miniprogram/encrypted", map[string]string{"appid": appA.AppID, "user": "bob", "kind": "phone"}, &raw)
	if raw["raw_data"] != "" || raw["signature"] != "" || raw["iv"] == "" || raw["encrypted_data"] == "" {
		t.Errorf("POST /miniprogram/encrypted phone = %v", raw)
	}
}

// Reference §3.9, docs/sandbox.md rotate: data encrypted after a rotation
// needs the new key; the old key no longer opens it.
func TestEncryptedAfterRotate(t *testing.T) {
	e := newEnv(t, nil)
	old := e.login(t, appA, "alice").SessionKey
	before := e.encrypted(t, appA, "alice", EncryptedUserInfo)
	if err := e.sb.RotateSessionKey(appA.AppID, "alice"); err != nil {
		t.Fatalf("RotateSessionKey: %v", err)
	}
	cur := e.sb.SessionKey(appA.AppID, "alice")
	after := e.encrypted(t, appA, "alice", EncryptedUserInfo)

	if _, err := decryptCBC(old, before.IV, before.EncryptedData); err != nil {
		t.Errorf("data from before the rotation with the old key: %v", err)
	}
	if _, err := decryptCBC(cur, after.IV, after.EncryptedData); err != nil {
		t.Errorf("data from after the rotation with the new key: %v", err)
	}
	if plain, err := decryptCBC(old, after.IV, after.EncryptedData); err == nil && json.Valid(plain) {
		t.Errorf("data from after the rotation opened with the old key: %s", plain)
	}
	if after.Signature == rawDataSignature(after.RawData, old) {
		t.Errorf("signature after the rotation uses the old key")
	}
	if before.IV == after.IV {
		t.Errorf("two encryptions share iv %q, want a random one each", before.IV)
	}
}

func TestEncryptedErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.login(t, appA, "alice")
	tests := []struct {
		name              string
		appID, user, kind string
		status            int
	}{
		{"not logged in yet", appA.AppID, "bob", "userinfo", 404},
		{"logged in elsewhere only", appB.AppID, "alice", "phone", 404},
		{"unknown user", appA.AppID, "mallory", "userinfo", 404},
		{"unknown app", "wxunknown", "alice", "userinfo", 404},
		{"unknown kind", appA.AppID, "alice", "profile", 400},
		{"no kind", appA.AppID, "alice", "", 400},
		{"official account", appOA.AppID, "alice", "userinfo", 400},
		{"no appid", "", "alice", "userinfo", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got errorJSON
			status := e.control(t, http.MethodPost, "/miniprogram/encrypted", map[string]string{"appid": tt.appID, "user": tt.user, "kind": tt.kind}, &got)
			if status != tt.status || got.Description == "" {
				t.Errorf("POST /miniprogram/encrypted = %d %+v, want %d", status, got, tt.status)
			}
		})
	}
}
