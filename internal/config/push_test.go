package config

import (
	"strings"
	"testing"
)

// The push settings come from the file or from WXAUTH_APP_<NAME>_PUSH_*,
// and Validate names the key and the variable of a bad one.
func TestPushSettings(t *testing.T) {
	const key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	base := func(t *testing.T, env Env) (Config, error) {
		c := Defaults()
		if err := c.Parse([]byte(sample)); err != nil {
			t.Fatal(err)
		}
		c.Apps[1].Secret = "s2"
		c.ServiceKeys[0].Secret = "0123456789abcdef"
		c.Secret = strings.Repeat("s", 32)
		if err := c.ApplyEnv(env); err != nil {
			return c, err
		}
		return c, c.Validate(true)
	}
	c, err := base(t, Env{"WXAUTH_APP_OA_PUSH_TOKEN": "tok123", "WXAUTH_APP_OA_PUSH_AES_KEY": key})
	if err != nil || c.Apps[1].PushToken != "tok123" || c.Apps[1].PushAESKey != key {
		t.Fatalf("from the environment: %v, %+v", err, c.Apps[1])
	}
	for _, tc := range []struct {
		env  Env
		want string
	}{
		{Env{"WXAUTH_APP_OA_PUSH_TOKEN": "to"}, "apps[1].push_token: (WXAUTH_APP_OA_PUSH_TOKEN) must be 3 to 32"},
		{Env{"WXAUTH_APP_OA_PUSH_TOKEN": "tok-123"}, "letters and digits"},
		{Env{"WXAUTH_APP_OA_PUSH_TOKEN": "tok123", "WXAUTH_APP_OA_PUSH_AES_KEY": key[:42]}, "apps[1].push_aes_key: (WXAUTH_APP_OA_PUSH_AES_KEY) must be 43 characters"},
		{Env{"WXAUTH_APP_OA_PUSH_AES_KEY": key}, "apps[1].push_aes_key: needs push_token"},
		{Env{"WXAUTH_APP_MP_PUSH_TOKEN": "tok123"}, "apps[0].push_token: only official_account"},
		{Env{"WXAUTH_APP_NOPE_PUSH_TOKEN": "tok123"}, `WXAUTH_APP_NOPE_PUSH_TOKEN: no app "nope"`},
	} {
		if _, err := base(t, tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
	}
	for _, a := range DevApps() {
		if a.Kind == KindOfficialAccount && (a.PushToken == "" || a.PushAESKey == "") {
			t.Errorf("dev app %s has no push settings", a.Name)
		}
	}
}
