package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

// Rules are the configured limits, one per kind of attempt.
type Rules struct {
	// LoginPerIP counts login attempts per client address, checked before
	// WeChat is asked (a flood of bad codes costs WeChat calls).
	LoginPerIP Rule
	// LoginPerUser counts sessions opened per user, charged with the new
	// session.
	LoginPerUser Rule
	// RefreshPerIP and RefreshPerSession are charged with the rotation.
	RefreshPerIP, RefreshPerSession Rule
	// SMSPerPhoneMinute is a spacing between two codes to one phone
	// (Window/Limit after the last send, not per clock minute);
	// SMSPerPhoneDay and SMSPerIP count sends.
	SMSPerPhoneMinute, SMSPerPhoneDay, SMSPerIP Rule
	// SMSDailyBudget counts every SMS code sent, whatever the phone or
	// address, per UTC day (Window 24h): the service's spending cap.
	SMSDailyBudget Rule
	// AuthorizePerIP counts browser logins started per client address:
	// the authorize endpoint and QR login tickets are unauthenticated and
	// store a state or a ticket each time (one counter for both).
	AuthorizePerIP Rule
	// QRLoginPerIP counts the reads of QR login tickets (follow, image)
	// per client address.
	QRLoginPerIP Rule
	// PushPerIP counts WeChat's pushes per app and sending address,
	// before the signature is checked.
	PushPerIP Rule
}

// Policy is the one place that says which limits apply to which request.
// The checks it makes itself (logins before WeChat is asked, SMS sends)
// cost a counter each; the limits of a new session and of a refresh come
// back as storage.Quota values that the session store charges inside its
// own atomic step, so that a refresh stays one round trip with limits on.
// A nil *Policy limits nothing.
type Policy struct {
	limiter *Limiter
	rules   Rules
	// spacing keeps the time of the last send per phone.
	spacing storage.OneTime
	now     func() time.Time
}

// NewPolicy applies rules with counters in counters and SMS spacing in
// spacing (both shared by every instance in production); now nil means
// time.Now.
func NewPolicy(rules Rules, counters storage.Limiter, spacing storage.OneTime, now func() time.Time) *Policy {
	if now == nil {
		now = time.Now
	}
	return &Policy{limiter: New(counters, now), rules: rules, spacing: spacing, now: now}
}

// Rules are the limits the policy applies.
func (p *Policy) Rules() Rules {
	if p == nil {
		return Rules{}
	}
	return p.rules
}

// LoginAttempt counts a login attempt from clientIP: a *storage.LimitError
// when over the limit.
func (p *Policy) LoginAttempt(ctx context.Context, clientIP string) error {
	if p == nil || clientIP == "" {
		return nil
	}
	return p.limiter.Check(ctx, p.rules.LoginPerIP, clientIP)
}

// Authorize counts a browser login started from clientIP (GET
// /v1/oauth/wechat/authorize, POST /v1/qrlogin): a *storage.LimitError
// when over the limit.
func (p *Policy) Authorize(ctx context.Context, clientIP string) error {
	if p == nil || clientIP == "" {
		return nil
	}
	return p.limiter.Check(ctx, p.rules.AuthorizePerIP, clientIP)
}

// QRLoginRead counts a read of a QR login ticket from clientIP (GET
// /v1/qrlogin/{ticket}, its image): a *storage.LimitError when over the
// limit.
func (p *Policy) QRLoginRead(ctx context.Context, clientIP string) error {
	if p == nil || clientIP == "" {
		return nil
	}
	return p.limiter.Check(ctx, p.rules.QRLoginPerIP, clientIP)
}

// Push counts a push to app from clientIP (POST /v1/wechat/push/{app}):
// a *storage.LimitError when over the limit.
func (p *Policy) Push(ctx context.Context, app, clientIP string) error {
	if p == nil || clientIP == "" {
		return nil
	}
	return p.limiter.Check(ctx, p.rules.PushPerIP, app+"|"+clientIP)
}

