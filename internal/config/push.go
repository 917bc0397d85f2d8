package config

import (
	"fmt"
	"strings"

	"github.com/wxauth/wxauth/wechat/push"
)

// The push settings of official_account apps (docs/follow-login.md): the
// token and EncodingAESKey set in WeChat's 服务器配置. Shared secrets, so
// they are best given as WXAUTH_APP_<NAME>_PUSH_TOKEN and
// WXAUTH_APP_<NAME>_PUSH_AES_KEY, as the app secret is.

// appPushVar reads WXAUTH_APP_<NAME>_PUSH_TOKEN and _PUSH_AES_KEY; field
// is the app key it sets.
func appPushVar(name string) (app, field string, ok bool) {
	rest, ok := strings.CutPrefix(name, "WXAUTH_APP_")
	if !ok {
		return "", "", false
	}
	for suffix, f := range map[string]string{"_PUSH_TOKEN": "push_token", "_PUSH_AES_KEY": "push_aes_key"} {
		if a, ok := strings.CutSuffix(rest, suffix); ok && a != "" {
			return strings.ToLower(a), f, true
		}
	}
	return "", "", false
}

func (c *Config) setAppPush(app, field, v string) bool {
	for i := range c.Apps {
		if c.Apps[i].Name == app {
			*appField(&c.Apps[i], field) = v
			return true
		}
	}
	return false
}

// validatePush checks each app's push settings as WeChat's console takes
// them, naming the variable to set.
func (c *Config) validatePush(bad func(key, format string, args ...any)) {
	for i, a := range c.Apps {
		key := fmt.Sprintf("apps[%d]", i)
		name := strings.ToUpper(a.Name)
		if (a.PushToken != "" || a.PushAESKey != "") && a.Kind != KindOfficialAccount {
			bad(key+".push_token", "only official_account apps take WeChat's pushes")
			continue
		}
		if a.PushToken != "" {
			if err := push.CheckToken(a.PushToken); err != nil {
				bad(key+".push_token", "(WXAUTH_APP_%s_PUSH_TOKEN) %v, as WeChat's server configuration takes it", name, err)
			}
		}
		if a.PushAESKey != "" {
			if a.PushToken == "" {
				bad(key+".push_aes_key", "needs push_token (WXAUTH_APP_%s_PUSH_TOKEN): safe mode signs with the token too", name)
			}
			if err := push.CheckAESKey(a.PushAESKey); err != nil {
				bad(key+".push_aes_key", "(WXAUTH_APP_%s_PUSH_AES_KEY) %v", name, err)
			}
		}
	}
}
