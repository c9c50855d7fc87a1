package jwks_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/idtoken/idtokentest"
	"github.com/keyless-dev/keyless/internal/jwks"
	"github.com/keyless-dev/keyless/internal/outbound"
	"github.com/keyless-dev/keyless/internal/outbound/outboundtest"
)

// Fault tests of security.md 3.M (F-05..F-10) and the network rows of 3.F
// (JWT-07, 08, 31, 32, 33, and JWT-36 of section 4.1) against jwks.Remote
// with the real guarded client and httptest identity providers that count
// what they are asked. Time is a fake clock; real time is used only for
// fetch timeouts, and only as generous upper bounds.

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// idp is a test identity provider: discovery and a key set, counted.
type idp struct {
	srv         *httptest.Server
	issuer      string
	discoveries atomic.Int64
	fetches     atomic.Int64
	stop        chan struct{} // closed at cleanup: blocked handlers return

	mu        sync.Mutex
	body      []byte
	header    http.Header
	jwks      http.HandlerFunc // replaces the key set answer when set
	discovery http.HandlerFunc // replaces the discovery answer when set
}

func newIDP(t *testing.T, signers ...*idtokentest.Signer) *idp {
	t.Helper()
	p := &idp{body: idtokentest.JWKS(signers...), header: http.Header{}, stop: make(chan struct{})}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.Start()
	p.issuer = p.srv.URL
	t.Cleanup(p.srv.Close)
	t.Cleanup(func() { close(p.stop) }) // runs first
	return p
}

func (p *idp) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	body, hdr, jwksFn, discFn := p.body, p.header.Clone(), p.jwks, p.discovery
	p.mu.Unlock()
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		p.discoveries.Add(1)
		if discFn != nil {
			discFn(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.issuer, "jwks_uri": p.issuer + "/jwks"})
	case "/jwks":
		p.fetches.Add(1)
		if jwksFn != nil {
			jwksFn(w, r)
			return
		}
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	default:
		http.NotFound(w, r)
	}
}

func (p *idp) set(signers ...*idtokentest.Signer) {
	p.mu.Lock()
	p.body = idtokentest.JWKS(signers...)
	p.mu.Unlock()
}

func (p *idp) setBody(b []byte) {
	p.mu.Lock()
	p.body = b
	p.mu.Unlock()
}

func (p *idp) setCacheControl(v ...string) {
	p.mu.Lock()
	p.header = http.Header{"Cache-Control": v}
	p.mu.Unlock()
}

func (p *idp) onJWKS(h http.HandlerFunc) {
	p.mu.Lock()
	p.jwks = h
	p.mu.Unlock()
}

func (p *idp) onDiscovery(h http.HandlerFunc) {
	p.mu.Lock()
	p.discovery = h
	p.mu.Unlock()
}

// block is a handler that answers nothing until the client gives up or
// the test ends.
func (p *idp) block(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.stop:
	}
}

// observer records every fetch Remote reports, and its log.
type observer struct {
	mu   sync.Mutex
	errs []error
	log  bytes.Buffer
}

func (o *observer) observe(_ string, err error) {
	o.mu.Lock()
	o.errs = append(o.errs, err)
	o.mu.Unlock()
}

func (o *observer) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.log.Write(p)
}

// attempts is how many refreshes ran, and the last one's error.
func (o *observer) attempts() (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.errs) == 0 {
		return 0, nil
	}
	return len(o.errs), o.errs[len(o.errs)-1]
}

func (o *observer) logs() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.log.String()
}

// options are the tests' defaults: a fresh set lives 10 minutes (5 to 60
// by Cache-Control), unknown kids refresh once a minute, a failed fetch is
// retried after 10 s, stale keys serve for 2 hours.
func options(c *clock.Fake) jwks.Options {
	return jwks.Options{Clock: c, MinTTL: 5 * time.Minute, MaxTTL: time.Hour, DefaultTTL: 10 * time.Minute,
		RefreshWindow: time.Minute, RetryAfterFailure: 10 * time.Second, MaxStale: 2 * time.Hour, FetchTimeout: 2 * time.Second}
}

// remote is a Remote for issuer through a guarded client (loopback allowed
// unless co says otherwise).
func remote(t *testing.T, issuer, jwksURL string, o jwks.Options, co *outbound.Options) (*jwks.Remote, *observer) {
	t.Helper()
	if co == nil {
		co = &outbound.Options{AllowLoopback: true, MaxBytes: idtoken.MaxKeySetBytes}
	}
	client, err := outbound.New(*co)
	if err != nil {
		t.Fatal(err)
	}
	obs := &observer{}
	o.Observe = obs.observe
	o.Logger = slog.New(slog.NewJSONHandler(obs, nil))
	return jwks.NewRemote(issuer, jwksURL, client, o), obs
}

func keysOf(t *testing.T, r *jwks.Remote, kid string) ([]idtoken.Key, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return r.Keys(ctx, kid)
}

// has reports whether keys hold exactly signer's public key, under its kid.
func has(keys []idtoken.Key, s *idtokentest.Signer) bool {
	want := publicOf(s)
	for _, k := range keys {
		if k.ID == s.KID && samePublic(k.Public, want) {
			return true
		}
	}
	return false
}

func publicOf(s *idtokentest.Signer) crypto.PublicKey {
	ks, _, err := idtoken.ParseKeySet(idtokentest.JWKS(s))
	if err != nil || len(ks) != 1 {
		panic(fmt.Sprintf("signer %s: %v", s.KID, err))
	}
	return ks[0].Public
}

