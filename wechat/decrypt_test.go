package wechat_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wxauth/wxauth/wechat"
)

// decryptVector is WeChat's official WXBizDataCrypt sample (reference §3.8),
// copied from the reference into testdata.
type decryptVector struct {
	AppID         string          `json:"appid"`
	SessionKey    string          `json:"session_key"`
	EncryptedData string          `json:"encrypted_data"`
	IV            string          `json:"iv"`
	Plaintext     json.RawMessage `json:"plaintext"`
}

func loadVector(tb testing.TB) decryptVector {
	tb.Helper()
	b, err := os.ReadFile("testdata/wechat-decrypt-vector.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v decryptVector
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// Keys of reference §3.8 other than the vector's.
const (
	otherKey   = "HyVFkGl5F5OQWJZZaNzBBg=="
	otherAppID = "wx0000000000000000"
)

// decryptSentinels are the classes of DecryptError.
var decryptSentinels = []error{
	wechat.ErrIllegalAESKey, wechat.ErrIllegalIV, wechat.ErrIllegalBuffer, wechat.ErrDecodeBase64, wechat.ErrWatermark,
}

// encrypt is the sandbox's side of reference §3.7, written here from the
// reference: PKCS#7 padding, AES-128-CBC, standard base64.
func encrypt(tb testing.TB, sessionKey, iv string, plain []byte) string {
	tb.Helper()
	key, err := base64.StdEncoding.DecodeString(sessionKey)
	if err != nil {
		tb.Fatal(err)
	}
	ivb, err := base64.StdEncoding.DecodeString(iv)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(encryptRaw(tb, key, ivb, pad(plain)))
}

func pad(plain []byte) []byte {
	n := aes.BlockSize - len(plain)%aes.BlockSize
	return append(bytes.Clone(plain), bytes.Repeat([]byte{byte(n)}, n)...)
}

// encryptRaw encrypts whole blocks, padding left to the caller.
func encryptRaw(tb testing.TB, key, iv, blocks []byte) []byte {
	tb.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]byte, len(blocks))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, blocks)
	return out
}

func TestDecryptVector(t *testing.T) {
	v := loadVector(t)
	got, err := wechat.Decrypt(v.SessionKey, v.EncryptedData, v.IV)
	if err != nil {
		t.Fatalf("Decrypt(vector) = %v", err)
	}
	if !bytes.Equal(got, v.Plaintext) || len(got) != 393 {
		t.Errorf("Decrypt(vector) = %d bytes %q,\nwant 393 bytes %q", len(got), got, v.Plaintext)
	}
	// The test's encryptor, and so the sandbox's, agrees byte for byte.
	if enc := encrypt(t, v.SessionKey, v.IV, got); enc != v.EncryptedData {
		t.Errorf("encrypt(plaintext) = %s, want the vector's ciphertext", enc)
	}

	u, err := wechat.DecryptUserInfo(v.AppID, v.SessionKey, v.EncryptedData, v.IV)
	if err != nil {
		t.Fatalf("DecryptUserInfo(vector) = %v", err)
	}
	want := wechat.UserInfo{
		OpenID:    "oGZUI0egBJY1zhBYw2KhdUfwVJJE",
		NickName:  "Band",
		Gender:    1,
		Language:  "zh_CN",
		City:      "Guangzhou",
		Province:  "Guangdong",
		Country:   "CN",
		AvatarURL: "http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0",
		UnionID:   "ocMvos6NjeKLIBqg5Mr9QjxrP1FA",
		Watermark: wechat.Watermark{Timestamp: 1477314187, AppID: "wx4f4bc4dec97d474b"},
	}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("DecryptUserInfo(vector) mismatch (-want +got):\n%s", diff)
	}
}

