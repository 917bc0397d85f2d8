package login

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/sms"
	"github.com/wxauth/wxauth/internal/storage"
)

// PurposeBind is the one SMS purpose so far: proving a phone to bind.
const PurposeBind = "bind"

// SendRequest asks for an SMS code.
type SendRequest struct {
	// Ticket is the live bind ticket the code is for: the code can be
	// used, replaced or burnt only through this ticket.
	Ticket string
	// Phone in E.164 form ([ValidPhone]).
	Phone string
	// Purpose is what the code is for; only [PurposeBind] so far.
	Purpose string
	// ClientIP is the caller's address, for the per-address limit; empty:
	// not limited by address.
	ClientIP string
}

// codeRecord is the code last sent to a phone for a purpose and a ticket,
// as stored: only its MAC, which binds it to the ticket, the phone, the
// purpose and ID.
type codeRecord struct {
	// ID is random, so that no two codes share a MAC.
	ID        string    `json:"id"`
	MAC       []byte    `json:"mac"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SendCode sends a new 6-digit code to req.Phone for the live bind ticket
// req.Ticket, valid for [CodeTTL] and replacing any code sent before for
// that ticket, phone and purpose. Before anything is sent (docs/bind.md
// "Limits"): the ticket must be live (ErrInvalidTicket), the phone in
// Config.SMSCountries (ErrPhoneNotAllowed), within ratelimit.Policy.SMSSend
// (a *storage.LimitError), within MaxSends for the ticket
// (ErrTicketSendsSpent) and within the daily budget (ErrSMSBudgetSpent).
func (s *Service) SendCode(ctx context.Context, req SendRequest) error {
	phone := strings.TrimSpace(req.Phone)
	if !ValidPhone(phone) {
		return errBadPhone
	}
	if req.Purpose != PurposeBind {
		return ErrInvalidRequest.Say(`"purpose" must be "bind"`)
	}
	if req.Ticket == "" {
		return ErrInvalidRequest.Say(`"bind_ticket" is required: a code is sent only for a login waiting for its phone`)
	}
	tkey, ok := ticketKey(req.Ticket)
	if !ok {
		return ErrInvalidTicket.Say("this is not a bind ticket; log in again")
	}
	ticket, err := s.pending(ctx, tkey)
	if err != nil {
		return err
	}
	if !s.countryAllowed(phone) {
		return ErrPhoneNotAllowed
	}
	if err := s.cfg.Limits.SMSSend(ctx, req.ClientIP, s.phoneKey(phone)); err != nil {
		return err
	}
	if err := s.chargeTicketSend(ctx, tkey, ticket.ExpiresAt); err != nil {
		return err
	}
	var limited *storage.LimitError
	if err := s.cfg.Limits.SMSBudget(ctx); errors.As(err, &limited) {
		if s.cfg.OnSMSBudgetSpent != nil {
			s.cfg.OnSMSBudgetSpent()
		}
		s.cfg.Logger.ErrorContext(ctx, "the daily SMS budget is spent: no codes are sent until 00:00 UTC")
		return ErrSMSBudgetSpent.Because(err)
	} else if err != nil {
		return err
	}
	code, err := s.newCode()
	if err != nil {
		return err
	}
	var id [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, id[:]); err != nil {
		return fmt.Errorf("sms code id: %w", err)
	}
	rec := codeRecord{ID: hex.EncodeToString(id[:]), ExpiresAt: s.cfg.Now().UTC().Add(CodeTTL)}
	rec.MAC = s.codeMAC(rec.ID, tkey, req.Purpose, phone, code)
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("sms code: %w", err)
	}
	key := s.codeKey(tkey, req.Purpose, phone)
	if err := s.replace(ctx, key, b); err != nil {
		return err
	}
	if err := s.cfg.SMS.Send(ctx, phone, code, req.Purpose); err != nil {
		// The code never reached the phone: forget it, unless a concurrent
		// send replaced it.
		if derr := s.cfg.OneTime.CompareAndSwap(context.WithoutCancel(ctx), key, b, []byte{}, time.Millisecond); derr != nil &&
			!errors.Is(derr, storage.ErrNotFound) && !errors.Is(derr, storage.ErrConflict) {
			s.cfg.Logger.ErrorContext(ctx, "could not forget an unsent sms code", "err", derr)
		}
		if errors.Is(err, sms.ErrPhoneRejected) {
			return ErrSMSPhoneRejected.Because(err)
		}
		return ErrSMSUnavailable.Because(err)
	}
	s.cfg.Logger.DebugContext(ctx, "sms code sent", "purpose", req.Purpose)
	return nil
}

// replace stores value under key for CodeTTL in place of what is there:
// PutOnce if nothing is, else a compare-and-swap of what was read, tried
// again if a concurrent send got in between.
func (s *Service) replace(ctx context.Context, key string, value []byte) error {
	for range 5 {
		err := s.cfg.OneTime.PutOnce(ctx, key, value, CodeTTL)
		if !errors.Is(err, storage.ErrConflict) {
			if err != nil {
				return fmt.Errorf("keep sms code: %w", err)
			}
			return nil
		}
		old, err := s.cfg.OneTime.Get(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("replace sms code: %w", err)
		}
		err = s.cfg.OneTime.CompareAndSwap(ctx, key, old, value, CodeTTL)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("replace sms code: %w", err)
		}
	}
	return fmt.Errorf("replace sms code: %w", storage.ErrConflict)
}

// useCode checks code against the one last sent to phone for purpose and
// the ticket stored under tkey and, if it is right, consumes it: of
// concurrent right tries, one wins. Every try first takes one of the
// ticket's MaxTries slots (across phones: a wrong code in the last spends
// the ticket, later tries are [ErrInvalidTicket]), so that however many tries arrive at once,
// at most MaxTries are compared per ticket — and so per code, which
// belongs to one ticket.
func (s *Service) useCode(ctx context.Context, tkey, phone, purpose, code string) error {
	if !sixDigits(code) {
		return ErrInvalidSMSCode.Say("the SMS code is 6 digits")
	}
	key := s.codeKey(tkey, purpose, phone)
	b, err := s.cfg.OneTime.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && len(b) == 0) {
		return ErrInvalidSMSCode.Say("no SMS code is pending for this phone (none was sent, or it expired or was used); request a new one")
	}
	if err != nil {
		return fmt.Errorf("read sms code: %w", err)
	}
	var rec codeRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("read sms code: %w", err)
	}
	if !s.cfg.Now().Before(rec.ExpiresAt) {
		return ErrInvalidSMSCode.Say("the SMS code has expired; request a new one")
	}
	last, err := s.chargeTicketTry(ctx, tkey)
	if err != nil {
		return err
	}
	if !hmac.Equal(rec.MAC, s.codeMAC(rec.ID, tkey, purpose, phone, code)) {
		if !last {
			return ErrInvalidSMSCode.Say("the SMS code is wrong")
		}
		if _, err := s.cfg.OneTime.Take(ctx, tkey); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("spend bind ticket: %w", err)
		}
		return ErrInvalidSMSCode.Sayf("the SMS code is wrong, the %dth in a row: the bind ticket is spent; log in again", MaxTries)
	}
	// Consume exactly the code that was checked: a code sent meanwhile
	// stays.
	if err := s.cfg.OneTime.CompareAndSwap(ctx, key, b, []byte{}, time.Millisecond); errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) {
		return ErrInvalidSMSCode.Say("the SMS code was used or replaced meanwhile; request a new one")
	} else if err != nil {
		return fmt.Errorf("use sms code: %w", err)
	}
	return nil
}

// countryAllowed reports whether phone (E.164) is in a country codes may
// be sent to. Calling codes are a prefix code (ITU-T E.164): no code is the
// beginning of another, so a prefix match names the country.
func (s *Service) countryAllowed(phone string) bool {
	countries := s.cfg.SMSCountries
	if len(countries) == 0 {
		countries = []string{"86"}
	}
	for _, cc := range countries {
		if strings.HasPrefix(phone, "+"+cc) {
			return true
		}
	}
	return false
}

// chargeTicketSend takes the first free of the ticket's MaxSends send
// slots; with all taken it is ErrTicketSendsSpent (429, with the
// *storage.LimitError that gives Retry-After: until the ticket expires at
// exp).
func (s *Service) chargeTicketSend(ctx context.Context, tkey string, exp time.Time) error {
	for n := 1; n <= MaxSends; n++ {
		err := s.cfg.OneTime.PutOnce(ctx, fmt.Sprintf("%s:send:%d", tkey, n), []byte{1}, TicketTTL)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("count bind ticket sends: %w", err)
		}
	}
	return ErrTicketSendsSpent.Because(&storage.LimitError{Key: "bind_ticket_sends", RetryAfter: max(exp.Sub(s.cfg.Now()), time.Second)})
}

// chargeTicketTry takes the first free of the ticket's MaxTries try slots,
// shared by every phone the ticket tries codes for; last reports the last
// slot, whose wrong code spends the ticket. With all taken, the ticket
// answers ErrInvalidTicket; it is not taken here, so that a right code
// compared in an earlier slot still finishes the bind.
func (s *Service) chargeTicketTry(ctx context.Context, tkey string) (last bool, err error) {
	for n := 1; n <= MaxTries; n++ {
		// The slots outlive the ticket: it was issued TicketTTL ago at most.
		err := s.cfg.OneTime.PutOnce(ctx, fmt.Sprintf("%s:try:%d", tkey, n), []byte{1}, TicketTTL)
		if err == nil {
			return n == MaxTries, nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return false, fmt.Errorf("count bind ticket tries: %w", err)
		}
	}
	return false, errTicketTriesSpent
}

var errTicketTriesSpent = ErrInvalidTicket.Sayf("%d SMS codes were tried with this bind ticket, which is now spent; log in again", MaxTries)

// newCode draws 6 uniform decimal digits.
func (s *Service) newCode() (string, error) {
	// 4 294 000 000 is the largest multiple of 10^6 below 2^32: values
	// from it up are drawn again, so that no code is likelier than another.
	const limit = 4_294_000_000
	var b [4]byte
	for {
		if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
			return "", fmt.Errorf("sms code: %w", err)
		}
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return fmt.Sprintf("%06d", v%1_000_000), nil
		}
	}
}

func sixDigits(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// mac is HMAC-SHA256 under the service's key of the parts, each ended by
// a NUL (none of them holds one that matters: phones and purposes are
// checked, ids are hex).
func (s *Service) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.macKey)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// codeMAC binds a code to its ticket (by the ticket's store key, a hex
// SHA-256), besides its id, purpose and phone.
func (s *Service) codeMAC(id, tkey, purpose, phone, code string) []byte {
	return s.mac("code", id, tkey, purpose, phone, code)
}

// phoneKey names a phone in store keys without showing it: whoever reads
// the store learns no numbers.
func (s *Service) phoneKey(phone string) string {
	return hex.EncodeToString(s.mac("phone", phone)[:16])
}

// codeKey is where the code for a ticket (its store key tkey), a purpose
// and a phone is kept: a code sent for one ticket is out of another's reach.
func (s *Service) codeKey(tkey, purpose, phone string) string {
	return "bind:sms:" + purpose + ":" + strings.TrimPrefix(tkey, "bind:ticket:") + ":" + s.phoneKey(phone)
}