func samePublic(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// mustKey checks that kid resolves to signer's key.
func mustKey(t *testing.T, r *jwks.Remote, s *idtokentest.Signer, when string) {
	t.Helper()
	ks, err := keysOf(t, r, s.KID)
	if err != nil || !has(ks, s) {
		t.Fatalf("%s: Keys(%s) = %d keys, %v; want the signer's key", when, s.KID, len(ks), err)
	}
}

// mustErr checks that kid resolves to no key, with want.
func mustErr(t *testing.T, r *jwks.Remote, kid string, want error, when string) {
	t.Helper()
	ks, err := keysOf(t, r, kid)
	if !errors.Is(err, want) || len(ks) != 0 {
		t.Fatalf("%s: Keys(%q) = %d keys, %v; want %v", when, kid, len(ks), err, want)
	}
}

// verify verifies a fresh token of issuer signed by s against r.
func verify(r idtoken.KeySource, c clock.Clock, issuer string, s *idtokentest.Signer) error {
	now := c.Now()
	tok, err := idtoken.Parse(s.Sign(map[string]any{"iss": issuer, "sub": "alice", "aud": "client", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = tok.Verify(ctx, &idtoken.Provider{Issuer: issuer, ClientIDs: []string{"client"}}, r, now)
	return err
}

// wantRefusal checks a verification error's kind and reason: Unavailable
// is STS's IDPCommunicationError, Invalid its InvalidIdentityToken.
func wantRefusal(t *testing.T, err error, kind idtoken.Kind, reason, when string) {
	t.Helper()
	var e *idtoken.Error
	if !errors.As(err, &e) || e.Kind != kind || reason != "" && e.Reason != reason {
		t.Fatalf("%s: verification error %#v, want kind %d reason %q", when, err, kind, reason)
	}
}

// Cold start: the key set is found through discovery, fetched once, and
// then served from cache.
func TestRemoteDiscovery(t *testing.T) {
	k1 := idtokentest.NewRSA("k1")
	p := newIDP(t, k1)
	c := clock.NewFake(t0)
	r, obs := remote(t, p.issuer, "", options(c), nil)
	if err := verify(r, c, p.issuer, k1); err != nil {
		t.Fatalf("cold verification: %v", err)
	}
	for range 10 {
		mustKey(t, r, k1, "cached")
	}
	if err := verify(r, c, p.issuer, k1); err != nil {
		t.Fatal(err)
	}
	if d, f := p.discoveries.Load(), p.fetches.Load(); d != 1 || f != 1 {
		t.Fatalf("%d discoveries, %d key set fetches; want 1 and 1", d, f)
	}
	if n, err := obs.attempts(); n != 1 || err != nil {
		t.Fatalf("observed %d fetches, last error %v", n, err)
	}
	// A configured jwks_url is fetched directly.
	r2, _ := remote(t, p.issuer, p.issuer+"/jwks", options(c), nil)
	mustKey(t, r2, k1, "configured jwks_url")
	if d := p.discoveries.Load(); d != 1 {
		t.Fatalf("a configured jwks_url still ran discovery (%d)", d)
	}
}

// Cache-Control max-age decides freshness, clamped to MinTTL and MaxTTL
// (RFC 9111 section 5.2.2.1).
func TestRemoteCacheControl(t *testing.T) {
	cases := []struct {
		name   string
		header []string
		ttl    time.Duration
	}{
		{"max-age=1200", []string{"max-age=1200"}, 20 * time.Minute},
		{"public, max-age=1200", []string{"public, max-age=1200"}, 20 * time.Minute},
		{"Max-Age upper case", []string{"Max-Age=1200"}, 20 * time.Minute},
		{"two header lines", []string{"public", "max-age=1200"}, 20 * time.Minute},
		{"below MinTTL", []string{"max-age=60"}, 5 * time.Minute},
		{"max-age=0", []string{"max-age=0"}, 5 * time.Minute},
		{"above MaxTTL", []string{"max-age=86400"}, time.Hour},
		{"none", nil, 10 * time.Minute},
		{"no-store", []string{"no-store"}, 5 * time.Minute},
		{"no-cache", []string{"no-cache"}, 5 * time.Minute},
		{"max-age=3600, no-store", []string{"max-age=3600, no-store"}, 5 * time.Minute},
		{"no-store, max-age=3600", []string{"no-store, max-age=3600"}, 5 * time.Minute},
		{"negative", []string{"max-age=-1"}, 10 * time.Minute},
		{"not a number", []string{"max-age=abc"}, 10 * time.Minute},
		// RFC 9111 section 1.2.2: a delta-seconds too large to represent
		// is taken as 2^31 seconds, which MaxTTL then bounds.
		{"overflowing", []string{"max-age=99999999999999999999"}, time.Hour},
	}
	k1 := idtokentest.NewRSA("k1")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newIDP(t, k1)
			p.setCacheControl(tc.header...)
			c := clock.NewFake(t0)
			r, _ := remote(t, p.issuer, "", options(c), nil)
			mustKey(t, r, k1, "cold")
			c.Set(t0.Add(tc.ttl - time.Second))
			mustKey(t, r, k1, "a second before expiry")
			if f := p.fetches.Load(); f != 1 {
				t.Fatalf("refetched %d times before %v", f-1, tc.ttl)
			}
			c.Set(t0.Add(tc.ttl))
			mustKey(t, r, k1, "at expiry")
			if f := p.fetches.Load(); f != 2 {
				t.Fatalf("%d fetches at %v; want the set refreshed once", f, tc.ttl)
			}
		})
	}
}

// randomKid is a printable kid that no provider publishes.
func randomKid(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 8+rng.IntN(24))
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return "x" + string(b)
}