// NewSession is what opening a session for userID charges.
func (p *Policy) NewSession(userID string) []storage.Quota {
	if p == nil {
		return nil
	}
	return quotas(p.limiter.Quota(p.rules.LoginPerUser, userID))
}

// Refresh is what a refresh from clientIP of session sid charges; sid is
// empty when the token names none (it is refused anyway).
func (p *Policy) Refresh(clientIP, sid string) []storage.Quota {
	if p == nil {
		return nil
	}
	var qs []storage.Quota // one allocation at most: this is the hot path
	if q, ok := p.limiter.Quota(p.rules.RefreshPerIP, clientIP); ok && clientIP != "" {
		qs = append(make([]storage.Quota, 0, 2), q)
	}
	if q, ok := p.limiter.Quota(p.rules.RefreshPerSession, sid); ok && sid != "" {
		qs = append(qs, q)
	}
	return qs
}

// SMSSend checks a send to the phone named phoneKey (a keyed hash: no
// number reaches the store) from clientIP: per address first, then the
// spacing since the last send to that phone, then the phone's daily count.
func (p *Policy) SMSSend(ctx context.Context, clientIP, phoneKey string) error {
	if p == nil {
		return nil
	}
	if clientIP != "" {
		if err := p.limiter.Check(ctx, p.rules.SMSPerIP, clientIP); err != nil {
			return err
		}
	}
	if err := p.space(ctx, p.rules.SMSPerPhoneMinute, phoneKey); err != nil {
		return err
	}
	return p.limiter.Check(ctx, p.rules.SMSPerPhoneDay, phoneKey)
}

// SMSBudget counts one SMS about to be sent against the daily budget of
// the whole service: a *storage.LimitError once it is spent.
func (p *Policy) SMSBudget(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.limiter.Check(ctx, p.rules.SMSDailyBudget, "all")
}

func quotas(q storage.Quota, ok bool) []storage.Quota {
	if !ok {
		return nil
	}
	return []storage.Quota{q}
}

// space enforces rule as a spacing between attempts — "one per phone per
// 60 s" means 60 s after the last send, not once per clock minute, which
// would let two codes out a second apart across a minute boundary. The
// spacing is rule.Window / rule.Limit; the last time is kept in the shared
// one-time store and judged by the policy's clock. Each step is atomic on
// the store (PutOnce, CompareAndSwap), so of concurrent sends one passes.
func (p *Policy) space(ctx context.Context, rule Rule, key string) error {
	if rule.Limit == 0 || p.spacing == nil {
		return nil
	}
	gap := rule.Window / time.Duration(rule.Limit)
	k := "rl:space:" + rule.Name + ":" + key
	now := p.now().UTC()
	stamp := []byte(strconv.FormatInt(now.UnixNano(), 10))
	limited := &storage.LimitError{Key: rule.Name, RetryAfter: time.Second}
	for range 3 {
		err := p.spacing.PutOnce(ctx, k, stamp, gap)
		if !errors.Is(err, storage.ErrConflict) {
			if err != nil {
				return fmt.Errorf("rate limit %s: %w", rule.Name, err)
			}
			return nil
		}
		last, err := p.spacing.Get(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue // expired between the two calls
		}
		if err != nil {
			return fmt.Errorf("rate limit %s: %w", rule.Name, err)
		}
		ns, _ := strconv.ParseInt(string(last), 10, 64)
		if wait := gap - now.Sub(time.Unix(0, ns)); wait > 0 {
			limited.RetryAfter = max(wait.Round(time.Second), time.Second)
			return limited
		}
		// Older than the gap by our clock (the store's TTL runs on its
		// own): move it to now, unless a concurrent send did.
		err = p.spacing.CompareAndSwap(ctx, k, last, stamp, gap)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("rate limit %s: %w", rule.Name, err)
		}
	}
	return limited
}
