package login

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wxauth/wxauth/internal/storage"
)

// A browser login's state is one record in the one-time store, under the
// state WeChat carries, and it moves through explicit steps:
//
//	created ──code──▶ exchanging ──session──▶ issued ──(60 s)──▶ gone
//	   │                  │
//	   └─no code─▶ ended ◀┴─failure, or bind ticket
//
// Each arrow is a compare-and-set of the whole record (storage.OneTime.
// CompareAndSwap): of two posts that race, one takes the step and the
// other sees the step taken. A post of the same code by the same browser
// while the exchange is in flight waits for it (on the injected clock) and
// then logs in again from the issued record without a second exchange:
// WeChat's duplicate redirect, or a page refreshed. Every post must prove
// the browser the state was minted for (PKCE verifier or cookie); a post
// that does not leaves the record as it was.

type step string

const (
	// stepCreated: Authorize kept the record; WeChat has not come back.
	stepCreated step = "created"
	// stepExchanging: a post claimed the record with its code and is
	// exchanging it with WeChat.
	stepExchanging step = "exchanging"
	// stepIssued: a session was issued; the same code from the same
	// browser logs the same user in again until replayTTL has passed.
	stepIssued step = "issued"
	// stepEnded: denied, failed or handed to the bind flow; nothing more.
	stepEnded step = "ended"
)

// Lifetimes of the browser flow (docs/api.md "Official Account and
// website login").
const (
	// stateTTL: from Authorize to WeChat's redirect.
	stateTTL = 10 * time.Minute
	// claimTTL: how long a claimed record lives, an exchange's worst case
	// with room to spare.
	claimTTL = 2 * time.Minute
	// replayTTL: how long a finished login is replayed to its browser.
	replayTTL = 60 * time.Second
	// waitLimit: how long a duplicate post waits for the exchange in
	// flight, and pollEvery how often it looks.
	waitLimit = 3 * time.Second
	pollEvery = 50 * time.Millisecond
)

// flow is the record. Times are on the service's clock.
type flow struct {
	Step        step   `json:"step"`
	App         string `json:"app"`
	Scope       string `json:"scope"`
	RedirectURI string `json:"redirect_uri"`
	ReturnTo    string `json:"return_to"`
	Inviter     string `json:"inviter,omitempty"`
	// Check marks an account check's record (check.go): only
	// CheckAccount takes it, and it ends without a replay.
	Check bool `json:"check,omitempty"`
	// Challenge or CookieHash binds the record to one browser.
	Challenge  string `json:"challenge,omitempty"`
	CookieHash string `json:"cookie_hash,omitempty"`
	// ExpiresAt ends the step the record is in.
	ExpiresAt time.Time `json:"expires_at"`
	// CodeHash is the SHA-256 of the code that claimed the record.
	CodeHash  string    `json:"code_hash,omitempty"`
	ClaimedAt time.Time `json:"claimed_at,omitzero"`
	// UserID and IsNewUser are the login an issued record replays.
	UserID    string `json:"user_id,omitempty"`
	IsNewUser bool   `json:"is_new_user,omitempty"`
}

func flowKey(state string) string { return "oauth:flow:" + state }

// startFlow stores a new record under state.
func (s *Service) startFlow(ctx context.Context, state string, f flow) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("keep state: %w", err)
	}
	if err := s.cfg.OneTime.PutOnce(ctx, flowKey(state), b, stateTTL); err != nil {
		return fmt.Errorf("keep state: %w", err)
	}
	return nil
}

// loadFlow reads the record and the bytes a step compares against.
func (s *Service) loadFlow(ctx context.Context, key string) (flow, []byte, error) {
	raw, err := s.cfg.OneTime.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return flow{}, nil, ErrInvalidState
	}
	if err != nil {
		return flow{}, nil, fmt.Errorf("read state: %w", err)
	}
	var f flow
	if err := json.Unmarshal(raw, &f); err != nil {
		return flow{}, nil, fmt.Errorf("read state: %w", err)
	}
	return f, raw, nil
}

// errStepTaken: a concurrent post moved the record first; read it again.
var errStepTaken = errors.New("the state moved meanwhile")

// advance takes one step: the record becomes next if it is still raw.
func (s *Service) advance(ctx context.Context, key string, raw []byte, next flow, ttl time.Duration) ([]byte, error) {
	b, err := json.Marshal(next)
	if err != nil {
		return nil, fmt.Errorf("keep state: %w", err)
	}
	err = s.cfg.OneTime.CompareAndSwap(ctx, key, raw, b, ttl)
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, storage.ErrConflict):
		return nil, errStepTaken
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrInvalidState.Say("the login state expired; start the login again")
	}
	return nil, fmt.Errorf("keep state: %w", err)
}

// maxSteps bounds the reads of one post: each is a step another post
// took, or a poll while the exchange is in flight.
const maxSteps = 2 + int(waitLimit/pollEvery) + 8

// OAuthLogin exchanges the code WeChat returned, for the state this
// server minted and this browser holds.
func (s *Service) OAuthLogin(ctx context.Context, req OAuthLoginRequest) (Result, error) {
	return s.takeFlow(ctx, req, "")
}