// TestDecryptVectorFailures covers the failures of reference §3.7–§3.8:
// each check (padding, JSON, watermark) catches a different mistake.
func TestDecryptVectorFailures(t *testing.T) {
	v := loadVector(t)
	plain := []byte(v.Plaintext)

	t.Run("wrong key fails at unpadding", func(t *testing.T) {
		got, err := wechat.Decrypt(otherKey, v.EncryptedData, v.IV)
		wantDecryptError(t, err, -41003, wechat.ErrIllegalBuffer)
		if got != nil {
			t.Errorf("Decrypt = %q, want nil", got)
		}
		_, err = wechat.DecryptUserInfo(v.AppID, otherKey, v.EncryptedData, v.IV)
		wantDecryptError(t, err, -41003, wechat.ErrIllegalBuffer)
	})

	t.Run("wrong appid fails at the watermark", func(t *testing.T) {
		_, err := wechat.DecryptUserInfo(otherAppID, v.SessionKey, v.EncryptedData, v.IV)
		wantDecryptError(t, err, -41003, wechat.ErrIllegalBuffer, wechat.ErrWatermark)
	})

	t.Run("wrong IV garbles the first block, JSON fails", func(t *testing.T) {
		iv := base64.StdEncoding.EncodeToString(make([]byte, 16))
		got, err := wechat.Decrypt(v.SessionKey, v.EncryptedData, iv)
		if err != nil {
			t.Fatalf("Decrypt with another IV = %v, want the padding to pass", err)
		}
		if bytes.Equal(got[:16], plain[:16]) || !bytes.Equal(got[16:], plain[16:]) {
			t.Errorf("Decrypt with another IV = %q, want only the first block changed", got)
		}
		_, err = wechat.DecryptUserInfo(v.AppID, v.SessionKey, v.EncryptedData, iv)
		wantDecryptError(t, err, -41003, wechat.ErrIllegalBuffer)
	})
}

func wantDecryptError(t *testing.T, err error, code int, want ...error) {
	t.Helper()
	var de *wechat.DecryptError
	if !errors.As(err, &de) || de.Code != code {
		t.Fatalf("error = %v, want a *DecryptError with code %d", err, code)
	}
	var got []error
	for _, s := range decryptSentinels {
		if errors.Is(err, s) {
			got = append(got, s)
		}
	}
	if diff := cmp.Diff(errNames(want), errNames(got)); diff != "" {
		t.Errorf("error %v matches (-want +got):\n%s", err, diff)
	}
}

func TestDecryptBadInput(t *testing.T) {
	v := loadVector(t)
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name           string
		key, data, iv  string
		code           int
		want           error
		wantNotPresent string // in the error text
	}{
		{"key too short", v.SessionKey[1:], v.EncryptedData, v.IV, -41001, wechat.ErrIllegalAESKey, ""},
		{"key too long", v.SessionKey + "A", v.EncryptedData, v.IV, -41001, wechat.ErrIllegalAESKey, ""},
		{"empty key", "", v.EncryptedData, v.IV, -41001, wechat.ErrIllegalAESKey, ""},
		{"key of 18 bytes", b64(make([]byte, 18)), v.EncryptedData, v.IV, -41001, wechat.ErrIllegalAESKey, ""},
		{"key not base64", "tiihtNczf5v6AKRyjwEU!Q==", v.EncryptedData, v.IV, -41004, wechat.ErrDecodeBase64, "tiihtNczf5v6AKRyjwEU"},
		{"key URL alphabet", "tiihtNczf5v6AKRyjwEU-Q==", v.EncryptedData, v.IV, -41004, wechat.ErrDecodeBase64, ""},
		{"key non-canonical", "tiihtNczf5v6AKRyjwEUhR==", v.EncryptedData, v.IV, -41004, wechat.ErrDecodeBase64, ""},
		{"iv too short", v.SessionKey, v.EncryptedData, v.IV[:20], -41002, wechat.ErrIllegalIV, ""},
		{"empty iv", v.SessionKey, v.EncryptedData, "", -41002, wechat.ErrIllegalIV, ""},
		{"iv of 18 bytes", v.SessionKey, v.EncryptedData, b64(make([]byte, 18)), -41002, wechat.ErrIllegalIV, ""},
		{"iv not base64", v.SessionKey, v.EncryptedData, "r7BXXKkLb8qrSNn05n0q$A==", -41004, wechat.ErrDecodeBase64, ""},
		{"data not base64", v.SessionKey, "%" + v.EncryptedData[1:], v.IV, -41004, wechat.ErrDecodeBase64, v.EncryptedData[1:20]},
		{"data without padding", v.SessionKey, strings.TrimRight(v.EncryptedData, "="), v.IV, -41004, wechat.ErrDecodeBase64, ""},
		{"empty data", v.SessionKey, "", v.IV, -41003, wechat.ErrIllegalBuffer, ""},
		{"data of 17 bytes", v.SessionKey, b64(make([]byte, 17)), v.IV, -41003, wechat.ErrIllegalBuffer, ""},
		{"data of 8 bytes", v.SessionKey, b64(make([]byte, 8)), v.IV, -41003, wechat.ErrIllegalBuffer, ""},
		{"data one block short", v.SessionKey, b64(mustB64(t, v.EncryptedData)[:len(mustB64(t, v.EncryptedData))-16]), v.IV, -41003, wechat.ErrIllegalBuffer, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wechat.Decrypt(tt.key, tt.data, tt.iv)
			if got != nil {
				t.Errorf("Decrypt = %q, want nil", got)
			}
			wantDecryptError(t, err, tt.code, tt.want)
			for _, secret := range []string{v.SessionKey, tt.key, tt.wantNotPresent} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains input %q", err, secret)
				}
			}
			_, err = wechat.DecryptUserInfo(v.AppID, tt.key, tt.data, tt.iv)
			wantDecryptError(t, err, tt.code, tt.want)
			_, err = wechat.DecryptPhone(v.AppID, tt.key, tt.data, tt.iv)
			wantDecryptError(t, err, tt.code, tt.want)
		})
	}
}

