// Package prodtest holds the production-mode tests: real `wxauth serve`
// processes (the binary, built once per run) on a real PostgreSQL and a
// real Redis, driven over HTTP. They prove that several instances act as
// one, that a key rotation logs nobody out, and that outages of Redis or
// PostgreSQL answer 503 and heal by themselves.
//
// They need WXAUTH_TEST_POSTGRES_URL and WXAUTH_TEST_REDIS_URL (and
// redis-server on the PATH for the Redis restart test), and skip, naming
// what is missing, without them.
package prodtest
