package login

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/storage"
)

// A QR login lets a desktop browser log in by having a phone scan a code
// (docs/qrlogin.md). The browser creates a ticket; the code shows it (a
// mini program code with the ticket as scene, or another kind's picture,
// see QRImage); the phone, logged in to the app, scans and confirms; the
// browser, following the ticket with its poll token, receives a new
// session once. The ticket is one record in the one-time store moved by
// compare-and-set:
//
//	waiting ──scan──▶ scanned ──confirm──▶ confirming ──session──▶ confirmed ──read──▶ delivered
//	   │                 │                                             ▲
//	   │                 └──cancel──▶ canceled                         │
//	   └───────────── CompleteQR (follow-to-login: no scan) ───────────┘
//
// Of two steps that race from one record (confirm and cancel, two
// confirms, two deliveries), one takes it and the other gets
// ErrQRConflict or, after delivery, ErrInvalidQRTicket. Every step past
// the record's ExpiresAt is refused with ErrInvalidQRTicket.
//
// Extension points for other kinds of app (the Official Account's
// follow-to-login): a kind takes part once Config.QRImages (or the
// built-in mini program code) gives it a picture; its flow then calls
// [Service.CompleteQR] with the identity WeChat reported, which signs the
// person in and confirms the ticket in one step.

type qrStep string

const (
	qrWaiting    qrStep = "waiting"
	qrScanned    qrStep = "scanned"
	qrConfirming qrStep = "confirming" // a confirm claimed the ticket and is opening the session
	qrConfirmed  qrStep = "confirmed"
	qrCanceled   qrStep = "canceled"
	qrDelivered  qrStep = "delivered"
)

// The public statuses of a ticket (docs/api.md "QR login").
const (
	QRWaiting   = "waiting"
	QRScanned   = "scanned"
	QRConfirmed = "confirmed"
	QRCanceled  = "canceled"
	QRExpired   = "expired"
)

// DefaultQRTTL is a ticket's lifetime when Config.QRTTL is zero.
const DefaultQRTTL = 5 * time.Minute

// ticketLen is the length of a ticket: 32 characters of [A-Za-z0-9] (~190
// bits), the most a mini program code's scene holds.
const ticketLen = 32

