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
//     to the phone: registering apps and test users, handing out the codes
//     and encrypted data a Mini Program front end would get, injecting faults
//     and reporting call counts. Go tests may call the same operations as
//     methods ([Sandbox.IssueCode], [Sandbox.AddUser], [Sandbox.InjectFault],
//     …).
//
// WeChat endpoints served, each citing the reference section it imitates:
//
//	GET  /cgi-bin/token                     app access token (§2.1)
//	POST /cgi-bin/stable_token              stable app access token (§2.2)
//	GET  /sns/jscode2session                Mini Program login (§3.2)
//	GET  /wxa/checksession                  is a session_key current (§3.3)
//	GET  /wxa/resetusersessionkey           replace a session_key (§3.4)
//	POST /wxa/business/getuserphonenumber   phone number from a phone code (§3.5)
//
// The last three take an app access token and answer 41001, 40001 or 42001
// for a missing, unknown or superseded, or expired one (§2.3).
//
// Control API, under /sandbox/v1 (spec/api.md §5); errors are
// {"error", "error_description"} with 400, 404, 405 or 409:
//
//	GET  /apps                     registered apps, without secrets
//	POST /apps                     register an app           [Sandbox.AddApp]
//	GET  /users                    test users with their ids and phones
//	POST /users                    add a test user           [Sandbox.AddUser]
//	POST /miniprogram/code         a wx.login code           [Sandbox.IssueCode]
//	POST /miniprogram/phonecode    a getPhoneNumber code     [Sandbox.IssuePhoneCode]
//	POST /miniprogram/encrypted    legacy encrypted data     [Sandbox.Encrypted]
//	POST /miniprogram/rotate       replace a session_key now [Sandbox.RotateSessionKey]
//	POST /apptoken/invalidate      kill an app's tokens now  [Sandbox.InvalidateAppTokens]
//	POST /faults                   misbehave on a path       [Sandbox.InjectFault]
//	GET  /stats                    calls per WeChat path     [Sandbox.Stats]
//
// All state lives in memory. Identities are deterministic: a user's openid is
// derived from the appid and the user's name, the unionid and the phone
// number from the name alone, so a restarted sandbox hands wxauth the same
// identities again. Session keys and app access tokens are random.
//
// The package imports nothing of wxauth's own. It leaves to others everything
// wxauth itself does with the answers: storing users, sessions and tokens,
// caching app access tokens, decrypting user data.
//
// Endpoints are added one file per WeChat topic (apptoken.go,
// jscode2session.go, sessionkey.go, phone.go, encrypted.go); each registers
// itself through one helper that counts the call and applies injected faults
// before the endpoint's own logic runs.
package sandbox