// JWT-07, JWT-08, F-10: an unknown kid refreshes the set at most once per
// RefreshWindow, however many arrive; each is refused as unknown.
func TestRemoteUnknownKidFlood(t *testing.T) {
	k1, k2 := idtokentest.NewRSA("k1"), idtokentest.NewRSA("k2")
	p := newIDP(t, k1)
	p.setCacheControl("max-age=3600")
	c := clock.NewFake(t0)
	o := options(c)
	o.RefreshWindow = 5 * time.Minute
	o.MaxTTL = 2 * time.Hour
	r, _ := remote(t, p.issuer, "", o, nil)
	mustKey(t, r, k1, "cold")

	// JWT-07: one unknown kid right after the fetch: no refresh (the
	// window runs from the last fetch), refused.
	mustErr(t, r, "nope", idtoken.ErrUnknownKey, "JWT-07 within the window")
	if f := p.fetches.Load(); f != 1 {
		t.Fatalf("JWT-07: %d fetches", f)
	}

	// JWT-08: 10,000 random kids over one minute, starting after the
	// window: exactly one refresh.
	c.Advance(6 * time.Minute)
	rng := rand.New(rand.NewPCG(8, 8))
	for i := range 10000 {
		kid := randomKid(rng)
		if ks, err := r.Keys(context.Background(), kid); !errors.Is(err, idtoken.ErrUnknownKey) || len(ks) != 0 {
			t.Fatalf("JWT-08: kid %d: %d keys, %v", i, len(ks), err)
		}
		c.Advance(6 * time.Millisecond)
	}
	if f := p.fetches.Load(); f != 2 {
		t.Fatalf("JWT-08: %d fetches for 10,000 unknown kids in one window; want 1 refresh", f-1)
	}
	// Tokens with unknown kids are InvalidIdentityToken, and the cached
	// key still verifies (no refresh storm broke it).
	for range 100 {
		s := *k1
		s.KID = randomKid(rng)
		wantRefusal(t, verify(r, c, p.issuer, &s), idtoken.Invalid, "key_unknown", "JWT-08 token")
	}
	if err := verify(r, c, p.issuer, k1); err != nil {
		t.Fatalf("the known key during the flood: %v", err)
	}

	// A key published meanwhile is found once the window has passed, with
	// one more fetch.
	p.set(k1, k2)
	mustErr(t, r, "k2", idtoken.ErrUnknownKey, "new key within the window")
	c.Advance(5 * time.Minute)
	mustKey(t, r, k2, "new key after the window")
	for range 1000 {
		_, _ = r.Keys(context.Background(), randomKid(rng))
	}
	if f := p.fetches.Load(); f != 3 {
		t.Fatalf("%d fetches; want 3", f)
	}
	if d := p.discoveries.Load(); d != 1 {
		t.Fatalf("%d discoveries; the jwks_uri found once is kept while it works", d)
	}
}

// gate holds key set answers until released, and tells when the first
// request arrived.
type gate struct {
	mu      sync.Mutex
	release chan struct{}
	reached chan struct{}
	once    *sync.Once
}

func newGate() *gate {
	return &gate{release: make(chan struct{}), reached: make(chan struct{}), once: &sync.Once{}}
}

// reset arms the gate again.
func (g *gate) reset() {
	g.mu.Lock()
	g.release, g.reached, g.once = make(chan struct{}), make(chan struct{}), &sync.Once{}
	g.mu.Unlock()
}

func (g *gate) chans() (release, reached chan struct{}, once *sync.Once) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.release, g.reached, g.once
}

