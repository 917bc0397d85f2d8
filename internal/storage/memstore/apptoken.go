package memstore

import (
	"github.com/wxauth/wxauth/wechat"
)

var _ wechat.TokenCache = (*Store)(nil)

// A Store's app access tokens and fetch locks are wechat's in-process
// cache (wechat.NewMemoryTokenCache), embedded in Store: one
// implementation serves a program that uses package wechat alone and
// `wxauth dev`, and both pass the stores' TokenCache conformance suite.
// Expiry is judged by the real clock, as the interface carries no time.
type appTokens = wechat.TokenCache
