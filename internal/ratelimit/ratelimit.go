// Package ratelimit applies wxauth's attempt limits (login and refresh, per
// client IP, per user, per session) on a storage.Limiter, so that the limits
// hold across every instance sharing that store (Redis in production).
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

// Rule is "at most Limit attempts per Window"; a zero Limit means no limit.
type Rule struct {
	Name   string
	Limit  int
	Window time.Duration
}

// ParseRule reads "60/1m" (60 per minute) or "off".
func ParseRule(name, s string) (Rule, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" || s == "0" {
		return Rule{Name: name}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	limit, err := strconv.Atoi(n)
	if !ok || err != nil || limit < 0 {
		return Rule{}, fmt.Errorf("%q is not a rate like 60/1m or off", s)
	}
	window, err := time.ParseDuration(per)
	if err != nil || window < time.Second {
		return Rule{}, fmt.Errorf("%q is not a rate like 60/1m or off (window at least 1s)", s)
	}
	return Rule{Name: name, Limit: limit, Window: window}, nil
}

// String is the rule as ParseRule reads it.
func (r Rule) String() string {
	if r.Limit == 0 {
		return "off"
	}
	return fmt.Sprintf("%d/%v", r.Limit, r.Window)
}

// Limiter checks rules against a shared store.
type Limiter struct {
	store storage.Limiter
	now   func() time.Time
}

// New makes a Limiter; now nil means time.Now.
func New(store storage.Limiter, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{store: store, now: now}
}

// Check counts one attempt of key under rule: nil when allowed, a
// *storage.LimitError when not, or the store's error. A nil Limiter allows
// all.
func (l *Limiter) Check(ctx context.Context, rule Rule, key string) error {
	q, ok := l.Quota(rule, key)
	if !ok {
		return nil
	}
	allowed, retry, err := l.store.Allow(ctx, q.Key, q.Limit, q.Window, l.now())
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", rule.Name, err)
	}
	if !allowed {
		return &storage.LimitError{Key: q.Key, RetryAfter: retry}
	}
	return nil
}

// Quota is rule applied to key as a storage.Quota, for calls that charge
// their limits themselves (a refresh's rotation); ok is false when there is
// nothing to charge (no Limiter, or the rule is off).
func (l *Limiter) Quota(rule Rule, key string) (q storage.Quota, ok bool) {
	if l == nil || rule.Limit == 0 {
		return storage.Quota{}, false
	}
	return storage.Quota{Key: "rl:" + rule.Name + ":" + key, Limit: rule.Limit, Window: rule.Window}, true
}
