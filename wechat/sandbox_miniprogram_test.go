package wechat_test

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/wxauth/wxauth/sandbox"
	"github.com/wxauth/wxauth/wechat"
)

// The Mini Program calls after login, and the app token manager, checked
// against the sandbox over real HTTP (both written from the reference, not
// from each other).
func TestMiniProgramAgainstSandbox(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{Apps: []sandbox.App{
		{Name: "mp", Kind: sandbox.KindMiniProgram, AppID: "wxmp", Secret: "mp-secret"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sb)
	defer hs.Close()
	c, err := wechat.New(wechat.Config{APIBase: hs.URL + sandbox.APIPrefix})
	if err != nil {
		t.Fatal(err)
	}
	for _, legacy := range []bool{false, true} {
		tm, err := wechat.NewTokenManager(wechat.TokenManagerConfig{
			Client:  c,
			Cache:   wechat.NewMemoryTokenCache(),
			Secrets: func(appID string) (string, bool) { return "mp-secret", appID == "wxmp" },
			Legacy:  legacy,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		code, err := sb.IssueCode("wxmp", "alice")
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Code2Session(ctx, "wxmp", "mp-secret", code)
		if err != nil {
			t.Fatalf("Code2Session = %v", err)
		}
		check := func(key string) error {
			return tm.Do(ctx, "wxmp", func(token string) error { return c.CheckSessionKey(ctx, token, s.OpenID, key) })
		}
		if err := check(s.SessionKey); err != nil {
			t.Errorf("legacy=%v: CheckSessionKey(current key) = %v, want nil", legacy, err)
		}

		// Tokens killed behind the manager's back: Do refetches once.
		if err := sb.InvalidateAppTokens("wxmp"); err != nil {
			t.Fatal(err)
		}
		if err := check(s.SessionKey); err != nil {
			t.Errorf("legacy=%v: CheckSessionKey after the tokens were invalidated = %v, want nil after one retry", legacy, err)
		}

		phoneCode, err := sb.IssuePhoneCode("wxmp", "alice", "+8613912345678")
		if err != nil {
			t.Fatal(err)
		}
		var p wechat.PhoneInfo
		err = tm.Do(ctx, "wxmp", func(token string) (err error) {
			p, err = c.PhoneNumber(ctx, token, phoneCode, s.OpenID)
			return err
		})
		if err != nil || p.PurePhoneNumber != "13912345678" || p.CountryCode != "86" || p.Watermark.AppID != "wxmp" {
			t.Errorf("legacy=%v: PhoneNumber = %#v, %v; want 13912345678 in +86 for wxmp", legacy, p, err)
		}

		// Encrypted data, before and after the key changes (§3.9).
		for _, kind := range []string{sandbox.EncryptedUserInfo, sandbox.EncryptedPhone} {
			data, err := sb.Encrypted("wxmp", "alice", kind)
			if err != nil {
				t.Fatal(err)
			}
			if kind == sandbox.EncryptedUserInfo {
				u, err := wechat.DecryptUserInfo("wxmp", s.SessionKey, data.EncryptedData, data.IV)
				if err != nil || u.OpenID != s.OpenID || u.UnionID != s.UnionID {
					t.Errorf("DecryptUserInfo = %+v, %v; want openid %s", u, err, s.OpenID)
				}
				if !wechat.VerifyRawData(data.RawData, s.SessionKey, data.Signature) {
					t.Errorf("VerifyRawData(sandbox's rawData) = false")
				}
			} else if _, err := wechat.DecryptPhone("wxmp", s.SessionKey, data.EncryptedData, data.IV); err != nil {
				t.Errorf("DecryptPhone = %v", err)
			}
			if _, err := wechat.DecryptUserInfo("wxother", s.SessionKey, data.EncryptedData, data.IV); !errors.Is(err, wechat.ErrWatermark) {
				t.Errorf("DecryptUserInfo for another app = %v, want ErrWatermark", err)
			}
		}
		if err := sb.RotateSessionKey("wxmp", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := check(s.SessionKey); !errors.Is(err, wechat.ErrSessionKeyStale) {
			t.Errorf("legacy=%v: CheckSessionKey(rotated key) = %v, want ErrSessionKeyStale", legacy, err)
		}
		data, err := sb.Encrypted("wxmp", "alice", sandbox.EncryptedUserInfo)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wechat.DecryptUserInfo("wxmp", s.SessionKey, data.EncryptedData, data.IV); !errors.Is(err, wechat.ErrIllegalBuffer) {
			t.Errorf("DecryptUserInfo with the old key = %v, want ErrIllegalBuffer", err)
		}
		if _, err := wechat.DecryptUserInfo("wxmp", sb.SessionKey("wxmp", "alice"), data.EncryptedData, data.IV); err != nil {
			t.Errorf("DecryptUserInfo with the new key = %v", err)
		}
	}
}
