// Package sandbox imitates the WeChat servers that wxauth talks to, so that
// wxauth can be developed, demonstrated and tested end to end without a real
// WeChat account (docs/sandbox.md).
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
//     https://open.weixin.qq.com: the Official Account authorize page and
//     the website QR login page, as consent pages listing the test users.
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
//	GET  /sns/oauth2/access_token           web OAuth code → user token (§5.3, §6)
//	GET  /sns/oauth2/refresh_token          renew a user token (§5.4)
//	GET  /sns/userinfo                      nickname and avatar (§5.5)
//	GET  /sns/auth                          is a user token valid (§5.6)
//	GET  /cgi-bin/user/info                 an Official Account's follower (§5.3, §7)
//	POST /cgi-bin/qrcode/create             a parametric QR code (docs/sandbox.md)
//
// Under MPPrefix, standing for https://mp.weixin.qq.com: GET
// /cgi-bin/showqrcode, the code's picture (a real QR code). Official
// Accounts with push settings are pushed the events of scans, signed and,
// with an EncodingAESKey, encrypted as WeChat does (push.go).
//
// checksession, resetusersessionkey and getuserphonenumber take an app
// access token and answer 41001, 40001 or 42001 for a missing, unknown or
// superseded, or expired one (§2.3); userinfo and auth do the same for a
// per-user OAuth token, and 40003 for an openid not the token's.
//
// A Mini Program user has one session_key per app at a time (§3.1, §3.9).
// As the app's [SessionKeyPolicy] says, issuing a wx.login code replaces it
// (by default every code, even one never exchanged; a minimum period may
// be set), exchanging a code answers the current key and replaces nothing,
// and a key unused for its TTL (72 hours by default) lapses: checksession
// answers 87009 and the next code or encrypted data brings a new key.
//
// Web OAuth (reference §5, §6, §6.1) works for Official Account, website
// and mobile apps only. Codes are single use, bound to app, user and scope,
// and live 5 minutes (Official Account) or 10 (website; a mobile app's
// SendAuth code, [Sandbox.IssueAppCode], too); user tokens live 7200 s and
// refresh tokens 30 days from the exchange. A refresh answers the same
// access token with its expiry reset while it is valid, a new one once it
// has expired, and always the same refresh token (§5.4). unionid is
// answered for bound apps, except for snsapi_base grants. The test user
// "snapshot" arrives as WeChat's snapshot-page virtual user on Official
// Account snsapi_userinfo logins (the only ones with a snapshot page):
// is_snapshotuser 1, with openids and unionid shared with no other user;
// users added with another [UserOptions.Snapshot] replay the other
// reported forms (empty tokens; no flag and 48001 from /sns/userinfo).
//
// Browser pages, under /sandbox/open (reference §5.1, §6; docs/sandbox.md):
//
//	GET  /connect/oauth2/authorize   Official Account consent page
//	GET  /connect/qrconnect          website QR login, as a consent page
//
// A bad link (appid, redirect_uri, response_type, scope, state) gets an
// HTML error page with WeChat's 100xx code where one fits, HTTP 400, never
// a redirect: 10003 for a redirect_uri off the app's registered
// [App.Domains] or on a non-default port (except [Config.DevOrigins]),
// 10013 for an empty state. The Official Account page opens only for a
// User-Agent holding MicroMessenger ("请在微信客户端打开链接" elsewhere).
// A good one gets a self-contained page (inline CSS and
// script, nothing loaded from elsewhere) with one "Allow as NAME" button
// per test user, id "allow-NAME", and a "Deny" button, id "deny". A click
// POSTs user=NAME or deny=1 to the page's own URL; only then is a code
// minted, and the answer {"redirect": URL} names redirect_uri?code=…&state=…
// or, for Deny on the Official Account page, redirect_uri?state=… (Deny on
// the website QR page answers {"denied": true} and the page stays, as
// WeChat's does; [Config.OfficialAccountDenyStays] makes the Official
// Account page stay too); the page goes there with
// location.replace, so it leaves no History entry. Adding
// &sandbox_user=NAME to the link skips the page: 302 straight to
// redirect_uri?code=…&state=…. Page views count in Stats and take faults
// like WeChat paths (an injected errcode shows as the error page).
//
// Control API, under /sandbox/v1 (docs/sandbox.md); errors are
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
//	GET  /sms?phone=…              delivered text messages   [Sandbox.SMS]
//	POST /officialaccount/push     an OA's push settings     [Sandbox.SetPush]
//	POST /officialaccount/scan     scan an OA's QR code      [Sandbox.ScanQRCode]
//	POST /officialaccount/event    push a chosen event       [Sandbox.PushEvent]
//	POST /followers                follow or unfollow an OA  [Sandbox.SetFollower]
//	POST /app/code                 a mobile app's SendAuth code [Sandbox.IssueAppCode]
//
// Go tests also have [Sandbox.IssueOAuthCode] (what Allow on a consent page
// mints) and [Sandbox.DeliverSMS], which wxauth's development SMS sender
// calls instead of sending; the inbox keeps the newest 100 messages per
// phone.
//
// All state lives in memory. Identities are deterministic: a user's openid is
// derived from the appid and the user's name, the unionid and the phone
// number from the name alone, so a restarted sandbox hands wxauth the same
// identities again. Codes, session keys and all tokens are random.
//
// The package imports nothing of wxauth's own. It leaves to others everything
// wxauth itself does with the answers: storing users, sessions and tokens,
// caching app access tokens, decrypting user data.
//
// Endpoints are added one file per WeChat topic (apptoken.go,
// jscode2session.go, sessionkey.go, phone.go, encrypted.go, oauth.go,
// consent.go, mobileapp.go, sms.go). WeChat paths register through handleWeChat, the
// browser pages through handlePage; both count the call and apply injected
// faults before the endpoint's own logic runs.
package sandbox
