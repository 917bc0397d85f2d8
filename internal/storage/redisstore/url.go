package redisstore

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxauth/wxauth/internal/redact"
)

// connSpec is a parsed [Config.URL]: exactly one of its options is set.
type connSpec struct {
	single   *redis.Options
	cluster  *redis.ClusterOptions
	failover *redis.FailoverOptions
}

type limits struct{ dial, read, write, pool time.Duration }

// maxRetries is how often go-redis retries a command that failed on the
// network. One retry absorbs a pooled connection that the server closed;
// more would only delay the answer of a Redis that is down. A retried
// script is harmless: a repeated Rotate finds the rotation done and answers
// GraceReplay with the same successor.
const maxRetries = 1

// parseURL reads the forms documented on [Config.URL]. The +cluster and
// +sentinel forms are rewritten into go-redis's own URL forms (the first
// address as host, the others as addr= parameters), so that userinfo and
// query parameters mean what they mean there.
func parseURL(raw string) (connSpec, error) {
	if raw == "" {
		return connSpec{}, errors.New("empty")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return connSpec{}, fmt.Errorf("%s: no scheme", redact.URLs(raw))
	}
	base, mode, _ := strings.Cut(scheme, "+")
	if base != "redis" && base != "rediss" {
		return connSpec{}, fmt.Errorf("%s: unknown scheme %q", redact.URLs(raw), scheme)
	}
	switch mode {
	case "":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return connSpec{}, err
		}
		return connSpec{single: o}, nil
	case "cluster", "sentinel":
	default:
		return connSpec{}, fmt.Errorf("%s: unknown scheme %q", redact.URLs(raw), scheme)
	}

	// [userinfo@]h1:p1,h2:p2[/path][?query]
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	addrs := strings.Split(hosts, ",")
	for _, a := range addrs {
		if a == "" {
			return connSpec{}, fmt.Errorf("%s: empty address in the list", redact.URLs(raw))
		}
	}
	path, query, _ := strings.Cut(tail, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return connSpec{}, fmt.Errorf("%s: query: %w", redact.URLs(raw), err)
	}
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}

	if mode == "cluster" {
		if path != "" && path != "/" {
			return connSpec{}, fmt.Errorf("%s: a cluster URL has no path (Redis Cluster has only database 0)", redact.URLs(raw))
		}
		o, err := redis.ParseClusterURL(base + "://" + userinfo + addrs[0] + "?" + q.Encode())
		if err != nil {
			return connSpec{}, err
		}
		return connSpec{cluster: o}, nil
	}

	// Sentinel: /master[/db]. The userinfo authenticates to the sentinels
	// (go-redis's form); the nodes' password is the password= parameter.
	master, db, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if master == "" {
		return connSpec{}, fmt.Errorf("%s: a sentinel URL names the master: redis+sentinel://host:port,…/master[/db]", redact.URLs(raw))
	}
	q.Set("master_name", master)
	if db != "" {
		q.Set("db", db)
	}
	o, err := redis.ParseFailoverURL(base + "://" + userinfo + addrs[0] + "?" + q.Encode())
	if err != nil {
		return connSpec{}, err
	}
	return connSpec{failover: o}, nil
}

// setLimits applies the timeouts and retry policy to whichever options c
// holds.
func (c connSpec) setLimits(l limits) {
	switch {
	case c.single != nil:
		o := c.single
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = l.dial, l.read, l.write, l.pool
		o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled = maxRetries, 1, true
	case c.cluster != nil:
		o := c.cluster
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = l.dial, l.read, l.write, l.pool
		o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled = maxRetries, 1, true
	case c.failover != nil:
		o := c.failover
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = l.dial, l.read, l.write, l.pool
		o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled = maxRetries, 1, true
	}
}

func (c connSpec) newClient() redis.UniversalClient {
	switch {
	case c.cluster != nil:
		return redis.NewClusterClient(c.cluster)
	case c.failover != nil:
		return redis.NewFailoverClient(c.failover)
	}
	return redis.NewClient(c.single)
}
