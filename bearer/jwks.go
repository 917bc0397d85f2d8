package bearer

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// How long a fetched JWKS is fresh: the response's Cache-Control max-age,
// bounded so that a server asking for no caching cannot make every request
// a fetch, and one asking for a day cannot keep a withdrawn key trusted
// that long. Without max-age: defaultKeysAge (wxauth sends max-age=300).
const (
	minKeysAge     = time.Minute
	maxKeysAge     = time.Hour
	defaultKeysAge = 5 * time.Minute
	maxJWKSBody    = 1 << 20
	fetchTimeout   = 30 * time.Second
)

// keySet is one fetched JWKS document. It is never modified once stored.
type keySet struct {
	keys    map[string]*publicKey
	expires time.Time
}

// keySource fetches and caches the JWKS. A known kid is a lock-free map
// read; a stale set is refreshed in the background while it keeps serving;
// an unknown kid waits for a fetch, at most one per minRefetch, shared by
// every request that wants it.
type keySource struct {
	url          string
	httpc        *http.Client
	minRefetch   time.Duration
	now          func() time.Time
	log          *slog.Logger
	onKeyRemoved func() // called after a fetch drops a kid (the token cache is purged)

	set     atomic.Pointer[keySet]
	fetches atomic.Int64 // attempts, for tests

	mu       sync.Mutex
	inflight *fetchCall
	lastTry  time.Time // when the last fetch started; zero: never
	lastErr  error     // how it ended
}

type fetchCall struct {
	done chan struct{}
	err  error
}

func newKeySource(url string, c *http.Client, minRefetch time.Duration, now func() time.Time, log *slog.Logger) *keySource {
	return &keySource{url: url, httpc: c, minRefetch: minRefetch, now: now, log: log}
}

