// Package redact hides the secrets of connection strings wherever they
// may be written: the password of a URL's user information
// ("postgres://user:***@host/db", "redis://:***@host:6379/0") and the
// value of any password parameter ("?password=***", "sentinel_password=***",
// libpq's "password=*** host=…"). [URLs] is the one rule, used by the
// configuration's log value, sqlstore and redisstore (their log values and
// errors) and cmd/wxauth (every log line and the error it prints); [Error]
// applies it to an error's text without losing what errors.Is finds.
//
// It knows connection strings, not every secret: app secrets, tokens and
// session keys are kept out of logs by their own types' LogValue.
package redact
