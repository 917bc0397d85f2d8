package bearer

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
)

// The tests' wxauth: JWKS, the revocation push and introspection, on a real
// loopback server, with switches to break each.

const testServiceKey = "service-key-0123456789"

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }

// testKey is an Ed25519 signing key named like wxauth names them (RFC 7638
// thumbprint).
type testKey struct {
	kid  string
	priv ed25519.PrivateKey
}

func newTestKey(t testing.TB) *testKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return &testKey{kid: base64.RawURLEncoding.EncodeToString(sum[:]), priv: priv}
}

func (k *testKey) jwk() map[string]string {
	return map[string]string{"kty": "OKP", "crv": "Ed25519", "kid": k.kid, "alg": "EdDSA", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(k.priv.Public().(ed25519.PublicKey))}
}

// header is the JOSE header token/access.go writes.
func (k *testKey) header() string {
	return `{"alg":"EdDSA","kid":` + strconv.Quote(k.kid) + `,"typ":"JWT"}`
}

// sign makes a compact JWS of header and payload, as token/access.go does.
func (k *testKey) sign(header, payload string) string {
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	return signed + "." + enc.EncodeToString(ed25519.Sign(k.priv, []byte(signed)))
}

// token signs claims with the wxauth header.
func (k *testKey) token(c api.Claims) string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return k.sign(k.header(), string(b))
}

var jtiSeq atomic.Int64

// claimsAt are a fresh token's claims issued at now for session sid, as
// wxauth issues them (2 h lifetime).
func claimsAt(issuer string, now time.Time, sid string) api.Claims {
	return api.Claims{
		Issuer: issuer, Audience: issuer, Subject: "u_alice", SessionID: sid,
		IssuedAt: now.Unix(), Expiry: now.Add(2 * time.Hour).Unix(),
		ID: fmt.Sprintf("jti-%d", jtiSeq.Add(1)), App: "mp",
	}
}

type fakeWXAuth struct {
	t      testing.TB
	srv    *httptest.Server
	URL    string
	clock  *clock
	jwksCC string // Cache-Control of the JWKS

	jwksFetches    atomic.Int64
	introspections atomic.Int64
	streamsOpened  atomic.Int64

	mu            sync.Mutex
	keys          []map[string]string // the JWKS
	jwksGate      chan struct{}       // non-nil: JWKS answers wait for it to close
	jwksArrived   chan struct{}       // receives once per JWKS request while gated
	streamGate    chan struct{}       // non-nil: new streams wait for it to close
	streamArrived chan struct{}       // receives once per stream request while gated
	revocations   []api.Revocation
	revokedSIDs   map[string]bool
	streams       map[*fakeStream]struct{}
	refuseStream  bool
	failIntro     bool
}

type fakeStream struct {
	events chan string
	cut    chan struct{}
}

func newFake(t testing.TB, keys ...*testKey) *fakeWXAuth {
	t.Helper()
	f := &fakeWXAuth{t: t, clock: newClock(t0), jwksCC: "public, max-age=300",
		revokedSIDs: map[string]bool{}, streams: map[*fakeStream]struct{}{}}
	f.setKeys(keys...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", f.serveJWKS)
	mux.HandleFunc("GET /v1/revocations", f.serveRevocations)
	mux.HandleFunc("POST /v1/introspect", f.serveIntrospect)
	f.srv = httptest.NewServer(mux)
	f.URL = f.srv.URL
	t.Cleanup(func() {
		f.cut(false)
		f.srv.Close()
	})
	return f
}

func (f *fakeWXAuth) setKeys(keys ...*testKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = f.keys[:0]
	for _, k := range keys {
		f.keys = append(f.keys, k.jwk())
	}
}

func (f *fakeWXAuth) addJWK(jwk map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, jwk)
}

