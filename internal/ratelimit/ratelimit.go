// Package ratelimit applies wxauth's attempt limits (login and refresh, per
// client IP, per user, per session) on a storage.Limiter, so that the limits
// hold across every instance sharing that store (Redis in production).
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wxauth/wxauth/storage"
)

// ErrLimited matches every *LimitedError.
var ErrLimited = errors.New("ratelimit: too many attempts")

// LimitedError says which rule refused an attempt and when to retry.
type LimitedError struct {
	Rule       string
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("ratelimit: %s exceeded; retry after %v", e.Rule, e.RetryAfter)
}

// Is makes errors.Is(err, ErrLimited) true.
func (e *LimitedError) Is(target error) bool { return target == ErrLimited }

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
// *LimitedError when not, or the store's error. A nil Limiter allows all.
func (l *Limiter) Check(ctx context.Context, rule Rule, key string) error {
	if l == nil || rule.Limit == 0 {
		return nil
	}
	ok, retry, err := l.store.Allow(ctx, "rl:"+rule.Name+":"+key, rule.Limit, rule.Window, l.now())
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", rule.Name, err)
	}
	if !ok {
		return &LimitedError{Rule: rule.Name, RetryAfter: retry}
	}
	return nil
}
