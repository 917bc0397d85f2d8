package bind

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wxauth/wxauth/internal/ratelimit"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/wxauth/wxauth/storage"
)

// Sender delivers an SMS code to a phone. purpose says what the code is for
// ("bind"), so that the text can say it. Implementations return an error
// when the message was not accepted for delivery.
type Sender interface {
	Send(ctx context.Context, phone, code, purpose string) error
}

// DevSender is the development Sender: it writes the code to the log, with
// the phone masked but for its last four digits (the log is where a
// developer reads it), and hands it to Deliver, the sandbox's SMS inbox
// under `wxauth dev`. It sends nothing: production needs a real Sender.
type DevSender struct {
	// Logger; nil discards.
	Logger *slog.Logger
	// Deliver, if not nil, receives every code (sandbox.Sandbox.DeliverSMS).
	Deliver func(phone, code, purpose string)
}

var _ Sender = DevSender{}

// Send implements [Sender].
func (d DevSender) Send(ctx context.Context, phone, code, purpose string) error {
	if d.Logger != nil {
		d.Logger.InfoContext(ctx, "sms code (development sender)", "phone", maskPhone(phone), "code", code, "purpose", purpose)
	}
	if d.Deliver != nil {
		d.Deliver(phone, code, purpose)
	}
	return nil
}

// SendRequest asks for an SMS code.
type SendRequest struct {
	// Phone in E.164 form ([ValidPhone]).
	Phone string
	// Purpose is what the code is for; only [PurposeBind] so far.
	Purpose string
	// ClientIP is the caller's address, for the per-address limit; empty:
	// not limited by address.
	ClientIP string
}