// qrTicket is the record. Times are on the service's clock.
type qrTicket struct {
	Step qrStep `json:"step"`
	App  string `json:"app"`
	// PollHash is the SHA-256 of the poll token: only its holder follows
	// the ticket.
	PollHash  string    `json:"poll_hash"`
	Browser   string    `json:"browser,omitempty"`
	Place     string    `json:"place,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// UserID scanned the ticket (scanned and after).
	UserID string `json:"user_id,omitempty"`
	// Before is the step a confirming ticket returns to if the session
	// cannot be opened.
	Before qrStep `json:"before,omitempty"`
	// Result is the sealed login (qrResult), from confirmed until read.
	Result []byte `json:"result,omitempty"`
}

func qrKey(ticket string) string { return "qr:t:" + ticket }

// QRRequest creates a ticket.
type QRRequest struct {
	App string
	// UserAgent and ClientIP of the creating browser, shown to the phone
	// (masked) so that its user sees who is asking.
	UserAgent, ClientIP string
}

// QRTicket is a new ticket: Ticket names it (and is the code's scene),
// PollToken lets the browser follow it.
type QRTicket struct {
	Ticket, PollToken string
	ExpiresIn         time.Duration
}

// CreateQR starts a QR login for an app whose kind has a picture.
func (s *Service) CreateQR(ctx context.Context, req QRRequest) (QRTicket, error) {
	app, ok := s.apps.Named(req.App)
	if _, drawn := s.qrImages[app.Kind]; !ok || !drawn {
		return QRTicket{}, ErrUnknownApp.Say("no app with a QR login is configured under this name")
	}
	if app.Kind == KindOfficialAccount && app.PushToken == "" {
		// Without pushes, the scan would never reach us: the ticket
		// could only expire.
		return QRTicket{}, ErrUnknownApp.Say("this Official Account takes no pushes (push_token), so a follow-to-login cannot complete")
	}
	now := s.cfg.Now().UTC()
	ttl := s.qrTTL()
	res := QRTicket{Ticket: randomAlnum(ticketLen), PollToken: randomAlnum(43), ExpiresIn: ttl}
	t := qrTicket{Step: qrWaiting, App: app.Name, PollHash: hashString(res.PollToken),
		Browser: describeBrowser(req.UserAgent), Place: maskIP(req.ClientIP), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	b, err := json.Marshal(t)
	if err != nil {
		return QRTicket{}, fmt.Errorf("keep ticket: %w", err)
	}
	if err := s.cfg.OneTime.PutOnce(ctx, qrKey(res.Ticket), b, ttl); err != nil {
		return QRTicket{}, fmt.Errorf("keep ticket: %w", err)
	}
	return res, nil
}

func (s *Service) qrTTL() time.Duration {
	if s.cfg.QRTTL > 0 {
		return s.cfg.QRTTL
	}
	return DefaultQRTTL
}

// validTicket says whether ticket could be one of ours: anything else is
// refused before the store is asked.
func validTicket(ticket string) bool {
	if len(ticket) != ticketLen {
		return false
	}
	for i := range len(ticket) {
		c := ticket[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// loadQR reads a live ticket: unknown, expired and delivered ones are
// ErrInvalidQRTicket.
func (s *Service) loadQR(ctx context.Context, ticket string) (qrTicket, []byte, error) {
	t, raw, err := s.readQR(ctx, ticket)
	if err != nil {
		return t, nil, err
	}
	if t.Step == qrDelivered || !s.cfg.Now().Before(t.ExpiresAt) {
		return qrTicket{}, nil, ErrInvalidQRTicket
	}
	return t, raw, nil
}

// readQR reads the record as it is, expired or not.
func (s *Service) readQR(ctx context.Context, ticket string) (qrTicket, []byte, error) {
	if !validTicket(ticket) {
		return qrTicket{}, nil, ErrInvalidQRTicket
	}
	raw, err := s.cfg.OneTime.Get(ctx, qrKey(ticket))
	if errors.Is(err, storage.ErrNotFound) {
		return qrTicket{}, nil, ErrInvalidQRTicket
	}
	if err != nil {
		return qrTicket{}, nil, fmt.Errorf("read ticket: %w", err)
	}
	var t qrTicket
	if err := json.Unmarshal(raw, &t); err != nil {
		return qrTicket{}, nil, fmt.Errorf("read ticket: %w", err)
	}
	return t, raw, nil
}

// advanceQR takes one step: the record becomes next if it is still raw,
// and every instance's waiters of the ticket are woken.
func (s *Service) advanceQR(ctx context.Context, ticket string, raw []byte, next qrTicket) ([]byte, error) {
	b, err := json.Marshal(next)
	if err != nil {
		return nil, fmt.Errorf("keep ticket: %w", err)
	}
	ttl := next.ExpiresAt.Sub(s.cfg.Now())
	if ttl < time.Second {
		return nil, ErrInvalidQRTicket
	}
	err = s.cfg.OneTime.CompareAndSwap(ctx, qrKey(ticket), raw, b, ttl)
	switch {
	case errors.Is(err, storage.ErrConflict):
		return nil, errStepTaken
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrInvalidQRTicket
	case err != nil:
		return nil, fmt.Errorf("keep ticket: %w", err)
	}
	if s.cfg.Wake != nil {
		if err := s.cfg.Wake.Signal(ctx, ticket); err != nil {
			// The browser's slow re-read finds the step anyway.
			s.cfg.Logger.WarnContext(ctx, "could not signal a QR ticket's step", "step", next.Step, "err", err)
		}
	}
	return b, nil
}

// QRUser is the mini program session that scans, confirms or cancels.
type QRUser struct {
	UserID string
	App    string // the app the session was opened through
}

// QRScan is what the phone is shown: who asks to log in.
type QRScan struct {
	App, Browser, Place string
	CreatedAt           time.Time
	ExpiresIn           time.Duration
}

// maxQRSteps bounds the re-reads of one step: each is a step another
// request took meanwhile.
const maxQRSteps = 8

// ScanQR records that who scanned the ticket (waiting → scanned) and says
// who is asking. Scanning again by the same user is fine; by another
// user, ErrQRConflict.
func (s *Service) ScanQR(ctx context.Context, ticket string, who QRUser) (QRScan, error) {
	for range maxQRSteps {
		t, raw, err := s.loadQR(ctx, ticket)
		if err != nil {
			return QRScan{}, err
		}
		if t.App != who.App {
			return QRScan{}, ErrInvalidQRTicket.Say("this code is for another app; scan it with that app")
		}
		if err := s.confirmedByPhone(t); err != nil {
			return QRScan{}, err
		}
		switch {
		case t.Step == qrWaiting:
			next := t
			next.Step, next.UserID = qrScanned, who.UserID
			if _, err := s.advanceQR(ctx, ticket, raw, next); errors.Is(err, errStepTaken) {
				continue
			} else if err != nil {
				return QRScan{}, err
			}
		case t.UserID != who.UserID:
			return QRScan{}, ErrQRConflict.Say("another user has scanned this code")
		case t.Step != qrScanned:
			return QRScan{}, ErrQRConflict.Sayf("this login is %s already", t.public())
		}
		return QRScan{App: t.App, Browser: t.Browser, Place: t.Place, CreatedAt: t.CreatedAt, ExpiresIn: t.ExpiresAt.Sub(s.cfg.Now())}, nil
	}
	return QRScan{}, ErrQRConflict.Say("the ticket keeps changing; scan again")
}

// ConfirmQR opens a new session for the user who scanned, for the
// browser, through the ticket's app (the per-user quota applies), and
// keeps it sealed for the browser (scanned → confirmed).
func (s *Service) ConfirmQR(ctx context.Context, ticket string, who QRUser) error {
	return s.claimQR(ctx, ticket, func(t qrTicket) error {
		if err := s.scannedBy(t, who, "confirming"); err != nil {
			return err
		}
		if t.Step != qrScanned {
			return ErrQRConflict.Sayf("this login is %s already", t.public())
		}
		return nil
	}, func(ctx context.Context, t qrTicket) (qrResult, error) {
		app, ok := s.apps.Named(t.App)
		if !ok {
			return qrResult{}, ErrInvalidQRTicket.Say("the app of this login is no longer configured")
		}
		u, err := s.cfg.Users.User(ctx, t.UserID)
		if err != nil {
			return qrResult{}, fmt.Errorf("look up user: %w", err)
		}
		pair, err := s.open(ctx, app, u.ID, nil)
		if err != nil {
			return qrResult{}, err
		}
		s.cfg.Logger.InfoContext(ctx, "QR login confirmed", "app", app.Name, "user_id", u.ID, "sid", pair.Session.ID)
		tr := pair.Response(briefUser(u), false)
		return qrResult{Tokens: &tr}, nil
	})
}

// scannedBy is nil when who may confirm or cancel t: its app's user who
// scanned it, on a ticket the phone confirms; doing names the step for
// the refusal before a scan.
func (s *Service) scannedBy(t qrTicket, who QRUser, doing string) error {
	switch {
	case t.App != who.App:
		return ErrInvalidQRTicket.Say("this code is for another app")
	case s.confirmedByPhone(t) != nil:
		return s.confirmedByPhone(t)
	case t.Step == qrWaiting:
		return ErrQRConflict.Sayf("scan the code before %s", doing)
	case t.UserID != who.UserID:
		return ErrQRConflict.Say("another user has scanned this code")
	}
	return nil
}

// confirmedByPhone is nil for a ticket the user confirms in the mini
// program, and refuses scan, confirm and cancel on one that WeChat itself
// completes: an Official Account's follow-to-login is
// confirmed by WeChat's push alone, so that a session of the account's H5
// pages cannot log its own user into a stranger's browser.
func (s *Service) confirmedByPhone(t qrTicket) error {
	if app, ok := s.apps.Named(t.App); ok && app.Kind == KindMiniProgram {
		return nil
	}
	return ErrInvalidQRTicket.Say("this login completes when WeChat tells us of the scan, not by a confirmation")
}

// CompleteQR signs id in and confirms a waiting (or scanned) ticket with
// the result in one step, for flows where WeChat itself tells us who
// scanned (the Official Account's follow-to-login has no confirm step).
// Under bind_phone the result may be a bind ticket, delivered to the
// browser as the other login endpoints answer it.
func (s *Service) CompleteQR(ctx context.Context, ticket string, id Identity) error {
	return s.claimQR(ctx, ticket, func(t qrTicket) error {
		switch {
		case t.App != id.App.Name:
			return ErrInvalidQRTicket.Say("this code is for another app")
		case t.Step != qrWaiting && t.Step != qrScanned:
			return ErrQRConflict.Sayf("this login is %s already", t.public())
		}
		return nil
	}, func(ctx context.Context, t qrTicket) (qrResult, error) {
		res, err := s.SignIn(ctx, id, Options{Flow: "qrlogin"})
		if err != nil {
			return qrResult{}, err
		}
		if res.BindTicket != "" {
			return qrResult{BindTicket: res.BindTicket}, nil
		}
		tr := res.Tokens.Response(briefUser(res.User), res.IsNew)
		return qrResult{Tokens: &tr}, nil
	})
}

// claimQR is the confirm step shared by ConfirmQR and CompleteQR: check,
// claim (→ confirming), log in, then keep the sealed result (→
// confirmed). A failed login returns the ticket to the step it was in; a
// result that cannot be kept has its session revoked.
func (s *Service) claimQR(ctx context.Context, ticket string, check func(qrTicket) error, login func(context.Context, qrTicket) (qrResult, error)) error {
	for range maxQRSteps {
		t, raw, err := s.loadQR(ctx, ticket)
		if err != nil {
			return err
		}
		if err := check(t); err != nil {
			return err
		}
		claim := t
		claim.Step, claim.Before = qrConfirming, t.Step
		claimed, err := s.advanceQR(ctx, ticket, raw, claim)
		if errors.Is(err, errStepTaken) {
			continue
		} else if err != nil {
			return err
		}
		// Once claimed the step must finish even if the phone goes away.
		ctx := context.WithoutCancel(ctx)
		res, err := login(ctx, claim)
		if err != nil {
			if _, rerr := s.advanceQR(ctx, ticket, claimed, t); rerr != nil {
				s.cfg.Logger.WarnContext(ctx, "could not return a QR ticket to its step after a failed login", "err", rerr)
			}
			return err
		}
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("keep QR login: %w", err)
		}
		done := claim
		done.Step, done.Before = qrConfirmed, ""
		if done.Result, err = s.cfg.Seal.Seal(b, qrSealContext(ticket)); err != nil {
			return fmt.Errorf("seal QR login: %w", err)
		}
		if _, err := s.advanceQR(ctx, ticket, claimed, done); err != nil {
			if res.Tokens != nil {
				if rerr := s.cfg.Tokens.Revoke(ctx, res.Tokens.SessionID); rerr != nil {
					s.cfg.Logger.ErrorContext(ctx, "could not revoke the session of a QR login that was not kept", "sid", res.Tokens.SessionID, "err", rerr)
				}
			}
			return err
		}
		return nil
	}
	return ErrQRConflict.Say("the ticket keeps changing; scan again")
}

// CancelQR ends the ticket for the user who scanned it (scanned →
// canceled); the browser is told. Cancelling again is fine.
func (s *Service) CancelQR(ctx context.Context, ticket string, who QRUser) error {
	for range maxQRSteps {
		t, raw, err := s.loadQR(ctx, ticket)
		if err != nil {
			return err
		}
		if err := s.scannedBy(t, who, "cancelling"); err != nil {
			return err
		}
		switch t.Step {
		case qrCanceled:
			return nil
		case qrScanned:
		default:
			return ErrQRConflict.Sayf("this login is %s already", t.public())
		}
		next := t
		next.Step = qrCanceled
		if _, err := s.advanceQR(ctx, ticket, raw, next); errors.Is(err, errStepTaken) {
			continue
		} else if err != nil {
			return err
		}
		return nil
	}
	return ErrQRConflict.Say("the ticket keeps changing; scan again")
}

// public is the status a client sees.
func (t qrTicket) public() string {
	switch t.Step {
	case qrScanned, qrConfirming:
		return QRScanned
	case qrConfirmed:
		return QRConfirmed
	case qrCanceled:
		return QRCanceled
	}
	return QRWaiting
}

// qrResult is the login kept sealed for the browser: tokens, or a bind
// ticket under bind_phone.
type qrResult struct {
	Tokens     *api.TokenResponse `json:"tokens,omitempty"`
	BindTicket string             `json:"bind_ticket,omitempty"`
}

func qrSealContext(ticket string) string { return "qrlogin|" + ticket }

// briefUser is the profile a token response carries.
func briefUser(u storage.User) *api.User {
	return &api.User{ID: u.ID, Nickname: u.Nickname, AvatarURL: u.AvatarURL, PhoneBound: u.Phone != ""}
}

// pollMatches compares a poll token with the record's hash in constant
// time.
func (t qrTicket) pollMatches(pollToken string) bool {
	return subtle.ConstantTimeCompare([]byte(hashString(pollToken)), []byte(t.PollHash)) == 1
}
