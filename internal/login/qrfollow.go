package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wxauth/wxauth/api"
)

// Waker wakes a waiting browser when its ticket moves, on whichever
// instance it waits; *wakeup.Hub is one.
type Waker interface {
	Watch(topic string) (<-chan struct{}, func())
	Signal(ctx context.Context, topic string) error
}

// qrSafetyRead is how often a waiting browser re-reads its ticket without
// a signal: a signal lost (a broken subscription) delays it by this much
// at most.
const qrSafetyRead = 3 * time.Second

// QRState is what the browser following a ticket learns.
type QRState struct {
	// Status is QRWaiting, QRScanned, QRConfirmed, QRCanceled or
	// QRExpired.
	Status    string
	ExpiresIn time.Duration
	// Tokens, or BindTicket under bind_phone, come with QRConfirmed, to
	// the one read that delivers them.
	Tokens     *api.TokenResponse
	BindTicket string
}

// Final reports whether the ticket will not change again.
func (st QRState) Final() bool {
	return st.Status == QRConfirmed || st.Status == QRCanceled || st.Status == QRExpired
}

// FollowQR answers the ticket's state as soon as its status differs from
// after (at once when after is empty, or the status is final), or the
// state as it is once wait has passed. Only the poll token's holder may follow (ErrQRPollToken);
// a confirmed ticket's login is delivered to one read, which moves it to
// delivered: later reads get ErrInvalidQRTicket. An expired ticket is
// ErrInvalidQRTicket to a first read (after empty); a follower that names
// the status it saw last, or waits while the ticket expires, hears
// QRExpired (while the store still holds the record).
func (s *Service) FollowQR(ctx context.Context, ticket, pollToken, after string, wait time.Duration) (QRState, error) {
	return s.followQR(ctx, ticket, pollToken, after, wait, true)
}

// WatchQR is FollowQR without the delivery: a confirmed ticket answers
// QRConfirmed and stays confirmed, for a follower that takes the login
// elsewhere ([Service.TakeQR], the OpenID Provider's sign-in page).
func (s *Service) WatchQR(ctx context.Context, ticket, pollToken, after string, wait time.Duration) (QRState, error) {
	return s.followQR(ctx, ticket, pollToken, after, wait, false)
}

func (s *Service) followQR(ctx context.Context, ticket, pollToken, after string, wait time.Duration, deliver bool) (QRState, error) {
	var wake <-chan struct{}
	if s.cfg.Wake != nil && validTicket(ticket) {
		ch, stop := s.cfg.Wake.Watch(ticket)
		defer stop()
		wake = ch
	}
	deadline := s.qrAfter(wait)
	timedOut := false
	for first := true; ; first = false {
		t, raw, err := s.readQR(ctx, ticket)
		if errors.Is(err, ErrInvalidQRTicket) && !first {
			// Gone while waited on: its time ran out in the store.
			return QRState{Status: QRExpired}, nil
		}
		if err != nil {
			return QRState{}, err
		}
		if !t.pollMatches(pollToken) {
			return QRState{}, ErrQRPollToken
		}
		now := s.cfg.Now()
		switch {
		case t.Step == qrDelivered:
			return QRState{}, ErrInvalidQRTicket
		case !now.Before(t.ExpiresAt) && first && after == "":
			return QRState{}, ErrInvalidQRTicket
		case !now.Before(t.ExpiresAt):
			return QRState{Status: QRExpired}, nil
		}
		st := QRState{Status: t.public(), ExpiresIn: t.ExpiresAt.Sub(now)}
		// A final status answers at once, whatever after says: nothing
		// more will come, and a confirmed login is delivered.
		if st.Status != after || st.Final() {
			if st.Status != QRConfirmed || !deliver {
				return st, nil
			}
			st, err := s.deliverQR(ctx, ticket, raw, t, st)
			if errors.Is(err, errStepTaken) {
				continue
			}
			return st, err
		}
		if timedOut {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return QRState{}, ctx.Err()
		case <-deadline:
			// One more read: the ticket may have expired meanwhile.
			timedOut = true
		case <-wake:
		case <-s.qrAfter(min(qrSafetyRead, st.ExpiresIn)):
		}
	}
}

// deliverQR hands the sealed login to this read: confirmed → delivered.
func (s *Service) deliverQR(ctx context.Context, ticket string, raw []byte, t qrTicket, st QRState) (QRState, error) {
	plain, err := s.cfg.Seal.Open(t.Result, qrSealContext(ticket))
	if err != nil {
		return QRState{}, fmt.Errorf("open QR login: %w", err)
	}
	var res qrResult
	if err := json.Unmarshal(plain, &res); err != nil {
		return QRState{}, fmt.Errorf("read QR login: %w", err)
	}
	next := t
	next.Step, next.Result = qrDelivered, nil
	if _, err := s.advanceQR(ctx, ticket, raw, next); err != nil {
		return QRState{}, err
	}
	st.Tokens, st.BindTicket = res.Tokens, res.BindTicket
	return st, nil
}

func (s *Service) qrAfter(d time.Duration) <-chan time.Time {
	if s.cfg.QRAfter != nil {
		return s.cfg.QRAfter(d)
	}
	return time.After(d)
}
