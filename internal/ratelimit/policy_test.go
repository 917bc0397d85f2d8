package ratelimit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wxauth/wxauth/internal/fakeclock"
	"github.com/wxauth/wxauth/internal/ratelimit"
	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
)

func rule(t *testing.T, name, s string) ratelimit.Rule {
	t.Helper()
	r, err := ratelimit.ParseRule(name, s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A nil policy limits nothing.
func TestNilPolicy(t *testing.T) {
	var p *ratelimit.Policy
	if err := p.LoginAttempt(t.Context(), "1.2.3.4"); err != nil {
		t.Error(err)
	}
	if err := p.SMSSend(t.Context(), "1.2.3.4", "k"); err != nil {
		t.Error(err)
	}
	if err := p.Authorize(t.Context(), "1.2.3.4"); err != nil {
		t.Error(err)
	}
	if err := p.SMSBudget(t.Context()); err != nil {
		t.Error(err)
	}
	if q := p.Refresh("1.2.3.4", "sid"); q != nil {
		t.Errorf("Refresh = %v", q)
	}
	if q := p.NewSession("u1"); q != nil {
		t.Errorf("NewSession = %v", q)
	}
}

// Which quotas go with a refresh and a new session: the configured ones,
// none for a rule that is off or a key that is unknown.
func TestPolicyQuotas(t *testing.T) {
	store := memstore.New()
	p := ratelimit.NewPolicy(ratelimit.Rules{
		RefreshPerIP: rule(t, "refresh_ip", "10/1m"), RefreshPerSession: rule(t, "refresh_session", "5/1m"),
		LoginPerUser: rule(t, "login_user", "off"),
	}, store, store, nil)
	if q := p.Refresh("1.2.3.4", "sid1"); len(q) != 2 || q[0].Limit != 10 || q[1].Limit != 5 || q[0].Key == q[1].Key {
		t.Errorf("Refresh(ip, sid) = %+v, want the per-IP and per-session quotas", q)
	}
	if q := p.Refresh("1.2.3.4", ""); len(q) != 1 {
		t.Errorf("Refresh(ip, no sid) = %+v, want the per-IP quota only", q)
	}
	if q := p.NewSession("u1"); len(q) != 0 {
		t.Errorf("NewSession with login_per_user off = %+v, want none", q)
	}
}

// "1 per phone per minute" spaces sends by 60 s after the last one, not
// by clock minute; the per-address and per-day counts come on top.
func TestPolicySMSSpacing(t *testing.T) {
	store := memstore.New()
	clock := fakeclock.New(time.Date(2026, 12, 4, 8, 0, 59, 0, time.UTC))
	p := ratelimit.NewPolicy(ratelimit.Rules{
		SMSPerPhoneMinute: rule(t, "sms_phone_minute", "1/1m"), SMSPerPhoneDay: rule(t, "sms_phone_day", "3/24h"),
		SMSPerIP: rule(t, "sms_ip", "100/1h"),
	}, store, store, clock.Now)
	ctx := t.Context()
	if err := p.SMSSend(ctx, "1.2.3.4", "phone1"); err != nil {
		t.Fatalf("first send = %v", err)
	}
	clock.Advance(2 * time.Second) // across a minute boundary
	var limited *storage.LimitError
	if err := p.SMSSend(ctx, "1.2.3.4", "phone1"); !errors.As(err, &limited) || limited.RetryAfter != 58*time.Second {
		t.Fatalf("second send 2 s later = %v, want limited for 58 s", err)
	}
	if err := p.SMSSend(ctx, "1.2.3.4", "phone2"); err != nil {
		t.Errorf("another phone = %v", err)
	}
	for i := range 2 {
		clock.Advance(time.Minute)
		if err := p.SMSSend(ctx, "1.2.3.4", "phone1"); err != nil {
			t.Fatalf("send %d a minute later = %v", i+2, err)
		}
	}
	clock.Advance(time.Minute)
	if err := p.SMSSend(ctx, "1.2.3.4", "phone1"); !errors.Is(err, storage.ErrLimited) {
		t.Errorf("fourth send in a day = %v, want limited", err)
	}
}