// takeFlow moves the record of req.State one step with req's code: a
// login, or, when checkUser is set, an account check for that user.
func (s *Service) takeFlow(ctx context.Context, req OAuthLoginRequest, checkUser string) (Result, error) {
	if req.State == "" || len(req.State) > 128 || len(req.Code) > 512 || len(req.CodeVerifier) > 128 {
		return Result{}, ErrInvalidRequest.Say(`"state" is required, and "state", "code" and "code_verifier" are at most 128, 512 and 128 characters`)
	}
	key, codeHash := flowKey(req.State), hashString(req.Code)
	for range maxSteps {
		f, raw, err := s.loadFlow(ctx, key)
		if err != nil {
			return Result{}, err
		}
		if !f.proves(req) {
			// Another browser: the record stays for its owner.
			return Result{}, ErrInvalidState.Say("the state is bound to another browser; start the login again")
		}
		now := s.cfg.Now().UTC()
		if !now.Before(f.ExpiresAt) {
			return Result{}, ErrInvalidState.Say("the login state expired; start the login again")
		}
		if f.Check != (checkUser != "") {
			// The record stays: it is its owner's, for the other endpoint.
			if f.Check {
				return Result{}, ErrInvalidState.Say("this state was started for an account check; post it to /v1/oauth/wechat/check")
			}
			return Result{}, ErrInvalidState.Say("this state was started for a login, not an account check; post it to /v1/oauth/wechat/login")
		}
		switch f.Step {
		case stepCreated:
			next := f
			if req.Code == "" {
				next.Step, next.ExpiresAt = stepEnded, now.Add(replayTTL)
				if _, err := s.advance(ctx, key, raw, next, replayTTL); errors.Is(err, errStepTaken) {
					continue
				} else if err != nil {
					return Result{}, err
				}
				return Result{ReturnTo: f.ReturnTo}, ErrDenied
			}
			next.Step, next.CodeHash, next.ClaimedAt, next.ExpiresAt = stepExchanging, codeHash, now, now.Add(claimTTL)
			claimed, err := s.advance(ctx, key, raw, next, claimTTL)
			if errors.Is(err, errStepTaken) {
				continue
			} else if err != nil {
				return Result{}, err
			}
			return s.finishFlow(ctx, key, claimed, next, req.Code, checkUser)
		case stepExchanging:
			if f.CodeHash != codeHash {
				return Result{}, ErrInvalidState.Say("this state was used with another code; start the login again")
			}
			if now.Sub(f.ClaimedAt) >= waitLimit {
				return Result{}, ErrInvalidState.Say("the first attempt with this code has not finished; start the login again")
			}
			select {
			case <-ctx.Done():
				return Result{}, ctx.Err()
			case <-s.cfg.After(pollEvery):
			}
		case stepIssued:
			if f.CodeHash != codeHash {
				return Result{}, ErrInvalidState.Say("this state was used with another code; start the login again")
			}
			return s.replay(ctx, f)
		default:
			return Result{}, ErrInvalidState.Say("this login state was used; start the login again")
		}
	}
	return Result{}, ErrInvalidState.Say("the login state keeps changing; start the login again")
}

// finishFlow runs the exchange of a claimed record and records its end:
// issued (for a replay) or ended (always for a check: its answer was
// given once). Recording is checked: a failure to record after a session
// was issued is logged and the login answered, as the session exists (a
// duplicate post then gets invalid_state).
func (s *Service) finishFlow(ctx context.Context, key string, claimed []byte, f flow, code, checkUser string) (Result, error) {
	var res Result
	var err error
	if f.Check {
		res, err = s.check(ctx, f, code, checkUser)
	} else {
		res, err = s.exchange(ctx, f, code)
	}
	next := f
	next.Step, next.ExpiresAt = stepEnded, s.cfg.Now().UTC().Add(replayTTL)
	if err == nil && res.BindTicket == "" && !f.Check {
		next.Step, next.UserID, next.IsNewUser = stepIssued, res.User.ID, res.IsNew
	}
	// The record must move even if the request was cancelled: the waiting
	// duplicates read it.
	if _, aerr := s.advance(context.WithoutCancel(ctx), key, claimed, next, replayTTL); aerr != nil {
		s.cfg.Logger.ErrorContext(ctx, "could not record the end of a browser login", "step", next.Step, "err", aerr)
	}
	return res, err
}

// replay logs the user of an issued record in again: a new session, no
// exchange.
func (s *Service) replay(ctx context.Context, f flow) (Result, error) {
	app, ok := s.apps.Named(f.App)
	if !ok {
		return Result{}, ErrInvalidState.Say("the app of this login is no longer configured; start the login again")
	}
	u, err := s.cfg.Users.User(ctx, f.UserID)
	if err != nil {
		return Result{}, fmt.Errorf("look up user: %w", err)
	}
	pair, err := s.open(ctx, app, u.ID, nil)
	if err != nil {
		return Result{}, err
	}
	s.cfg.Logger.InfoContext(ctx, "login replayed for a duplicate redirect", "app", app.Name, "user_id", u.ID, "sid", pair.Session.ID)
	return Result{Tokens: pair, User: u, IsNew: f.IsNewUser, App: app.Name, ReturnTo: f.ReturnTo}, nil
}

// proves says whether the request comes from the browser the record was
// minted for: its code_verifier hashes to the challenge (RFC 7636 S256),
// or it carries the binding cookie.
func (f flow) proves(req OAuthLoginRequest) bool {
	if f.Challenge != "" {
		if req.CodeVerifier == "" {
			return false
		}
		sum := sha256.Sum256([]byte(req.CodeVerifier))
		got := base64.RawURLEncoding.EncodeToString(sum[:])
		return subtle.ConstantTimeCompare([]byte(got), []byte(f.Challenge)) == 1
	}
	if req.Cookie == "" || f.CookieHash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashString(req.Cookie)), []byte(f.CookieHash)) == 1
}
