// Package redisstore keeps wxauth's shared short-lived state in Redis: one
// [Store] implements [storage.Sessions], [storage.OneTime] and
// [storage.Limiter] for deployments with several instances. Users stay in
// SQL (sqlstore). The refresh rules live in [storage.DecideRotation]; this
// package copies them into one Lua script, and the conformance suites in
// storagetest hold the copy to the original (redisstore_test.go).
//
// # Connecting
//
// [Config.URL] takes one of:
//
//	redis://[user:password@]host:port[/db][?options]        one node (or a proxy to one)
//	rediss://[user:password@]host:port[/db][?options]       the same over TLS
//	redis+cluster://[user:password@]h1:p1,h2:p2,…[?options] Redis Cluster: seed nodes, any subset
//	rediss+cluster://…                                       the same over TLS
//	redis+sentinel://[user:password@]s1:p1,s2:p2,…/master[/db][?options]
//	rediss+sentinel://…                                      Sentinel; TLS to the nodes
//
// For Sentinel the userinfo authenticates to the sentinels and the nodes'
// credentials are the username= and password= options. options are
// go-redis's URL query parameters (pool_size, client_name, …). Dialing,
// every read and write, and waiting for a pooled connection are bounded by
// the Config timeouts (one second each by default, overriding any in the
// URL) and a failed command is retried once, so a Redis that is down or
// stalled surfaces within seconds as an error matching
// [storage.ErrUnavailable], as do error replies meaning "not now" (LOADING,
// CLUSTERDOWN, TRYAGAIN, MASTERDOWN, READONLY, BUSY, OOM).
//
// Redis 6.2 or later (GETDEL); developed and tested on 7.0, one node and a
// three-master cluster.
//
// # Keys
//
// Every key starts with [Config.Prefix] ("wxauth:" by default); the part in
// braces is the key's hash tag, which decides its cluster slot:
//
//	wxauth:s:{<sid>}                      hash   one session
//	wxauth:u:{<user id>}                  hash   the user's session index: sid → absolute expiry (Unix ms)
//	wxauth:o:{<key>}                      string one one-time item
//	wxauth:l:{<key>}:<window>:<index>     string one rate-limit counter (e.g. l:{sms:+86…}:1m0s:29631840)
//	wxauth:t:{<appid>}                    hash   one app access token (wechat.TokenCache), expiring with it
//	wxauth:t:{<appid>}:lock               string its fetch lock, held by one instance at a time
//
// A session hash has one-letter fields, kept by Redis as one listpack:
// u user id, a app, c created, l last used, e expires, m max expires,
// r rotated (times as Unix nanoseconds in decimal; c, l, r absent while
// zero), g generation (decimal), h and p the SHA-256 of the live and the
// previous refresh token (32 raw bytes; p absent while zero), k the sealed
// WeChat session_key of the login that opened the session (raw bytes, set
// at creation and never changed; absent for sessions without one). The id
// is in the key only. About 505 bytes per live session with a 53-byte
// sealed session_key (475 without), its share of the index included
// (BenchmarkSessionMemory).
//
// # Expiry
//
// Nothing is ever swept: every key carries its own expiry.
//   - A session key expires at its ExpiresAt (PEXPIREAT, rounded up to the
//     millisecond); each rotation moves it with the sliding idle expiry.
//     Reads also compare ExpiresAt with the caller's now, to the nanosecond.
//     Expiry therefore runs on Redis's clock, which must be roughly right:
//     a record whose ExpiresAt is already past by Redis's clock is gone.
//   - A user index expires with the latest absolute expiry among its
//     entries (a session's idle expiry slides, but never past its absolute
//     one), so it outlives every session it lists. Entries past their
//     absolute expiry are dropped whenever a session is added; entries of
//     sessions revoked, reused or expired are removed when seen missing
//     (UserSessions, RevokeUserSessions) or right after the deletion.
//   - One-time items expire by their TTL (PX); counters a second after
//     their window ends.
//
// Redis must not evict these keys: run it with maxmemory-policy
// noeviction (or at least a volatile-* policy on a memory budget that is
// never reached), since an evicted index would let a "log out everywhere"
// miss sessions.
//
// # Atomicity
//
// Each step that must be atomic touches one key and runs as one command or
// one Lua script (EVALSHA, falling back to EVAL when the server lacks the
// script), in one round trip:
//   - Rotate: the whole of [storage.DecideRotation] on the session hash,
//     with its effects (the next state and a slid expiry, or the deletion on
//     reuse). Concurrent refreshes of one token are serialised by Redis: one
//     Rotated, the others GraceReplay with the same successor. Hashes are
//     compared with Lua string equality, not in constant time; see
//     rotateScript for why that is safe here.
//   - Session: one HGETALL.
//   - CreateSession: a script creates the hash unless the id exists, then
//     a second adds the index entry (a different slot). On one node or
//     Sentinel both go in one pipeline, one round trip, and run in that
//     order (one connection's commands run in order; a proxy in front must
//     keep them so, sending them to one node); on a cluster, where the two
//     slots may be on different nodes, they are two steps. A pipelined
//     create refused for a taken id has added an index entry too, which it
//     removes unless the session holding the id is the same user's.
//     RevokeSession: a script deletes the session, then the index entry
//     goes.
//     RevokeUserSessions: one such script per indexed session, pipelined.
//     The order (session before index entry on create, entry after session
//     on delete) means an index entry is never dropped while its session
//     lives: a RevokeUserSessions that misses a session created while it
//     ran leaves it indexed for the next call.
//   - PutOnce is SET NX PX, Take is GETDEL, Get is GET. Allow is one script
//     (INCR, and PEXPIRE on the window's first hit).
//
// # Cluster
//
// The hash tags keep every key of one session in one slot, so each script
// runs on one node; nothing needs a cross-slot transaction. A session and
// its user's index are in different slots, and the few operations that
// touch both do so in two steps, ordered as above. The store holds a
// [github.com/redis/go-redis/v9.UniversalClient], so one node, Sentinel
// and Cluster run the same code; Ping checks every master.
package redisstore