// F-06: concurrent misses share one fetch.
func TestRemoteCoalescing(t *testing.T) {
	k1 := idtokentest.NewRSA("k1")
	p := newIDP(t, k1)
	g := newGate()
	p.onJWKS(func(w http.ResponseWriter, r *http.Request) {
		release, reached, once := g.chans()
		once.Do(func() { close(reached) })
		select {
		case <-release:
		case <-p.stop:
			return
		}
		_, _ = w.Write(idtokentest.JWKS(k1))
	})
	c := clock.NewFake(t0)
	o := options(c)
	o.FetchTimeout = 20 * time.Second
	r, obs := remote(t, p.issuer, "", o, nil)

	run := func(kid func(i int) string) []error {
		release, reached, _ := g.chans()
		var started, done sync.WaitGroup
		errs := make([]error, 100)
		for i := range 100 {
			started.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				started.Done()
				_, errs[i] = keysOf(t, r, kid(i))
			}()
		}
		started.Wait()
		select {
		case <-reached:
		case <-time.After(10 * time.Second):
			t.Fatal("no fetch reached the provider")
		}
		time.Sleep(50 * time.Millisecond) // let the callers reach the wait
		close(release)
		done.Wait()
		return errs
	}
	errs := run(func(int) string { return "k1" })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if d, f := p.discoveries.Load(), p.fetches.Load(); d != 1 || f != 1 {
		t.Fatalf("100 concurrent cold callers: %d discoveries, %d fetches; want 1 and 1", d, f)
	}

	// 100 concurrent unknown kids after the window: one refresh.
	g.reset()
	c.Advance(2 * time.Minute)
	errs = run(func(i int) string { return fmt.Sprintf("unknown-%d", i) })
	for i, err := range errs {
		if !errors.Is(err, idtoken.ErrUnknownKey) {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if f := p.fetches.Load(); f != 2 {
		t.Fatalf("100 concurrent unknown kids: %d refreshes; want 1", f-1)
	}
	if n, _ := obs.attempts(); n != 2 {
		t.Fatalf("observed %d fetches", n)
	}
}

// JWT-36 (security.md 4.1): a refresh replaces the set; a key removed
// upstream stops verifying.
func TestRemoteRefreshReplacesSet(t *testing.T) {
	k1, k2, k3 := idtokentest.NewRSA("k1"), idtokentest.NewEC("k2"), idtokentest.NewRSA("k3")
	p := newIDP(t, k1, k2)
	c := clock.NewFake(t0)
	r, _ := remote(t, p.issuer, "", options(c), nil)
	mustKey(t, r, k1, "cold")
	mustKey(t, r, k2, "cold")

	// Rotation noticed through an unknown kid.
	p.set(k2, k3)
	c.Advance(2 * time.Minute)
	mustKey(t, r, k3, "new key")
	mustErr(t, r, "k1", idtoken.ErrUnknownKey, "removed key after an unknown-kid refresh")
	wantRefusal(t, verify(r, c, p.issuer, k1), idtoken.Invalid, "key_unknown", "token of the removed key")
	// Without a kid, the removed key is not among the candidates either.
	noKid := header(k1)
	wantRefusal(t, noKid(r, c, p.issuer), idtoken.Invalid, "", "kid-less token of the removed key")

	// Rotation noticed through expiry.
	p.set(k1)
	c.Advance(11 * time.Minute)
	mustKey(t, r, k1, "after expiry")
	mustErr(t, r, "k2", idtoken.ErrUnknownKey, "removed key after expiry")
	mustErr(t, r, "k3", idtoken.ErrUnknownKey, "removed key after expiry")
	if err := verify(r, c, p.issuer, k1); err != nil {
		t.Fatal(err)
	}
}

// header returns a verifier of a kid-less token signed by s.
func header(s *idtokentest.Signer) func(idtoken.KeySource, clock.Clock, string) error {
	return func(r idtoken.KeySource, c clock.Clock, issuer string) error {
		now := c.Now()
		h, _ := json.Marshal(map[string]any{"alg": s.Alg})
		pl, _ := json.Marshal(map[string]any{"iss": issuer, "sub": "alice", "aud": "client", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
		tok, err := idtoken.Parse(s.Raw(h, pl))
		if err != nil {
			return err
		}
		_, err = tok.Verify(context.Background(), &idtoken.Provider{Issuer: issuer, ClientIDs: []string{"client"}}, r, now)
		return err
	}
}

// F-05, JWT-31: the provider goes down. Cached keys serve until MaxStale,
// then nothing does; an unknown kid meanwhile is IDPCommunicationError;
// a failed fetch is retried no more than once per RetryAfterFailure; no
// token is ever accepted unverified.
func TestRemoteProviderDown(t *testing.T) {
	const secretMarker = "UPSTREAM-BODY-MARKER-7d1e"
	failures := []struct {
		name    string
		breakIt func(p *idp)
	}{
		{"500", func(p *idp) {
			p.onJWKS(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, secretMarker, 500) })
		}},
		{"500 with a key set", func(p *idp) {
			p.onJWKS(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(500)
				_, _ = w.Write(idtokentest.JWKS(idtokentest.NewRSA("k2")))
			})
		}},
		{"503 with Retry-After", func(p *idp) {
			p.onJWKS(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(503)
			})
		}},
		{"HTML", func(p *idp) {
			p.onJWKS(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html><body>" + secretMarker + "</body></html>"))
			})
		}},
		{"not a key set", func(p *idp) {
			p.onJWKS(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(`{"error":"` + secretMarker + `"}`))
			})
		}},
		{"truncated", func(p *idp) {
			p.onJWKS(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"keys":[{"kty":"RSA",`)) })
		}},
		{"keys null", func(p *idp) {
			p.onJWKS(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"keys":null}`)) })
		}},
		{"connection reset", func(p *idp) {
			p.onJWKS(func(w http.ResponseWriter, _ *http.Request) {
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					_ = conn.Close()
				}
			})
		}},
		{"body shorter than Content-Length", func(p *idp) {
			p.onJWKS(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "100000")
				_, _ = w.Write(idtokentest.JWKS(idtokentest.NewEC("k2")))
			})
		}},
		{"timeout", func(p *idp) { p.onJWKS(p.block) }},
		{"discovery down", func(p *idp) {
			p.onJWKS(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
			p.onDiscovery(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
		}},
		{"connection refused", func(p *idp) { p.srv.Close() }},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			k1, k2 := idtokentest.NewRSA("k1"), idtokentest.NewRSA("k2")
			forged := idtokentest.NewRSA("k1")
			p := newIDP(t, k1)
			c := clock.NewFake(t0)
			o := options(c)
			o.FetchTimeout = 300 * time.Millisecond
			// The client's own timeout is longer: FetchTimeout must bound
			// the refresh by itself.
			r, obs := remote(t, p.issuer, "", o, &outbound.Options{AllowLoopback: true, MaxBytes: idtoken.MaxKeySetBytes, Timeout: time.Minute})
			mustKey(t, r, k1, "before the outage")

			f.breakIt(p)
			p.set(k1, k2)               // what it would serve if it could
			c.Advance(11 * time.Minute) // the set is stale
			began := time.Now()
			mustKey(t, r, k1, "stale, first failed refresh")
			if time.Since(began) > 10*time.Second {
				t.Fatalf("a failed refresh took %v", time.Since(began))
			}
			n, err := obs.attempts()
			if n != 2 || err == nil {
				t.Fatalf("%d fetches, last error %v; want a second, failed one", n, err)
			}
			if strings.Contains(err.Error(), secretMarker) || strings.Contains(obs.logs(), secretMarker) {
				t.Fatal("the provider's answer reached an error or the log")
			}
			if !strings.Contains(obs.logs(), "identity provider keys not refreshed") {
				t.Fatal("the failure was not logged")
			}
			// JWT-31: an uncached kid while down is IDPCommunicationError,
			// never "no such key" and never accepted.
			mustErr(t, r, "k2", idtoken.ErrUnavailable, "uncached kid while down")
			wantRefusal(t, verify(r, c, p.issuer, k2), idtoken.Unavailable, "jwks_unavailable", "JWT-31 uncached kid")
			// The cached key verifies; a forgery under its kid does not.
			if err := verify(r, c, p.issuer, k1); err != nil {
				t.Fatalf("cached key while down: %v", err)
			}
			wantRefusal(t, verify(r, c, p.issuer, forged), idtoken.Invalid, "signature_invalid", "forgery while down")
			// No retry before RetryAfterFailure...
			c.Advance(9 * time.Second)
			mustKey(t, r, k1, "stale, within RetryAfterFailure")
			mustErr(t, r, "k2", idtoken.ErrUnavailable, "uncached kid within RetryAfterFailure")
			if n, _ := obs.attempts(); n != 2 {
				t.Fatalf("%d fetches within RetryAfterFailure; want no retry", n)
			}
			// ...one after it.
			c.Advance(2 * time.Second)
			mustKey(t, r, k1, "stale, retried")
			if n, _ := obs.attempts(); n != 3 {
				t.Fatalf("%d fetches after RetryAfterFailure; want one retry", n)
			}
			// F-05: at MaxStale after the last good fetch, nothing serves.
			c.Set(t0.Add(o.MaxStale - time.Second))
			mustKey(t, r, k1, "a second before MaxStale")
			c.Set(t0.Add(o.MaxStale))
			mustErr(t, r, "k1", idtoken.ErrUnavailable, "at MaxStale")
			wantRefusal(t, verify(r, c, p.issuer, k1), idtoken.Unavailable, "jwks_unavailable", "F-05 after MaxStale")
			c.Advance(time.Hour)
			mustErr(t, r, "k1", idtoken.ErrUnavailable, "long after MaxStale")
		})
	}

	t.Run("recovery", func(t *testing.T) {
		k1, k2 := idtokentest.NewRSA("k1"), idtokentest.NewRSA("k2")
		p := newIDP(t, k1)
		c := clock.NewFake(t0)
		r, _ := remote(t, p.issuer, "", options(c), nil)
		mustKey(t, r, k1, "before")
		p.onJWKS(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
		c.Advance(11 * time.Minute)
		mustKey(t, r, k1, "stale")
		p.onJWKS(nil)
		p.set(k2)
		c.Advance(11 * time.Second)
		mustKey(t, r, k2, "recovered")
		mustErr(t, r, "k1", idtoken.ErrUnknownKey, "recovered without k1")
	})

	// The set is fresh when the provider goes down: an unknown kid's
	// refresh fails, and further unknown kids within the window are
	// IDPCommunicationError too, not "no such key".
	t.Run("fresh set, unknown kid while down", func(t *testing.T) {
		k1 := idtokentest.NewRSA("k1")
		p := newIDP(t, k1)
		c := clock.NewFake(t0)
		r, obs := remote(t, p.issuer, "", options(c), nil)
		mustKey(t, r, k1, "before")
		p.onJWKS(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
		c.Advance(2 * time.Minute) // past the window, well within the TTL
		mustErr(t, r, "k2", idtoken.ErrUnavailable, "unknown kid, refresh failed")
		c.Advance(30 * time.Second) // past RetryAfterFailure, within the window
		mustErr(t, r, "k3", idtoken.ErrUnavailable, "unknown kid within the window after a failed refresh")
		wantRefusal(t, verify(r, c, p.issuer, idtokentest.NewRSA("k4")), idtoken.Unavailable, "jwks_unavailable", "JWT-31 fresh set")
		mustKey(t, r, k1, "cached key")
		if n, _ := obs.attempts(); n != 2 {
			t.Fatalf("%d fetches; want 2", n)
		}
	})

	t.Run("cold while down", func(t *testing.T) {
		p := newIDP(t)
		p.onJWKS(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
		c := clock.NewFake(t0)
		r, obs := remote(t, p.issuer, "", options(c), nil)
		rng := rand.New(rand.NewPCG(5, 5))
		for range 1000 {
			mustErr(t, r, randomKid(rng), idtoken.ErrUnavailable, "cold while down")
			c.Advance(10 * time.Millisecond) // 10 s in all
		}
		if n, _ := obs.attempts(); n != 1 {
			t.Fatalf("%d fetches in 10 s of misses while down; want 1 (RetryAfterFailure)", n)
		}
		wantRefusal(t, verify(r, c, p.issuer, idtokentest.NewRSA("k1")), idtoken.Unavailable, "jwks_unavailable", "cold while down")
	})
}

// JWT-31: an empty set is an answer: the kid is unknown
// (InvalidIdentityToken), not a communication error.
func TestRemoteEmptySet(t *testing.T) {
	p := newIDP(t)
	p.setBody([]byte(`{"keys":[]}`))
	c := clock.NewFake(t0)
	r, obs := remote(t, p.issuer, "", options(c), nil)
	k1 := idtokentest.NewRSA("k1")
	mustErr(t, r, "k1", idtoken.ErrUnknownKey, "empty set")
	mustErr(t, r, "", idtoken.ErrUnknownKey, "empty set, no kid")
	wantRefusal(t, verify(r, c, p.issuer, k1), idtoken.Invalid, "key_unknown", "empty set")
	if n, err := obs.attempts(); n != 1 || err != nil {
		t.Fatalf("%d fetches, %v", n, err)
	}
}

// F-07: a set too large, or with too many keys, is refused whole and the
// previous good set kept; a single oversized key is left out.
func TestRemoteOversizedSet(t *testing.T) {
	k1, knew := idtokentest.NewRSA("k1"), idtokentest.NewEC("k-new")
	jwk := func(s *idtokentest.Signer) map[string]any { return s.JWK() }
	setOf := func(entries []any, extra map[string]any) []byte {
		m := map[string]any{"keys": entries}
		for k, v := range extra {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	var many []any
	for i := range idtoken.MaxKeys {
		s := idtokentest.NewEC(fmt.Sprintf("many-%d", i))
		many = append(many, jwk(s))
	}
	many = append(many, jwk(knew)) // 101 keys
	huge := setOf([]any{jwk(knew)}, map[string]any{"pad": strings.Repeat("a", idtoken.MaxKeySetBytes)})
	cases := []struct {
		name string
		co   *outbound.Options
		jwks http.HandlerFunc
	}{
		{"over 1 MiB (client cap)", nil, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(huge) }},
		{"over 1 MiB (key set cap, larger client cap)", &outbound.Options{AllowLoopback: true, MaxBytes: 8 << 20},
			func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(huge) }},
		{"50 MB streamed without length", nil, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"keys":[`))
			_, _ = w.Write(setOf([]any{jwk(knew)}, nil))
			chunk := bytes.Repeat([]byte(" "), 64<<10)
			for range (50 << 20) / len(chunk) {
				if _, err := w.Write(chunk); err != nil || r.Context().Err() != nil {
					return
				}
			}
		}},
		{"101 keys", nil, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(setOf(many, nil)) }},
		{"10,000 keys", &outbound.Options{AllowLoopback: true, MaxBytes: 8 << 20}, func(w http.ResponseWriter, _ *http.Request) {
			entries := make([]any, 0, 10000)
			for range 10000 {
				entries = append(entries, jwk(knew))
			}
			_, _ = w.Write(setOf(entries, nil))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newIDP(t, k1)
			c := clock.NewFake(t0)
			r, obs := remote(t, p.issuer, "", options(c), tc.co)
			mustKey(t, r, k1, "good set")
			p.onJWKS(tc.jwks)
			c.Advance(2 * time.Minute)
			// The refused set held k-new: had it been used, this would
			// find it.
			mustErr(t, r, "k-new", idtoken.ErrUnavailable, "key only in the refused set")
			if n, err := obs.attempts(); n != 2 || err == nil {
				t.Fatalf("%d fetches, last error %v; want the second refused", n, err)
			}
			mustKey(t, r, k1, "previous good set kept")
			if err := verify(r, c, p.issuer, k1); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("1 MB key beside a good one", func(t *testing.T) {
		p := newIDP(t, k1)
		big := map[string]any{"kty": "RSA", "kid": "huge", "e": "AQAB", "n": strings.Repeat("wAAA", 225<<10)}
		p.setBody(setOf([]any{big, jwk(k1)}, nil))
		c := clock.NewFake(t0)
		r, obs := remote(t, p.issuer, "", options(c), nil)
		mustKey(t, r, k1, "good key beside the huge one")
		mustErr(t, r, "huge", idtoken.ErrUnknownKey, "the huge key")
		if !strings.Contains(obs.logs(), "identity provider key ignored") {
			t.Fatal("JWT-13: the ignored key was not logged")
		}
		if len(obs.logs()) > 64<<10 {
			t.Fatalf("the log of an ignored key is %d bytes", len(obs.logs()))
		}
	})

	// JWT-12, JWT-13 through the fetched path: keys that must not be used
	// are left out and logged.
	t.Run("keys to ignore", func(t *testing.T) {
		withD := idtokentest.NewRSA("with-d")
		jd := withD.JWK()
		jd["d"] = "AQAB"
		oct := map[string]any{"kty": "oct", "kid": "oct", "k": "c2VjcmV0"}
		enc := idtokentest.NewRSA("enc")
		je := enc.JWK()
		je["use"] = "enc"
		p := newIDP(t)
		p.setBody(setOf([]any{jd, oct, je, jwk(k1)}, nil))
		c := clock.NewFake(t0)
		r, obs := remote(t, p.issuer, "", options(c), nil)
		mustKey(t, r, k1, "good key")
		for _, kid := range []string{"with-d", "oct", "enc"} {
			mustErr(t, r, kid, idtoken.ErrUnknownKey, kid)
		}
		wantRefusal(t, verify(r, c, p.issuer, withD), idtoken.Invalid, "key_unknown", "token of the key with d")
		if got := strings.Count(obs.logs(), "identity provider key ignored"); got != 3 {
			t.Fatalf("%d ignored keys logged; want 3\n%s", got, obs.logs())
		}
	})
}

// F-08: a provider alternating between two sets. A key verifies only if
// it is in the set fetched last, and refreshes stay within their limits.
func TestRemoteFlapping(t *testing.T) {
	a, b := idtokentest.NewRSA("a1"), idtokentest.NewEC("b1")
	sets := [][]*idtokentest.Signer{{a}, {b}}
	p := newIDP(t)
	var (
		mu   sync.Mutex
		next int
		last = -1
	)
	p.onJWKS(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		i := next
		next = 1 - next
		last = i
		mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=1")
		_, _ = w.Write(idtokentest.JWKS(sets[i]...))
	})
	c := clock.NewFake(t0)
	o := options(c)
	o.MinTTL, o.MaxTTL, o.RefreshWindow = 30*time.Second, 30*time.Second, 30*time.Second
	r, _ := remote(t, p.issuer, "", o, nil)
	rng := rand.New(rand.NewPCG(8, 0))
	const steps = 600 // 10 minutes, a second at a time
	for i := range steps {
		for _, s := range []*idtokentest.Signer{a, b} {
			ks, err := keysOf(t, r, s.KID)
			mu.Lock()
			cur := last
			mu.Unlock()
			inLast := cur >= 0 && sets[cur][0] == s
			switch {
			case err == nil && (!inLast || !has(ks, s)):
				t.Fatalf("step %d: %s resolved while the last fetched set is %d", i, s.KID, cur)
			case err != nil && !errors.Is(err, idtoken.ErrUnknownKey):
				t.Fatalf("step %d: %s: %v", i, s.KID, err)
			}
			verr := verify(r, c, p.issuer, s)
			mu.Lock()
			inLast = last >= 0 && sets[last][0] == s
			mu.Unlock()
			if verr == nil && !inLast {
				t.Fatalf("step %d: a token of %s verified while it is not in the last fetched set", i, s.KID)
			}
		}
		if _, err := keysOf(t, r, randomKid(rng)); !errors.Is(err, idtoken.ErrUnknownKey) {
			t.Fatalf("step %d: random kid: %v", i, err)
		}
		c.Advance(time.Second)
	}
	// One refresh per 30 s at most (expiry and unknown kids share the
	// window here): 20 in 10 minutes, plus the first.
	if f := p.fetches.Load(); f > steps/30+1 || f < 5 {
		t.Fatalf("%d fetches in %d s", f, steps)
	}
}

// redirectTo answers with a redirect to target.
func redirectTo(code int, target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", target)
		w.WriteHeader(code)
	}
}

// dialLog is a test Dialer that records every address the client dials.
type dialLog struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dialLog) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	if h, _, _ := net.SplitHostPort(addr); h != "127.0.0.1" {
		return nil, errors.New("test dialer: only 127.0.0.1 is reachable")
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *dialLog) dialed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// F-09, JWT-32: redirects from the key set or discovery are not followed;
// neither the canary nor a metadata address is dialed.
func TestRemoteRedirects(t *testing.T) {
	cn := outboundtest.NewCanary(t)
	k1 := idtokentest.NewRSA("k1")
	targets := []string{cn.URL + "/jwks", "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://10.0.0.1/jwks", "/jwks-elsewhere"}
	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, target := range targets {
			for _, where := range []string{"jwks", "discovery"} {
				t.Run(fmt.Sprintf("%d from %s to %s", code, where, target), func(t *testing.T) {
					p := newIDP(t, k1)
					if where == "jwks" {
						p.onJWKS(redirectTo(code, target))
					} else {
						p.onDiscovery(redirectTo(code, target))
					}
					d := &dialLog{}
					c := clock.NewFake(t0)
					r, obs := remote(t, p.issuer, "", options(c), &outbound.Options{AllowLoopback: true, AllowPrivate: true, Dialer: d.dial})
					mustErr(t, r, "k1", idtoken.ErrUnavailable, "redirected")
					wantRefusal(t, verify(r, c, p.issuer, k1), idtoken.Unavailable, "jwks_unavailable", "JWT-32")
					if _, err := obs.attempts(); !errors.Is(err, outbound.ErrRefused) {
						t.Fatalf("fetch error %v, want a refusal", err)
					}
					srvAddr := strings.TrimPrefix(p.issuer, "http://")
					for _, a := range d.dialed() {
						if a != srvAddr {
							t.Fatalf("dialed %s", a)
						}
					}
					expectNone(t, cn)
				})
			}
		}
	}
}

// expectNone fails the test if anything reached the canary.
func expectNone(t *testing.T, c *outboundtest.Canary) {
	t.Helper()
	if n := c.Conns(); n != 0 {
		t.Fatalf("the canary received %d connections", n)
	}
}

// JWT-32 (discovery half): a discovery document is believed only if it
// names the issuer exactly and a jwks_uri on the issuer's own scheme and
// host; nothing it names elsewhere is fetched.
func TestRemoteDiscoveryRefusals(t *testing.T) {
	cn := outboundtest.NewCanary(t)
	cases := []struct {
		name string
		doc  func(issuer string) string
	}{
		{"jwks_uri on another host", func(iss string) string {
			return `{"issuer":"` + iss + `","jwks_uri":"` + cn.URL + `/jwks"}`
		}},
		{"jwks_uri on localhost, same port", func(iss string) string {
			return `{"issuer":"` + iss + `","jwks_uri":"` + strings.Replace(iss, "127.0.0.1", "localhost", 1) + `/jwks"}`
		}},
		{"jwks_uri https on the same host", func(iss string) string {
			return `{"issuer":"` + iss + `","jwks_uri":"` + strings.Replace(iss, "http://", "https://", 1) + `/jwks"}`
		}},
		{"jwks_uri relative", func(iss string) string { return `{"issuer":"` + iss + `","jwks_uri":"/jwks"}` }},
		{"jwks_uri with userinfo", func(iss string) string {
			return `{"issuer":"` + iss + `","jwks_uri":"http://` + strings.TrimPrefix(iss, "http://") + `@` + strings.TrimPrefix(cn.URL, "http://") + `/jwks"}`
		}},
		{"jwks_uri missing", func(iss string) string { return `{"issuer":"` + iss + `"}` }},
		{"jwks_uri not a string", func(iss string) string { return `{"issuer":"` + iss + `","jwks_uri":["` + iss + `/jwks"]}` }},
		{"issuer with a trailing slash", func(iss string) string { return `{"issuer":"` + iss + `/","jwks_uri":"` + iss + `/jwks"}` }},
		{"issuer of another host", func(iss string) string {
			return `{"issuer":"` + cn.URL + `","jwks_uri":"` + iss + `/jwks"}`
		}},
		{"issuer missing", func(iss string) string { return `{"jwks_uri":"` + iss + `/jwks"}` }},
		{"not JSON", func(string) string { return `<html>hello</html>` }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k1 := idtokentest.NewRSA("k1")
			p := newIDP(t, k1)
			doc := tc.doc(p.issuer)
			p.onDiscovery(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(doc)) })
			c := clock.NewFake(t0)
			r, obs := remote(t, p.issuer, "", options(c), nil)
			mustErr(t, r, "k1", idtoken.ErrUnavailable, tc.name)
			if _, err := obs.attempts(); err == nil || !strings.Contains(err.Error(), "discovery") {
				t.Fatalf("fetch error %v", err)
			}
			if f := p.fetches.Load(); f != 0 {
				t.Fatalf("the key set was fetched %d times", f)
			}
			expectNone(t, cn)
			// The next refresh discovers again (nothing was kept).
			c.Advance(time.Minute)
			mustErr(t, r, "k1", idtoken.ErrUnavailable, tc.name+", again")
			if d := p.discoveries.Load(); d != 2 {
				t.Fatalf("%d discoveries", d)
			}
		})
	}
	t.Run("404", func(t *testing.T) {
		p := newIDP(t, idtokentest.NewRSA("k1"))
		p.onDiscovery(http.NotFound)
		r, _ := remote(t, p.issuer, "", options(clock.NewFake(t0)), nil)
		mustErr(t, r, "k1", idtoken.ErrUnavailable, "discovery 404")
	})
}