// codeRecord is the code last sent to a phone for a purpose, as stored:
// only its MAC, which binds it to the phone, the purpose and ID.
type codeRecord struct {
	// ID names this code's try counters (see [Service.chargeTry]).
	ID        string    `json:"id"`
	MAC       []byte    `json:"mac"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SendCode sends a new 6-digit code to req.Phone, valid for [CodeTTL] and
// replacing any code sent before for that purpose (docs/api.md
// "Binding"). The limits (per client address, then per phone per minute
// and per day) are checked first; beyond them it returns a
// *storage.LimitError.
func (s *Service) SendCode(ctx context.Context, req SendRequest) error {
	phone := strings.TrimSpace(req.Phone)
	if !ValidPhone(phone) {
		return errBadPhone
	}
	if req.Purpose != PurposeBind {
		return fmt.Errorf(`%w: "purpose" must be "bind"`, ErrInvalidRequest)
	}
	if req.ClientIP != "" {
		if err := s.cfg.Limiter.Check(ctx, s.cfg.SMSPerIP, req.ClientIP); err != nil {
			return err
		}
	}
	pk := s.phoneKey(phone)
	if err := s.cooldown(ctx, s.cfg.SMSPerPhoneMinute, pk); err != nil {
		return err
	}
	if err := s.cfg.Limiter.Check(ctx, s.cfg.SMSPerPhoneDay, pk); err != nil {
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
	rec.MAC = s.codeMAC(rec.ID, req.Purpose, phone, code)
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("sms code: %w", err)
	}
	key := s.codeKey(req.Purpose, phone)
	if err := s.replace(ctx, key, b); err != nil {
		return err
	}
	if err := s.cfg.Sender.Send(ctx, phone, code, req.Purpose); err != nil {
		// The code never reached the phone: forget it (best effort).
		_, _ = s.cfg.OneTime.Take(context.WithoutCancel(ctx), key)
		return fmt.Errorf("%w: %w", ErrSMSUnavailable, err)
	}
	s.cfg.Logger.DebugContext(ctx, "sms code sent", "purpose", req.Purpose)
	return nil
}

// replace stores value under key for CodeTTL in place of what is there.
// OneTime never overwrites, so it takes the old item first; if a
// concurrent send put one in between, it takes that too.
func (s *Service) replace(ctx context.Context, key string, value []byte) error {
	for range 3 {
		if _, err := s.cfg.OneTime.Take(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("replace sms code: %w", err)
		}
		err := s.cfg.OneTime.PutOnce(ctx, key, value, CodeTTL)
		if !errors.Is(err, storage.ErrConflict) {
			if err != nil {
				return fmt.Errorf("keep sms code: %w", err)
			}
			return nil
		}
	}
	return fmt.Errorf("keep sms code: %w", storage.ErrConflict)
}

// useCode checks code against the one last sent to phone for purpose and,
// if it is right, consumes it: of concurrent right tries, one wins. Every
// try first takes one of the code's MaxTries slots, so that however many
// tries arrive at once, at most MaxTries are compared.
func (s *Service) useCode(ctx context.Context, phone, purpose, code string) error {
	if !sixDigits(code) {
		return fmt.Errorf("%w: the SMS code is 6 digits", ErrInvalidSMSCode)
	}
	key := s.codeKey(purpose, phone)
	b, err := s.cfg.OneTime.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: no SMS code is pending for this phone (none was sent, or it expired or was used); request a new one", ErrInvalidSMSCode)
	}
	if err != nil {
		return fmt.Errorf("read sms code: %w", err)
	}
	var rec codeRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("read sms code: %w", err)
	}
	if !s.cfg.Now().Before(rec.ExpiresAt) {
		return fmt.Errorf("%w: the SMS code has expired; request a new one", ErrInvalidSMSCode)
	}
	if err := s.chargeTry(ctx, rec.ID); err != nil {
		return err
	}
	if !hmac.Equal(rec.MAC, s.codeMAC(rec.ID, purpose, phone, code)) {
		return fmt.Errorf("%w: the SMS code is wrong", ErrInvalidSMSCode)
	}
	if _, err := s.cfg.OneTime.Take(ctx, key); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: the SMS code was used meanwhile; request a new one", ErrInvalidSMSCode)
	} else if err != nil {
		return fmt.Errorf("take sms code: %w", err)
	}
	return nil
}

// chargeTry takes the first free of the code's MaxTries try slots, one-time
// items of their own (OneTime has no counter: PutOnce of slot n succeeds
// for one caller only). With all taken, the code is burnt.
func (s *Service) chargeTry(ctx context.Context, codeID string) error {
	for n := 1; n <= MaxTries; n++ {
		// The slots outlive the code: it was stored CodeTTL ago at most.
		err := s.cfg.OneTime.PutOnce(ctx, fmt.Sprintf("bind:try:%s:%d", codeID, n), []byte{1}, CodeTTL)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("count sms code tries: %w", err)
		}
	}
	return fmt.Errorf("%w: too many wrong SMS codes; request a new one", ErrInvalidSMSCode)
}

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

func (s *Service) codeMAC(id, purpose, phone, code string) []byte {
	return s.mac("code", id, purpose, phone, code)
}

// phoneKey names a phone in store keys without showing it: whoever reads
// the store learns no numbers.
func (s *Service) phoneKey(phone string) string {
	return hex.EncodeToString(s.mac("phone", phone)[:16])
}

func (s *Service) codeKey(purpose, phone string) string {
	return "bind:sms:" + purpose + ":" + s.phoneKey(phone)
}

// cooldown enforces rule as a spacing between sends — "one per phone per
// 60 s" means 60 s after the last send, not once per clock minute, which
// would let two codes out a second apart across a minute boundary. The
// spacing is rule.Window / rule.Limit; the last send time is kept in the
// one-time store (shared by all instances) and judged by our clock.
func (s *Service) cooldown(ctx context.Context, rule ratelimit.Rule, key string) error {
	if rule.Limit == 0 {
		return nil
	}
	gap := rule.Window / time.Duration(rule.Limit)
	k := "bind:sms_last:" + key
	now := s.cfg.Now().UTC()
	stamp := []byte(strconv.FormatInt(now.UnixNano(), 10))
	for range 3 {
		err := s.cfg.OneTime.PutOnce(ctx, k, stamp, gap)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return err
		}
		last, err := s.cfg.OneTime.Get(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue // expired between the two calls
		}
		if err != nil {
			return err
		}
		ns, _ := strconv.ParseInt(string(last), 10, 64)
		if wait := gap - now.Sub(time.Unix(0, ns)); wait > 0 {
			return &storage.LimitError{Key: "sms_per_phone", RetryAfter: max(wait.Round(time.Second), time.Second)}
		}
		// Older than the gap by our clock: take it and try again.
		_, _ = s.cfg.OneTime.Take(ctx, k)
	}
	return &storage.LimitError{Key: "sms_per_phone", RetryAfter: time.Second}
}