func mustB64(tb testing.TB, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestDecryptPadding checks that every pad byte is checked: blocks built
// without padding, whose last bytes are each wrong in one way.
func TestDecryptPadding(t *testing.T) {
	v := loadVector(t)
	key, iv := mustB64(t, v.SessionKey), mustB64(t, v.IV)
	body := []byte(`{"a":"0123456789abcdef0123456789"}`) // 34 bytes
	tests := []struct {
		name    string
		blocks  []byte
		want    []byte // nil for a padding error
		wantErr bool
	}{
		{name: "pad 14", blocks: pad(body), want: body},
		{name: "full block of 16", blocks: pad(body[:32]), want: body[:32]},
		{name: "pad 1", blocks: pad(body[:31]), want: body[:31]},
		{name: "pad 0", blocks: append(bytes.Clone(body[:31]), 0), wantErr: true},
		{name: "pad 17", blocks: append(bytes.Clone(body[:16]), bytes.Repeat([]byte{17}, 16)...), wantErr: true},
		{name: "pad 255", blocks: append(bytes.Clone(body[:31]), 255), wantErr: true},
		{name: "first pad byte wrong", blocks: append(bytes.Clone(body[:28]), 3, 4, 4, 4), wantErr: true},
		{name: "middle pad byte wrong", blocks: append(bytes.Clone(body[:28]), 4, 4, 9, 4), wantErr: true},
		{name: "16 with one wrong", blocks: append(append(bytes.Clone(body[:16]), 15), bytes.Repeat([]byte{16}, 15)...), wantErr: true},
		{name: "pad 16 over a whole block", blocks: append(bytes.Clone(body[:16]), bytes.Repeat([]byte{16}, 16)...), want: body[:16]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.blocks)%16 != 0 {
				t.Fatalf("bad test: %d bytes", len(tt.blocks))
			}
			data := base64.StdEncoding.EncodeToString(encryptRaw(t, key, iv, tt.blocks))
			got, err := wechat.Decrypt(v.SessionKey, data, v.IV)
			if tt.wantErr {
				wantDecryptError(t, err, -41003, wechat.ErrIllegalBuffer)
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("Decrypt = %q, %v; want %q, nil", got, err, tt.want)
			}
		})
	}
}

func TestDecryptJSON(t *testing.T) {
	v := loadVector(t)
	key, iv := v.SessionKey, v.IV
	wm := `"watermark":{"timestamp":1637744274,"appid":"` + v.AppID + `"}`
	tests := []struct {
		name  string
		plain string
		want  []error // nil for success
	}{
		{name: "minimal", plain: `{` + wm + `}`},
		{name: "not JSON", plain: `openId=x`, want: []error{wechat.ErrIllegalBuffer}},
		{name: "truncated JSON", plain: `{` + wm, want: []error{wechat.ErrIllegalBuffer}},
		{name: "JSON array", plain: `[1,2]`, want: []error{wechat.ErrIllegalBuffer}},
		{name: "JSON null", plain: `null`, want: []error{wechat.ErrIllegalBuffer, wechat.ErrWatermark}},
		{name: "no watermark", plain: `{"openId":"o"}`, want: []error{wechat.ErrIllegalBuffer, wechat.ErrWatermark}},
		{name: "empty watermark appid", plain: `{"watermark":{"appid":""}}`, want: []error{wechat.ErrIllegalBuffer, wechat.ErrWatermark}},
		{name: "gender as string", plain: `{"gender":"1",` + wm + `}`, want: []error{wechat.ErrIllegalBuffer}},
		{name: "trailing garbage", plain: `{` + wm + `}x`, want: []error{wechat.ErrIllegalBuffer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wechat.DecryptUserInfo(v.AppID, key, encrypt(t, key, iv, []byte(tt.plain)), iv)
			if tt.want == nil {
				if err != nil {
					t.Errorf("DecryptUserInfo(%s) = %v, want nil", tt.plain, err)
				}
				return
			}
			wantDecryptError(t, err, -41003, tt.want...)
			if strings.Contains(err.Error(), "openId") || strings.Contains(err.Error(), "watermark\"") {
				t.Errorf("error %q quotes the plaintext", err)
			}
		})
	}
	if _, err := wechat.DecryptUserInfo("", key, encrypt(t, key, iv, []byte(`{"watermark":{"appid":""}}`)), iv); !errors.Is(err, wechat.ErrInvalidRequest) {
		t.Errorf("DecryptUserInfo with an empty app ID = %v, want ErrInvalidRequest", err)
	}
}