// F-06: a provider that never answers. Each refresh ends at FetchTimeout;
// concurrent callers share it and return; callers with shorter deadlines
// return at theirs; nothing is left running; another provider is served
// meanwhile.
func TestRemoteSlowProvider(t *testing.T) {
	p := newIDP(t, idtokentest.NewRSA("k1"))
	p.onDiscovery(p.block)
	before := runtime.NumGoroutine()
	c := clock.NewFake(t0)
	o := options(c)
	o.FetchTimeout = 300 * time.Millisecond
	slowClient := &outbound.Options{AllowLoopback: true, MaxBytes: idtoken.MaxKeySetBytes, Timeout: time.Minute}
	r, obs := remote(t, p.issuer, "", o, slowClient)

	began := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Keys(context.Background(), "k1")
		}()
	}
	wg.Wait()
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("100 callers took %v with a 300 ms fetch timeout", d)
	}
	for i, err := range errs {
		if !errors.Is(err, idtoken.ErrUnavailable) {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if d := p.discoveries.Load(); d < 1 || d > 2 {
		// 2 only if a caller arrived after the first attempt failed and
		// RetryAfterFailure let it retry, which the fake clock forbids.
		t.Fatalf("%d discovery requests for 100 concurrent callers", d)
	}
	if n, _ := obs.attempts(); n != 1 {
		t.Fatalf("%d fetches for 100 concurrent callers; want 1", n)
	}

	// A caller's own deadline ends its wait, not the fetch.
	o2 := options(c)
	o2.FetchTimeout = 3 * time.Second
	r2, obs2 := remote(t, p.issuer, "", o2, slowClient)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	began = time.Now()
	_, err := r2.Keys(ctx, "k1")
	cancel()
	if !errors.Is(err, idtoken.ErrUnavailable) || time.Since(began) > 2*time.Second {
		t.Fatalf("a caller with a 50 ms deadline: %v after %v", err, time.Since(began))
	}

	// Another provider is served while this one hangs.
	k9 := idtokentest.NewRSA("k9")
	q := newIDP(t, k9)
	rq, _ := remote(t, q.issuer, "", options(c), nil)
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	ks, err := rq.Keys(ctx, "k9")
	cancel()
	if err != nil || !has(ks, k9) {
		t.Fatalf("the healthy provider while another hangs: %v", err)
	}

	// Goroutines settle back (the fetch goroutines, their connections and
	// the server's handlers all end).
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _ := obs2.attempts()
		if n == 1 && runtime.NumGoroutine() <= before+8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after; background fetches finished: %d", before, runtime.NumGoroutine(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// JWT-33: an issuer whose address is loopback, private, link-local or a
// metadata endpoint is refused at dial time by the guarded client, and
// nothing is dialed.
func TestRemoteSSRF(t *testing.T) {
	k1 := idtokentest.NewRSA("k1")
	jwksBody := idtokentest.JWKS(k1)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			_, _ = fmt.Fprintf(w, `{"issuer":"https://%s","jwks_uri":"https://%s/jwks"}`, r.Host, r.Host)
			return
		}
		_, _ = w.Write(jwksBody)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	issuer := srv.URL // https://127.0.0.1:PORT

	c := clock.NewFake(t0)
	r, obs := remote(t, issuer, "", options(c), &outbound.Options{RootCAs: roots})
	mustErr(t, r, "k1", idtoken.ErrUnavailable, "loopback issuer")
	if _, err := obs.attempts(); !errors.Is(err, outbound.ErrRefused) {
		t.Fatalf("fetch error %v, want a refusal", err)
	}
	wantRefusal(t, verify(r, c, issuer, k1), idtoken.Unavailable, "jwks_unavailable", "JWT-33")
	if n := conns.Load(); n != 0 {
		t.Fatalf("JWT-33: the loopback issuer received %d connections", n)
	}
	// Control: the same issuer, loopback allowed, is reachable; so the
	// refusal above was the address check.
	rc, _ := remote(t, issuer, "", options(c), &outbound.Options{RootCAs: roots, AllowLoopback: true})
	mustKey(t, rc, k1, "control with loopback allowed")
	if conns.Load() == 0 {
		t.Fatal("the control fetch made no connection")
	}

	// Other addresses, through a dialer that records what would be dialed.
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		issuer       string
		allowPrivate bool
	}{
		{"https://169.254.169.254", false},
		{"https://169.254.169.254", true},
		{"https://169.254.170.2", true},
		{"https://100.100.100.200", true},
		{"https://[fd00:ec2::254]", true},
		{"https://[::ffff:169.254.169.254]", true},
		{"https://[64:ff9b::a9fe:a9fe]", true},
		{"https://10.0.0.1", false},
		{"https://172.16.0.1", false},
		{"https://192.168.1.1", false},
		{"https://100.64.0.1", false},
		{"https://[fd00::1]", false},
		{"https://[fe80::1]", false},
		{"https://127.0.0.1:" + fmt.Sprint(port), false},
		{"https://127.0.0.2:" + fmt.Sprint(port), true},
		{"https://[::1]:" + fmt.Sprint(port), true},
		{"https://[::ffff:127.0.0.1]:" + fmt.Sprint(port), true},
		{"https://localhost:" + fmt.Sprint(port), true},
		{"https://0.0.0.0:" + fmt.Sprint(port), true},
	} {
		t.Run(fmt.Sprintf("%s allowPrivate=%v", tc.issuer, tc.allowPrivate), func(t *testing.T) {
			d := &dialLog{}
			c := clock.NewFake(t0)
			r, obs := remote(t, tc.issuer, "", options(c), &outbound.Options{RootCAs: roots, AllowPrivate: tc.allowPrivate, Dialer: d.dial})
			mustErr(t, r, "k1", idtoken.ErrUnavailable, tc.issuer)
			if _, err := obs.attempts(); err == nil {
				t.Fatal("no fetch error")
			}
			if got := d.dialed(); len(got) != 0 {
				t.Fatalf("dialed %v", got)
			}
		})
	}
	// Control for the recording dialer: a private address with
	// AllowPrivate is dialed (and the dialer refuses it).
	d := &dialLog{}
	rp, _ := remote(t, "https://10.0.0.1", "", options(c), &outbound.Options{AllowPrivate: true, Dialer: d.dial})
	mustErr(t, rp, "k1", idtoken.ErrUnavailable, "control")
	if got := d.dialed(); len(got) != 1 || got[0] != "10.0.0.1:443" {
		t.Fatalf("control: dialed %v", got)
	}
}
