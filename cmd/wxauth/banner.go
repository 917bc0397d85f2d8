package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/wxauth/wxauth/internal/config"
)

// printDevBanner tells a newcomer where to click and how to log a mini
// program user in with curl against the sandbox.
func printDevBanner(w io.Writer, origin, data string, cfg config.Config) {
	mp := ""
	var apps []string
	var mobile *config.App
	for _, a := range cfg.Apps {
		apps = append(apps, fmt.Sprintf("%s (%s, appid %s)", a.Name, a.Kind, a.AppID))
		if a.Kind == config.KindMiniProgram && mp == "" {
			mp = a.AppID
		}
		if a.Kind == config.KindMobileApp && mobile == nil {
			mobile = &a
		}
	}
	fmt.Fprintf(w, `wxauth dev is running on %[1]s  (data in %[2]s)

  Demo page        %[1]s/demo/
  API              %[1]s/v1/
  JWKS             %[1]s/.well-known/jwks.json
  Metrics          %[1]s/metrics
  WeChat sandbox   %[1]s/sandbox/api   (stands for api.weixin.qq.com)
  Sandbox control  %[1]s/sandbox/v1/users
  Apps             %[3]s
  Test users       alice, bob, snapshot

Log a mini program user in (copy-paste into another terminal):

  # 1. what wx.login() would give alice
  CODE=$(curl -s -X POST %[1]s/sandbox/v1/miniprogram/code -d '{"appid":"%[4]s","user":"alice"}' | sed 's/.*"code":"\([^"]*\)".*/\1/')
  # 2. log in: wxauth exchanges the code with the sandbox and answers tokens
  curl -s -X POST %[1]s/v1/miniprogram/login -d "{\"app\":\"mp\",\"code\":\"$CODE\"}" | tee /tmp/wxauth-login.json
  AT=$(sed 's/.*"access_token":"\([^"]*\)".*/\1/' /tmp/wxauth-login.json)
  RT=$(sed 's/.*"refresh_token":"\([^"]*\)".*/\1/' /tmp/wxauth-login.json)
  # 3. call a protected endpoint
  curl -s %[1]s/v1/me -H "Authorization: Bearer $AT"
  # 4. refresh (the old refresh token is now spent)
  curl -s -X POST %[1]s/v1/token/refresh -d "{\"refresh_token\":\"$RT\"}"
  # 5. log out: the access token stops working at once
  curl -s -i -X POST %[1]s/v1/logout -H "Authorization: Bearer $AT"

%[5]sStop with Ctrl-C.
`, origin, data, strings.Join(apps, ", "), mp, appWalkthrough(origin, mobile))
}

// appWalkthrough is the native app login with curl (docs/app-login.md),
// when a mobile app is configured.
func appWalkthrough(origin string, a *config.App) string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf(`Log a native app user in (what the WeChat SDK's SendAuth would give alice):

  CODE=$(curl -s -X POST %[1]s/sandbox/v1/app/code -d '{"appid":"%[2]s","user":"alice"}' | sed 's/.*"code":"\([^"]*\)".*/\1/')
  curl -s -X POST %[1]s/v1/app/login -d "{\"app\":\"%[3]s\",\"code\":\"$CODE\"}"

`, origin, a.AppID, a.Name)
}
