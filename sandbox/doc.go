// Package sandbox imitates the WeChat servers that wxauth talks to, so that
// wxauth can be developed, demonstrated and tested end to end without a real
// WeChat account (spec/api.md §5).
//
// It owns three things, all served by one [http.Handler] from [New]:
//
//   - WeChat's server API under /sandbox/api, standing for
//     https://api.weixin.qq.com: the same paths, parameters, response fields,
//     errcodes and quirks as WeChat (HTTP 200 for errors, text/plain JSON,
//     a per-call " rid: …" suffix on every errmsg), written from
//     shared/reference/wechat-api.md and never from wxauth's own WeChat
//     client, so that the two check each other.
//   - WeChat's browser pages under /sandbox/open, standing for
//     https://open.weixin.qq.com (the consent pages; not served yet).
//   - A JSON control API under /sandbox/v1 that plays the parts WeChat leaves
//     to the phone: registering apps and test users, handing out the code
//     wx.login() would give a user, injecting faults and reporting call
//     counts. Go tests may call the same operations as methods
//     ([Sandbox.IssueCode], [Sandbox.AddUser], [Sandbox.InjectFault], …).
//
// All state lives in memory. Identities are deterministic: a user's openid is
// derived from the appid and the user's name, the unionid from the name
// alone, so a restarted sandbox hands wxauth the same identities again.
//
// The package imports nothing of wxauth's own. It leaves to others everything
// wxauth itself does with the answers: storing users, sessions and tokens.
//
// Endpoints are added one file per WeChat topic (jscode2session.go, …); each
// registers itself through one helper that counts the call and applies
// injected faults before the endpoint's own logic runs.
package sandbox
