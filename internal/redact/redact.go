package redact

import (
	"regexp"
	"strings"
)

// Mask stands for a hidden secret.
const Mask = "***"

// passwordParam matches a parameter whose name ends in password, passwd or
// pwd, case-insensitively (password, sentinel_password, sslpassword,
// PWD…), in a query string or in libpq's "key=value key=value" form; its
// value runs to the next '&', whitespace, '#' or the end.
var passwordParam = regexp.MustCompile(`(?i)((?:^|[?&;\s])[a-z0-9_.-]*(?:password|passwd|pwd)=)([^&\s#]*)`)

// URLs returns s with the credentials of every connection string in it
// hidden: s may be one URL or any text that quotes some (an error, a log
// message). The password of a URL's user information becomes [Mask] (the
// user name stays, to tell accounts apart), and so does the value of every
// password parameter. Text without secrets comes back unchanged.
func URLs(s string) string {
	if !strings.Contains(s, "@") && !containsFold(s, "pass") && !containsFold(s, "pwd") {
		return s // the common case: nothing to look at
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i+3])
		rest = rest[i+3:]
		end := urlEnd(rest)
		b.WriteString(userinfo(rest[:end]))
		rest = rest[end:]
	}
	return passwordParam.ReplaceAllString(b.String(), "${1}"+Mask)
}

// urlEnd is where the URL that starts rest (after its "://") ends in a
// longer text: at whitespace, a quote or a backquote, which no URL holds
// unescaped.
func urlEnd(rest string) int {
	if i := strings.IndexAny(rest, " \t\r\n\"'`"); i >= 0 {
		return i
	}
	return len(rest)
}

// userinfo masks the password in u, a URL after its "://". Its user
// information ends at the last '@' before the query; an '@' only after
// the '?' belongs to the query (application_name=a@b) unless no '='
// comes between (a '?' in an unescaped password).
func userinfo(u string) string {
	at := -1
	if q := strings.IndexByte(u, '?'); q < 0 {
		at = strings.LastIndexByte(u, '@')
	} else if i := strings.LastIndexByte(u[:q], '@'); i >= 0 {
		at = i
	} else if i := strings.LastIndexByte(u, '@'); i > q && !strings.Contains(u[q:i], "=") {
		at = i
	}
	if at < 0 {
		return u
	}
	user, _, hasPassword := strings.Cut(u[:at], ":")
	if !hasPassword {
		return u
	}
	return user + ":" + Mask + u[at:]
}

// containsFold reports whether s contains sub (lower case ASCII) in any
// case, without allocating: URLs runs on every log attribute.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// Error returns err with [URLs] applied to its text; errors.Is and
// errors.As still see err. Nil stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); URLs(msg) != msg {
		return &redacted{err: err}
	}
	return err
}

type redacted struct{ err error }

func (r *redacted) Error() string { return URLs(r.err.Error()) }
func (r *redacted) Unwrap() error { return r.err }