// lookup finds the key for kid, fetching the JWKS if kid is unknown and a
// fetch is allowed. An unknown kid is ErrInvalidToken when the last fetch
// succeeded, ErrUnavailable when it failed (the kid may be a new key we
// cannot see yet).
func (ks *keySource) lookup(ctx context.Context, kid string) (*publicKey, error) {
	if s := ks.set.Load(); s != nil {
		if k, ok := s.keys[kid]; ok {
			if ks.now().After(s.expires) {
				ks.refreshStale()
			}
			return k, nil
		}
	}
	if kid == "" {
		return nil, fmt.Errorf("%w: no kid", ErrInvalidToken)
	}
	if err := ks.fetchIfAllowed(ctx); err != nil {
		return nil, err
	}
	if s := ks.set.Load(); s != nil {
		if k, ok := s.keys[kid]; ok {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: unknown kid %q", ErrInvalidToken, kid)
}

// get returns the current set, fetching it if there is none yet.
func (ks *keySource) get(ctx context.Context) (*keySet, error) {
	if s := ks.set.Load(); s != nil {
		return s, nil
	}
	if err := ks.fetchIfAllowed(ctx); err != nil {
		return nil, err
	}
	if s := ks.set.Load(); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("%w: no JWKS yet", ErrUnavailable)
}

// fetchIfAllowed joins the fetch in flight, or starts one if the last began
// at least minRefetch ago, and waits for it. Within minRefetch of the last
// attempt it returns at once: nil if that attempt succeeded, else
// ErrUnavailable.
func (ks *keySource) fetchIfAllowed(ctx context.Context) error {
	ks.mu.Lock()
	call := ks.inflight
	if call == nil {
		if !ks.lastTry.IsZero() && ks.now().Sub(ks.lastTry) < ks.minRefetch {
			err := ks.lastErr
			ks.mu.Unlock()
			if err != nil {
				return fmt.Errorf("%w: JWKS: %v", ErrUnavailable, err)
			}
			return nil
		}
		call = ks.startLocked(ctx)
	}
	ks.mu.Unlock()
	select {
	case <-call.done:
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for the JWKS: %v", ErrUnavailable, ctx.Err())
	}
	if call.err != nil {
		return fmt.Errorf("%w: JWKS: %v", ErrUnavailable, call.err)
	}
	return nil
}

// refreshStale starts a background fetch of a set past its max-age, unless
// one is in flight or the last began within minRefetch.
func (ks *keySource) refreshStale() {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.inflight == nil && ks.now().Sub(ks.lastTry) >= ks.minRefetch {
		ks.startLocked(context.Background())
	}
}

// startLocked starts a fetch; ks.mu is held. The fetch outlives the request
// that triggered it (others may be waiting for it) but not fetchTimeout.
func (ks *keySource) startLocked(ctx context.Context) *fetchCall {
	call := &fetchCall{done: make(chan struct{})}
	ks.inflight = call
	ks.lastTry = ks.now()
	ks.fetches.Add(1)
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		set, err := ks.fetch(ctx)
		ks.mu.Lock()
		if err == nil {
			old := ks.set.Swap(set)
			if old != nil && removedKey(old, set) && ks.onKeyRemoved != nil {
				ks.onKeyRemoved()
			}
		} else {
			ks.log.WarnContext(ctx, "bearer: JWKS fetch failed; keeping the keys we have", "err", err, "url", ks.url)
		}
		ks.lastErr, call.err = err, err
		ks.inflight = nil
		ks.mu.Unlock()
		close(call.done)
	}()
	return call
}

func removedKey(old, cur *keySet) bool {
	for kid := range old.keys {
		if _, ok := cur.keys[kid]; !ok {
			return true
		}
	}
	return false
}

// jwk is a JSON Web Key (RFC 7517 §4) as far as we read it.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// fetch GETs the JWKS and parses it; keys we cannot use (other types,
// encryption keys, no kid) are skipped, but a document with none we can use
// is an error.
func (ks *keySource) fetch(ctx context.Context) (*keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ks.httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("GET %s: status %d", ks.url, resp.StatusCode)
	}
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBody)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("GET %s: %w", ks.url, err)
	}
	set := &keySet{keys: make(map[string]*publicKey, len(doc.Keys))}
	for _, k := range doc.Keys {
		pk, err := parseJWK(k)
		if err != nil {
			ks.log.DebugContext(ctx, "bearer: skipping a JWK", "kid", k.Kid, "err", err)
			continue
		}
		set.keys[k.Kid] = pk
	}
	if len(set.keys) == 0 {
		return nil, fmt.Errorf("GET %s: no usable EdDSA or ES256 signing key", ks.url)
	}
	set.expires = ks.now().Add(maxAge(resp.Header.Get("Cache-Control")))
	return set, nil
}

func parseJWK(k jwk) (*publicKey, error) {
	if k.Kid == "" {
		return nil, errors.New("no kid")
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, fmt.Errorf("use %q", k.Use)
	}
	x, err := base64.RawURLEncoding.DecodeString(k.X)
	if err != nil {
		return nil, fmt.Errorf("x: %w", err)
	}
	switch {
	case k.Kty == "OKP" && k.Crv == "Ed25519" && (k.Alg == "" || k.Alg == algEdDSA):
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("x is not 32 bytes")
		}
		return &publicKey{alg: algEdDSA, ed: ed25519.PublicKey(x)}, nil
	case k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == algES256):
		y, err := base64.RawURLEncoding.DecodeString(k.Y)
		if err != nil {
			return nil, fmt.Errorf("y: %w", err)
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("x or y is not 32 bytes")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, err
		}
		return &publicKey{alg: algES256, ec: pub}, nil
	}
	return nil, fmt.Errorf("unsupported key kty=%q crv=%q alg=%q", k.Kty, k.Crv, k.Alg)
}

// maxAge is how long a response with this Cache-Control stays fresh
// (RFC 9111 §5.2.2.1), bounded to [minKeysAge, maxKeysAge].
func maxAge(cc string) time.Duration {
	age := defaultKeysAge
	for d := range strings.SplitSeq(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return minKeysAge
		case "max-age":
			if n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64); err == nil && n >= 0 {
				age = time.Duration(min(n, int64(maxKeysAge/time.Second))) * time.Second
			}
		}
	}
	return min(max(age, minKeysAge), maxKeysAge)
}
