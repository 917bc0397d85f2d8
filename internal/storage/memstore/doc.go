// Package memstore keeps wxauth's records in process memory: one [Store]
// implements [storage.Users], [storage.Sessions], [storage.OneTime],
// [storage.Limiter], [storage.SigningKeys] and wechat.TokenCache for tests,
// the dev server (`wxauth dev`) and single-instance deployments that accept
// losing every login on restart.
//
// It owns only the atomicity: each method runs under a mutex, and refreshes
// apply [storage.DecideRotation] under it. The rules themselves live in
// package storage, and the conformance suites in storagetest hold this
// backend to them (memstore_test.go).
//
// The store has no clock. Expired sessions are treated as absent by reads,
// deleted when a refresh touches them, and swept from time to time on the
// write path using the latest time a write carried. Sessions are kept in a
// compact form (times as Unix nanoseconds), each with the sealed WeChat
// session_key of the login that opened it (copied in and out, never shared
// with callers), so that 100k of them fit well within 100 MB (about 370
// bytes each with a sealed key, BenchmarkSessionMemory). Identities hold no
// session_key: a returning user's LinkIdentity changes nothing.
package memstore
