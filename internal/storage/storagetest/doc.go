// Package storagetest holds the conformance suites every storage backend
// runs from its own test file: [RunUsers], [RunSessions], [RunOneTime],
// [RunLimiter], [RunSigningKeys], [RunTokenCache] and [RunAuditLog], one per interface (the
// shape of dex storage/conformance).
//
// The suites own the behaviour promised by the interface docs in package
// storage and the refresh rules of docs/api.md "Sessions" as written in
// [storage.DecideRotation], including the races: concurrent linking of one
// WeChat identity or unionid ends with one user, and concurrent refreshes of
// one token end with one rotation. They leave to each backend how it gets
// there (mutex, SQL transaction, script) and how it is set up and torn down:
// the newStore function gives each subtest a fresh, empty store.
//
// Time comes from the requests' Now wherever the interfaces carry one, so
// the suites never sleep to synchronise; the few expiry checks that depend
// on real time (one-time items, token-cache locks) poll briefly.
package storagetest