func TestDecryptPhone(t *testing.T) {
	v := loadVector(t)
	key, iv := v.SessionKey, v.IV
	want := wechat.PhoneInfo{
		PhoneNumber:     "13580006666",
		PurePhoneNumber: "13580006666",
		CountryCode:     "86",
		Watermark:       wechat.Watermark{Timestamp: 1477314187, AppID: v.AppID},
	}
	for _, cc := range []string{`"86"`, `86`} {
		plain := `{"phoneNumber":"13580006666","purePhoneNumber":"13580006666","countryCode":` + cc +
			`,"watermark":{"appid":"` + v.AppID + `","timestamp":1477314187}}`
		got, err := wechat.DecryptPhone(v.AppID, key, encrypt(t, key, iv, []byte(plain)), iv)
		if err != nil {
			t.Fatalf("DecryptPhone(countryCode %s) = %v", cc, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DecryptPhone(countryCode %s) mismatch (-want +got):\n%s", cc, diff)
		}
		_, err = wechat.DecryptPhone(otherAppID, key, encrypt(t, key, iv, []byte(plain)), iv)
		wantDecryptError(t, err, -41003, wechat.ErrIllegalBuffer, wechat.ErrWatermark)
	}
	// User info is not a phone number.
	_, err := wechat.DecryptPhone(v.AppID, v.SessionKey, v.EncryptedData, v.IV)
	wantDecryptError(t, err, -41003, wechat.ErrIllegalBuffer)
	// Nor is a countryCode of another type.
	plain := `{"phoneNumber":"1","countryCode":true,"watermark":{"appid":"` + v.AppID + `"}}`
	_, err = wechat.DecryptPhone(v.AppID, key, encrypt(t, key, iv, []byte(plain)), iv)
	wantDecryptError(t, err, -41003, wechat.ErrIllegalBuffer)
}

func TestVerifyRawData(t *testing.T) {
	// Reference §3.8, the official doc example.
	const (
		rawData   = `{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}`
		key       = "HyVFkGl5F5OQWJZZaNzBBg=="
		signature = "75e81ceda165f4ffa64f4068af58c64b8f54b88c"
	)
	tests := []struct {
		name                    string
		rawData, key, signature string
		want                    bool
	}{
		{"vector", rawData, key, signature, true},
		{"upper-case hex", rawData, key, strings.ToUpper(signature), true},
		{"rawData changed", strings.Replace(rawData, "Band", "Bend", 1), key, signature, false},
		{"rawData reformatted", strings.ReplaceAll(rawData, ",", ", "), key, signature, false},
		{"other key", rawData, "tiihtNczf5v6AKRyjwEUhQ==", signature, false},
		{"signature changed", rawData, key, "75e81ceda165f4ffa64f4068af58c64b8f54b88d", false},
		{"signature truncated", rawData, key, signature[:39], false},
		{"signature too long", rawData, key, signature + "00", false},
		{"signature not hex", rawData, key, "75e81ceda165f4ffa64f4068af58c64b8f54b88z", false},
		{"empty signature", rawData, key, "", false},
		{"empty key", rawData, "", signature, false},
		{"empty rawData", "", key, signature, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wechat.VerifyRawData(tt.rawData, tt.key, tt.signature); got != tt.want {
				t.Errorf("VerifyRawData(%.20q…, %q, %q) = %v, want %v", tt.rawData, tt.key, tt.signature, got, tt.want)
			}
		})
	}
}

