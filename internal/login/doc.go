// Package login is how people log in: every flow finds out who WeChat
// says the user is (an [Identity]) and makes one call, [Service.SignIn],
// that finds or creates the user behind it and opens a session — or, when
// registration requires a phone and the person is new, hands out a bind
// ticket instead.
//
// The package owns the rules every flow shares, each in one place:
//   - the app registry and its kinds ([Apps], apps.go);
//   - identity → user → session, user ids, the inviter rule, profile
//     updates and the per-user session quota (login.go);
//   - phone numbers in E.164 ([E164], phone.go).
//
// The flows, one file each:
//   - miniprogram.go: wx.login code → jscode2session;
//   - oauth.go, oauthflow.go: Official Account H5 and website QR login,
//     the state kept as an explicit record whose steps are compare-and-set
//     operations on the one-time store;
//   - check.go: the account check of an H5 page (is the phone's WeChat
//     account still the session's user?) on that same record;
//   - bind.go, smscode.go: bind-or-register, proving a phone by SMS code
//     or mini program phone code;
//   - miniprogramdata.go: the phone number and encrypted profile a mini
//     program sends after login, decrypted with the session's session_key.
//   - follow.go, followpush.go: follow-to-login on an Official Account:
//     the parametric QR code's picture, WeChat's pushes of a scan (each
//     handled once) and the follower's identity.
//
// Errors a client may see are *clienterr.Error values made here, with
// the sentence the client reads; anything else is internal (docs/api.md
// lists the codes). The HTTP shape is package server's, the token rules
// package token's, the limits package ratelimit's.
package login
