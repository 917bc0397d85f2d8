// Package storagetest holds the conformance suites every storage backend
// runs from its own test file: [RunUsers] for [storage.Users] and
// [RunSessions] for [storage.Sessions] (the shape of dex
// storage/conformance).
//
// The suites own the behaviour promised by the interface docs in package
// storage and the refresh rules of spec/api.md §4 "Sessions" as written in
// [storage.DecideRotation], including the races: concurrent linking of one
// WeChat identity or unionid ends with one user, and concurrent refreshes of
// one token end with one rotation. They leave to each backend how it gets
// there (mutex, SQL transaction, script) and how it is set up and torn down:
// the newStore function gives each subtest a fresh, empty store.
//
// Time never comes from a clock: every request carries its Now, so the
// suites are deterministic and never sleep.
package storagetest
