package login

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
)

// Bind-or-register: under the registration policy bind_phone, a person
// WeChat shows us for the first time gets a one-time bind ticket instead of
// a user (SignIn step 1); the page proves a phone — an SMS code
// (smscode.go), or a mini program getPhoneNumber code — and posts it with
// the ticket to [Service.Bind], which finishes the login through SignIn
// with the proven phone.

// Lifetimes and limits of binding (docs/api.md "Binding").
const (
	// TicketTTL is how long a bind ticket lives (the contract: ≤ 10 min).
	TicketTTL = 10 * time.Minute
	// CodeTTL is how long an SMS code lives.
	CodeTTL = 5 * time.Minute
	// MaxTries is how many SMS codes one bind ticket may try, across
	// phones: the next try spends the ticket (invalid_ticket), the right
	// code included.
	MaxTries = 5
	// MaxSends is how many SMS codes may be sent for one bind ticket.
	MaxSends = 3
)

// ticketRecord is what a ticket keeps of the login, with its expiry on
// our clock.
type ticketRecord struct {
	App        string    `json:"app"`
	AppID      string    `json:"appid"`
	OpenID     string    `json:"openid"`
	UnionID    string    `json:"unionid,omitempty"`
	Nickname   string    `json:"nickname,omitempty"`
	AvatarURL  string    `json:"avatar_url,omitempty"`
	Inviter    string    `json:"inviter,omitempty"`
	ReturnTo   string    `json:"return_to,omitempty"`
	SessionKey []byte    `json:"session_key,omitempty"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// ticketBytes is the entropy of a ticket: 256 bits, 43 characters.
const ticketBytes = 32

var ticketEncoding = base64.RawURLEncoding

// IssueTicket keeps a login waiting for its phone under a new one-time
// ticket for TicketTTL (what SignIn answers a new person under bind_phone).
// Only the ticket's SHA-256 is stored.
func (s *Service) IssueTicket(ctx context.Context, id Identity, opt Options) (string, error) {
	var raw [ticketBytes]byte
	if _, err := io.ReadFull(s.cfg.Rand, raw[:]); err != nil {
		return "", fmt.Errorf("bind ticket: %w", err)
	}
	ticket := ticketEncoding.EncodeToString(raw[:])
	rec := ticketRecord{
		App: id.App.Name, AppID: id.App.AppID, OpenID: id.OpenID, UnionID: id.UnionID,
		Nickname: id.Nickname, AvatarURL: id.AvatarURL, Inviter: opt.Inviter, ReturnTo: opt.ReturnTo,
		SessionKey: id.Credentials, ExpiresAt: s.cfg.Now().UTC().Add(TicketTTL),
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("bind ticket: %w", err)
	}
	key, _ := ticketKey(ticket)
	if err := s.cfg.OneTime.PutOnce(ctx, key, b, TicketTTL); err != nil {
		return "", fmt.Errorf("keep bind ticket: %w", err)
	}
	s.cfg.Logger.DebugContext(ctx, "bind ticket issued", "app", id.App.Name)
	return ticket, nil
}

// ticketKey is where a ticket's record is kept; ok is false for what no
// ticket looks like, which needs no look-up.
func ticketKey(ticket string) (key string, ok bool) {
	if len(ticket) != ticketEncoding.EncodedLen(ticketBytes) {
		return "", false
	}
	if _, err := ticketEncoding.DecodeString(ticket); err != nil {
		return "", false
	}
	sum := sha256.Sum256([]byte(ticket))
	return "bind:ticket:" + hex.EncodeToString(sum[:]), true
}

// pending reads a live ticket without consuming it.
func (s *Service) pending(ctx context.Context, key string) (ticketRecord, error) {
	b, err := s.cfg.OneTime.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return ticketRecord{}, ErrInvalidTicket
	}
	if err != nil {
		return ticketRecord{}, fmt.Errorf("read bind ticket: %w", err)
	}
	var rec ticketRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return ticketRecord{}, fmt.Errorf("read bind ticket: %w", err)
	}
	if !s.cfg.Now().Before(rec.ExpiresAt) {
		return ticketRecord{}, ErrInvalidTicket.Say("the bind ticket has expired; log in again")
	}
	return rec, nil
}

// BindRequest is a bind: the ticket, and either Phone with the SMSCode
// sent to it, or PhoneCode (a mini program getPhoneNumber code).
type BindRequest struct {
	Ticket         string
	Phone, SMSCode string
	PhoneCode      string
}

// Bind finishes the login that issued req.Ticket once the phone is
// proven. The ticket is checked first but consumed only once the phone is
// proven, so that a mistyped SMS code can be corrected; of concurrent
// binds of one ticket exactly one wins.
func (s *Service) Bind(ctx context.Context, req BindRequest) (Result, error) {
	switch {
	case req.Ticket == "":
		return Result{}, ErrInvalidRequest.Say(`"bind_ticket" is required`)
	case req.PhoneCode != "" && (req.Phone != "" || req.SMSCode != ""):
		return Result{}, ErrInvalidRequest.Say(`send "phone" and "sms_code", or "phone_code", not both`)
	case req.PhoneCode == "" && (req.Phone == "" || req.SMSCode == ""):
		return Result{}, ErrInvalidRequest.Say(`send "phone" and "sms_code", or "phone_code"`)
	case len(req.PhoneCode) > maxCodeLen:
		return Result{}, ErrInvalidRequest.Say(`"phone_code" is longer than any getPhoneNumber code`)
	}
	key, ok := ticketKey(req.Ticket)
	if !ok {
		return Result{}, ErrInvalidTicket.Say("this is not a bind ticket; log in again")
	}
	rec, err := s.pending(ctx, key)
	if err != nil {
		return Result{}, err
	}
	var phone string
	if req.PhoneCode != "" {
		if phone, err = s.exchangePhoneCode(ctx, rec, req.PhoneCode); err != nil {
			return Result{}, err
		}
	} else {
		phone = strings.TrimSpace(req.Phone)
		if !ValidPhone(phone) {
			return Result{}, errBadPhone
		}
		if err := s.useCode(ctx, key, phone, PurposeBind, req.SMSCode); err != nil {
			return Result{}, err
		}
	}
	// The phone is proven: now the ticket is spent, by one caller only.
	if _, err := s.cfg.OneTime.Take(ctx, key); errors.Is(err, storage.ErrNotFound) {
		return Result{}, ErrInvalidTicket.Say("the bind ticket was used meanwhile; log in again")
	} else if err != nil {
		return Result{}, fmt.Errorf("take bind ticket: %w", err)
	}
	app, ok := s.apps.Named(rec.App)
	if !ok || app.AppID != rec.AppID {
		return Result{}, ErrInvalidTicket.Say("the app of this login is no longer configured; log in again")
	}
	res, err := s.SignIn(ctx, Identity{App: app, OpenID: rec.OpenID, UnionID: rec.UnionID, Nickname: rec.Nickname,
		AvatarURL: rec.AvatarURL, Credentials: rec.SessionKey}, Options{Inviter: rec.Inviter, ReturnTo: rec.ReturnTo, Phone: phone, Flow: "bind"})
	if err != nil {
		return Result{}, err
	}
	proof := "sms_code"
	if req.PhoneCode != "" {
		proof = "phone_code"
	}
	s.cfg.Audit.Record(audit.Event{Type: audit.Bind, UserID: res.User.ID, SessionID: res.Tokens.Session.ID, App: app.Name,
		Actor: "user", IP: audit.IP(ctx), Detail: "phone proven by " + proof})
	return res, nil
}

// exchangePhoneCode asks WeChat for the number behind a getPhoneNumber
// code, through the ticket's app if it is a mini program (with its openid,
// which WeChat checks), else through the one configured mini program.
func (s *Service) exchangePhoneCode(ctx context.Context, rec ticketRecord, code string) (string, error) {
	app, ok := s.apps.Named(rec.App)
	openID := rec.OpenID
	if !ok || app.Kind != KindMiniProgram || app.AppID != rec.AppID {
		mps := s.apps.OfKind(KindMiniProgram)
		if len(mps) != 1 {
			return "", ErrInvalidRequest.Sayf(`"phone_code" needs exactly one configured mini program (%d are); use an SMS code`, len(mps))
		}
		app, openID = mps[0], ""
	}
	info, err := s.phoneNumber(ctx, app, code, openID)
	if err != nil {
		return "", err
	}
	return phoneFromWeChat(info)
}
