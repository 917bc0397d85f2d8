// Package storage defines the records wxauth keeps and one small interface per
// aggregate: [Users] (users and their WeChat identities) and [Sessions]
// (logins and their refresh-token chains). Backends live in sub-packages
// (memstore, sqlstore, and later redisstore) and all pass the conformance
// suites in storagetest, so the rest of wxauth never knows which one runs.
//
// The rules that decide a refresh (rotate, grace replay, reuse) are written
// once here, in [DecideRotation]; each backend only makes that decision
// atomic in its own way.
package storage
