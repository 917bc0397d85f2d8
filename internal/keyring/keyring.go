// Package keyring keeps the signing keys that every instance of a
// production deployment shares: stored in the database (storage.SigningKeys),
// their private halves sealed with the configured secret, reloaded by each
// instance on a timer.
//
// A rotation never logs anybody out (docs/configuration.md): the new key is stored
// with an ActiveAt in the future, so every instance has it for verification
// before any instance signs with it, and each older key stays in the JWKS
// until the last access token it can have signed has expired.
package keyring

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/wxauth/wxauth/internal/seal"
	"github.com/wxauth/wxauth/internal/signer"
	"github.com/wxauth/wxauth/internal/storage"
)

// Config configures a [Ring].
type Config struct {
	Store storage.SigningKeys
	Seal  *seal.Box
	// AccessTTL is the access tokens' lifetime: how long a replaced key must
	// keep verifying. Required.
	AccessTTL time.Duration
	// Reload is how often instances reload the keys (default 15s).
	Reload time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Ring is the current key set; it implements token.Keys and serves the JWKS.
type Ring struct {
	cfg Config
	set atomic.Pointer[signer.Set]
}

// leeway covers clock skew between instances and resource servers.
const leeway = time.Minute

// Open loads the keys, creating the first one when there is none.
func Open(ctx context.Context, cfg Config) (*Ring, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("keyring: Config.Store is required")
	case cfg.Seal == nil:
		return nil, errors.New("keyring: Config.Seal is required")
	case cfg.AccessTTL <= 0:
		return nil, errors.New("keyring: Config.AccessTTL is required")
	}
	if cfg.Reload <= 0 {
		cfg.Reload = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Ring{cfg: cfg}
	keys, err := cfg.Store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keyring: load keys: %w", err)
	}
	if len(keys) == 0 {
		// First start: a key that signs at once. Two instances starting
		// together may each add one; both verify, and both pick the same
		// one to sign with after their next reload.
		if _, err := r.add(ctx, cfg.Now()); err != nil {
			return nil, err
		}
	}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Propagation is how long a new key waits before it signs: two reloads.
func (r *Ring) Propagation() time.Duration { return 2 * r.cfg.Reload }

// add generates a key that signs from activeAt on and stores it.
func (r *Ring) add(ctx context.Context, activeAt time.Time) (*signer.Key, error) {
	now := r.cfg.Now()
	k, err := signer.Generate(nil, now)
	if err != nil {
		return nil, err
	}
	sealed, err := r.cfg.Seal.Seal(k.Private.Seed(), sealContext(k.ID))
	if err != nil {
		return nil, err
	}
	err = r.cfg.Store.AddSigningKey(ctx, storage.SigningKey{ID: k.ID, Sealed: sealed, CreatedAt: now.UTC(), ActiveAt: activeAt.UTC()})
	if err != nil {
		return nil, fmt.Errorf("keyring: store key: %w", err)
	}
	r.cfg.Logger.InfoContext(ctx, "signing key added", "kid", k.ID, "active_at", activeAt.UTC())
	return k, nil
}

func sealContext(kid string) string { return "signing_key|" + kid }

// Rotate adds a new key that starts signing after [Ring.Propagation], and
// deletes keys no token can need any more. Run it from any one place
// (`wxauth keys rotate`); every instance picks the change up on reload.
func (r *Ring) Rotate(ctx context.Context) (*signer.Key, time.Time, error) {
	activeAt := r.cfg.Now().Add(r.Propagation())
	k, err := r.add(ctx, activeAt)
	if err != nil {
		return nil, time.Time{}, err
	}
	if err := r.Reload(ctx); err != nil {
		return nil, time.Time{}, err
	}
	return k, activeAt, nil
}

// Reload reads the stored keys and swaps in the set for now; it also
// deletes the keys that have outlived every token they signed.
func (r *Ring) Reload(ctx context.Context) error {
	stored, err := r.cfg.Store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keyring: load keys: %w", err)
	}
	if len(stored) == 0 {
		return errors.New("keyring: no signing keys stored")
	}
	now := r.cfg.Now()
	plan := Plan(stored, now, r.cfg.AccessTTL)
	keys := make([]*signer.Key, 0, len(plan.Keep))
	for _, sk := range plan.Keep {
		seed, err := r.cfg.Seal.Open(sk.Sealed, sealContext(sk.ID))
		if err != nil || len(seed) != ed25519.SeedSize {
			return fmt.Errorf("keyring: key %s cannot be opened with the configured secret", sk.ID)
		}
		k, err := signer.FromPrivate(ed25519.NewKeyFromSeed(seed), sk.CreatedAt)
		if err != nil {
			return err
		}
		if k.ID != sk.ID {
			return fmt.Errorf("keyring: key %s does not match its id", sk.ID)
		}
		keys = append(keys, k)
	}
	set, err := signer.NewSet(keys...)
	if err != nil {
		return err
	}
	r.set.Store(set)
	for _, sk := range plan.Drop {
		if err := r.cfg.Store.DeleteSigningKey(ctx, sk.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			r.cfg.Logger.WarnContext(ctx, "could not delete an expired signing key", "kid", sk.ID, "err", err)
		} else if err == nil {
			r.cfg.Logger.InfoContext(ctx, "signing key retired", "kid", sk.ID)
		}
	}
	return nil
}

// Run reloads every Reload until ctx ends. A failed reload keeps the keys
// it had and is logged.
func (r *Ring) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Reload)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
				r.cfg.Logger.WarnContext(ctx, "signing keys not reloaded", "err", err)
			}
		}
	}
}

// Current is the key that signs now (token.Keys).
func (r *Ring) Current() *signer.Key { return r.set.Load().Current() }

// PublicKey finds a verification key (token.Keys).
func (r *Ring) PublicKey(kid string) (ed25519.PublicKey, bool) { return r.set.Load().PublicKey(kid) }

// JWKS is the current public key set.
func (r *Ring) JWKS() []byte { return r.set.Load().JWKS() }

// KeyPlan says which stored keys a set needs at some moment.
type KeyPlan struct {
	// Keep lists the keys to load, the signing key first.
	Keep []storage.SigningKey
	// Drop lists keys no valid token can have been signed with.
	Drop []storage.SigningKey
}

// Plan decides, from keys sorted newest ActiveAt first, the signing key (the
// newest already active), the keys still to verify with (those not yet
// active, and each older key until accessTTL plus a leeway after its
// successor became active), and the keys to delete.
func Plan(keys []storage.SigningKey, now time.Time, accessTTL time.Duration) KeyPlan {
	signing := -1
	for i, k := range keys {
		if !k.ActiveAt.After(now) {
			signing = i
			break
		}
	}
	if signing < 0 {
		// Nothing active yet (a clock far behind): sign with the earliest.
		signing = len(keys) - 1
	}
	p := KeyPlan{Keep: []storage.SigningKey{keys[signing]}}
	for i, k := range keys {
		switch {
		case i == signing:
		case i < signing: // not active yet: others may already sign with it soon
			p.Keep = append(p.Keep, k)
		case now.Before(keys[i-1].ActiveAt.Add(accessTTL + leeway)):
			p.Keep = append(p.Keep, k)
		default:
			p.Drop = append(p.Drop, k)
		}
	}
	return p
}