// FuzzDecrypt checks that Decrypt never panics, fails only with a
// *DecryptError of one class, and accepts only well-padded data: whatever it
// decrypts, padded again and encrypted again, is the ciphertext it was given.
func FuzzDecrypt(f *testing.F) {
	v := loadVector(f)
	f.Add(v.SessionKey, v.EncryptedData, v.IV)
	f.Add(otherKey, v.EncryptedData, v.IV)
	f.Add(v.SessionKey, v.EncryptedData, "AAAAAAAAAAAAAAAAAAAAAA==")
	f.Add(v.SessionKey, v.EncryptedData[:len(v.EncryptedData)-24]+"====", v.IV)
	f.Add(v.SessionKey, encrypt(f, v.SessionKey, v.IV, []byte("{}")), v.IV)
	f.Add(v.SessionKey, encrypt(f, v.SessionKey, v.IV, nil), v.IV)
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, key, data, iv string) {
		plain, err := wechat.Decrypt(key, data, iv)
		if err != nil {
			var de *wechat.DecryptError
			if !errors.As(err, &de) || de.Code < -41004 || de.Code > -41001 {
				t.Fatalf("Decrypt = %v, want a *DecryptError with a code of -41001..-41004", err)
			}
			n := 0
			for _, s := range decryptSentinels[:4] {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 || errors.Is(err, wechat.ErrWatermark) || plain != nil {
				t.Fatalf("Decrypt = %q, %v; want nil and an error of exactly one class", plain, err)
			}
			return
		}
		if len(key) != 24 || len(iv) != 24 {
			t.Fatalf("Decrypt accepted a key of %d and an iv of %d characters", len(key), len(iv))
		}
		ct := mustB64(t, data)
		again := encryptRaw(t, mustB64(t, key), mustB64(t, iv), pad(plain))
		if !bytes.Equal(again, ct) {
			t.Fatalf("Decrypt(%q, %q, %q) = %q, which does not encrypt back to the data: padding not validated", key, data, iv, plain)
		}
		if base64.StdEncoding.EncodeToString(ct) != strings.NewReplacer("\r", "", "\n", "").Replace(data) {
			t.Fatalf("Decrypt accepted a non-canonical base64 text %q", data)
		}
	})
}

// FuzzUserInfo checks DecryptUserInfo over any plaintext under the vector's
// key: no panic; success exactly when the plaintext is a JSON object of the
// user-info shape stamped for the app, with the fields it holds. (Named so
// that "-fuzz FuzzDecrypt" matches FuzzDecrypt alone.)
func FuzzUserInfo(f *testing.F) {
	v := loadVector(f)
	f.Add(v.AppID, []byte(v.Plaintext))
	f.Add(otherAppID, []byte(v.Plaintext))
	f.Add("", []byte(v.Plaintext))
	f.Add(v.AppID, []byte(`{"watermark":{"appid":"`+v.AppID+`"}}`))
	f.Add(v.AppID, []byte(`{"openId":"o","openid":"p","OPENID":"q","watermark":{"appid":"`+v.AppID+`"},"watermark":{}}`))
	f.Add(v.AppID, []byte(`{"phoneNumber":"13580006666","countryCode":86,"watermark":{"appid":"`+v.AppID+`","timestamp":1}}`))
	f.Add(v.AppID, []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, appID string, plain []byte) {
		data := encrypt(t, v.SessionKey, v.IV, plain)
		got, err := wechat.DecryptUserInfo(appID, v.SessionKey, data, v.IV)

		// What the plaintext says, decoded independently.
		var ref struct {
			OpenID    string `json:"openId"`
			NickName  string `json:"nickName"`
			Gender    int    `json:"gender"`
			Language  string `json:"language"`
			City      string `json:"city"`
			Province  string `json:"province"`
			Country   string `json:"country"`
			AvatarURL string `json:"avatarUrl"`
			UnionID   string `json:"unionId"`
			Watermark struct {
				Timestamp int64  `json:"timestamp"`
				AppID     string `json:"appid"`
			} `json:"watermark"`
		}
		fits := json.Unmarshal(plain, &ref) == nil
		switch {
		case appID == "":
			if !errors.Is(err, wechat.ErrInvalidRequest) {
				t.Fatalf("DecryptUserInfo(empty app ID) = %v, want ErrInvalidRequest", err)
			}
		case !fits:
			wantDecryptError(t, err, -41003, wechat.ErrIllegalBuffer)
		case ref.Watermark.AppID != appID:
			wantDecryptError(t, err, -41003, wechat.ErrIllegalBuffer, wechat.ErrWatermark)
		case err != nil:
			t.Fatalf("DecryptUserInfo(%q, %q) = %v, want success", appID, plain, err)
		default:
			want := wechat.UserInfo{
				OpenID: ref.OpenID, NickName: ref.NickName, Gender: ref.Gender, Language: ref.Language,
				City: ref.City, Province: ref.Province, Country: ref.Country, AvatarURL: ref.AvatarURL,
				UnionID: ref.UnionID, Watermark: wechat.Watermark(ref.Watermark),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("DecryptUserInfo(%q) mismatch (-want +got):\n%s", plain, diff)
			}
		}
	})
}