func (f *fakeWXAuth) serveJWKS(w http.ResponseWriter, r *http.Request) {
	f.jwksFetches.Add(1)
	f.mu.Lock()
	gate, arrived := f.jwksGate, f.jwksArrived
	doc, _ := json.Marshal(map[string]any{"keys": f.keys})
	f.mu.Unlock()
	if gate != nil {
		arrived <- struct{}{}
		<-gate
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", f.jwksCC)
	w.Write(doc)
}

// gateJWKS makes JWKS answers wait until the returned func is called;
// arrived receives once per request that reached the gate.
func (f *fakeWXAuth) gateJWKS() (arrived <-chan struct{}, release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jwksGate, f.jwksArrived = make(chan struct{}), make(chan struct{}, 100)
	gate := f.jwksGate
	return f.jwksArrived, func() {
		f.mu.Lock()
		f.jwksGate = nil
		f.mu.Unlock()
		close(gate)
	}
}

// gateStreams makes new revocation streams wait until the returned func
// is called; arrived receives once per stream that reached the gate.
func (f *fakeWXAuth) gateStreams() (arrived <-chan struct{}, release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.streamGate, f.streamArrived = make(chan struct{}), make(chan struct{}, 100)
	gate := f.streamGate
	return f.streamArrived, func() {
		f.mu.Lock()
		f.streamGate = nil
		f.mu.Unlock()
		close(gate)
	}
}

func (f *fakeWXAuth) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+testServiceKey {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	return true
}

// serveRevocations is the documented push (api.Revocation): the snapshot,
// `event: ready`, then each new revocation.
func (f *fakeWXAuth) serveRevocations(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	f.mu.Lock()
	if gate, arrived := f.streamGate, f.streamArrived; gate != nil {
		f.mu.Unlock()
		arrived <- struct{}{}
		<-gate
		f.mu.Lock()
	}
	if f.refuseStream {
		f.mu.Unlock()
		http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	s := &fakeStream{events: make(chan string, 1024), cut: make(chan struct{})}
	var snap strings.Builder
	for _, rv := range f.revocations {
		snap.WriteString(revokedEvent(rv))
	}
	snap.WriteString("event: ready\ndata: {}\n\n")
	f.streams[s] = struct{}{}
	f.mu.Unlock()
	f.streamsOpened.Add(1)
	defer func() {
		f.mu.Lock()
		delete(f.streams, s)
		f.mu.Unlock()
	}()

	fl := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(": hello\n\n" + snap.String()))
	fl.Flush()
	for {
		select {
		case ev := <-s.events:
			w.Write([]byte(ev))
			fl.Flush()
		case <-s.cut:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func revokedEvent(r api.Revocation) string {
	b, _ := json.Marshal(r)
	return "event: revoked\ndata: " + string(b) + "\n\n"
}

// revoke records sid as revoked (introspection says inactive, the next
// snapshot has it) and publishes it on every open stream.
func (f *fakeWXAuth) revoke(sid string) {
	rv := api.Revocation{SID: sid, Until: f.clock.Now().Add(2 * time.Hour).Unix()}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revocations = append(f.revocations, rv)
	f.revokedSIDs[sid] = true
	for s := range f.streams {
		s.events <- revokedEvent(rv)
	}
}

// send writes raw text on every open stream.
func (f *fakeWXAuth) send(raw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.streams {
		s.events <- raw
	}
}

// cut ends every open stream; with refuse, new ones answer 503 until
// restore.
func (f *fakeWXAuth) cut(refuse bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuseStream = refuse
	for s := range f.streams {
		close(s.cut)
		delete(f.streams, s)
	}
}

func (f *fakeWXAuth) restore() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuseStream = false
}

func (f *fakeWXAuth) setIntrospectionFails(fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failIntro = fail
}

// serveIntrospect answers RFC 7662 for tokens of this fake: active unless
// the sid was revoked (the signature is the verifier's business here).
func (f *fakeWXAuth) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	f.introspections.Add(1)
	f.mu.Lock()
	fail := f.failIntro
	f.mu.Unlock()
	if fail {
		http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	parts := strings.Split(r.PostForm.Get("token"), ".")
	var c api.Claims
	if len(parts) == 3 {
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(b, &c)
	}
	f.mu.Lock()
	active := c.SessionID != "" && !f.revokedSIDs[c.SessionID] && f.clock.Now().Unix() < c.Expiry
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !active {
		w.Write([]byte(`{"active":false}`))
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"active": true, "sub": c.Subject, "sid": c.SessionID,
		"exp": c.Expiry, "iat": c.IssuedAt, "app": c.App, "iss": c.Issuer, "aud": c.Audience})
}

// config is a Verifier's configuration against f, with the push when
// withPush.
func (f *fakeWXAuth) config(withPush bool) Config {
	c := Config{Issuer: f.URL, Now: f.clock.Now, HTTPClient: f.srv.Client()}
	if withPush {
		c.ServiceKey = testServiceKey
	}
	return c
}

// newVerifier makes a Verifier on f's clock, closed when the test ends; its
// reconnect backoff is short so that tests do not wait.
func newVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v.sub != nil {
		v.sub.backoffMin, v.sub.backoffMax = time.Millisecond, 5*time.Millisecond
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// start starts v and waits until it is ready.
func start(t testing.TB, v *Verifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// waitLive waits until v's push is (not) live.
func waitLive(t testing.TB, v *Verifier, want bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.sub.live.wait(ctx, want); err != nil {
		t.Fatalf("waiting for live=%v: %v", want, err)
	}
}
