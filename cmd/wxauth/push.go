package main

import (
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/sandbox"
)

// withPushes points the sandbox's Official Accounts at `wxauth dev`'s own
// push endpoint with their configured token and EncodingAESKey, as an
// operator sets 服务器配置 on WeChat, so that a scan of a follow-to-login
// QR code reaches wxauth out of the box (docs/follow-login.md).
func withPushes(sb []sandbox.App, apps []config.App, origin string) []sandbox.App {
	for i, a := range apps {
		if a.Kind == config.KindOfficialAccount && a.PushToken != "" {
			sb[i].PushURL, sb[i].PushToken, sb[i].PushAESKey = origin+"/v1/wechat/push/"+a.Name, a.PushToken, a.PushAESKey
		}
	}
	return sb
}
