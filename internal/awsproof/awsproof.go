package awsproof

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/outbound"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Header names and limits.
const (
	// AudienceHeader binds a request to one keyless audience (security.md
	// V-08). Google's X-Goog-Cloud-Target-Resource is accepted instead.
	AudienceHeader = "X-Keyless-Audience"
	// ChallengeHeader carries an optional server-issued single-use value.
	ChallengeHeader = "X-Keyless-Challenge"
	// NonceHeader carries an optional client-chosen random value (at most
	// 64 characters of base64url's alphabet). Signed, it makes each
	// request's signature unique, so that two requests signed in the same
	// second are not one replayed (GCIX-13). It is forwarded as sent.
	NonceHeader = "X-Keyless-Nonce"
	// Body is the only request an envelope may carry, in the query or in
	// the body (STS API reference, GetCallerIdentity).
	Body = "Action=GetCallerIdentity&Version=2011-06-15"
	// MaxEnvelopeBytes caps the serialized request.
	MaxEnvelopeBytes = 64 << 10
)

const (
	defaultMaxAge    = 5 * time.Minute
	defaultMaxFuture = time.Minute
	defaultTimeout   = 5 * time.Second
	// awsWindow: AWS accepts a signature this long after X-Amz-Date.
	awsWindow        = 15 * time.Minute
	maxResponseBytes = 64 << 10
	attempts         = 3 // GCIX-18: at most 2 retries
	backoffMin       = 50 * time.Millisecond
	backoffJitter    = 150 * time.Millisecond
)

// Options configure a Verifier.
type Options struct {
	// Partitions whose public STS endpoints are allowed: "aws",
	// "aws-us-gov", "aws-cn". Nil means {"aws"}; an empty, non-nil slice
	// allows none (Upstreams only).
	Partitions []string
	// Upstreams are operator-configured STS endpoints (such as moto_server
	// or another keyless), matched before the public ones.
	Upstreams []Upstream
	// RequireChallenge makes ChallengeHeader mandatory (GCIX-11).
	RequireChallenge bool
	// Challenges checks a ChallengeHeader value whenever one is sent; an
	// envelope with a challenge is refused if Challenges is nil.
	Challenges ChallengeChecker
	// UseOnce records key until the given time, failing with an error
	// wrapping storage.ErrConflict if it was already recorded. Required.
	UseOnce func(ctx context.Context, key string, until time.Time) error
	// Sessions, if set, opens the session tokens this deployment sealed
	// (*credential.TokenSealer), so that what the exchange issues never
	// outlives the session that signed the request. Any other token
	// (AWS's, another deployment's) cannot be opened, and its end cannot
	// be seen.
	Sessions SessionOpener
	// Clock defaults to the system clock.
	Clock clock.Clock
	// MaxAge (default 5 min, at most 15) and MaxFuture (default 1 min, at
	// most 15) bound X-Amz-Date around now (GCIX-12).
	MaxAge, MaxFuture time.Duration
	// Timeout bounds each upstream attempt. Default 5s.
	Timeout time.Duration
	// Random, if set, feeds the retry jitter; otherwise math/rand/v2.
	Random io.Reader
	// RootCAs verify upstreams; nil means the system roots.
	RootCAs *x509.CertPool
	// Dialer and Resolver are for tests only (see outbound.Options).
	Dialer   func(ctx context.Context, network, addr string) (net.Conn, error)
	Resolver func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Upstream is an operator-configured STS endpoint.
type Upstream struct {
	URL       string // scheme://host[:port], no path
	Region    string // the credential scope region requests must carry
	Partition string // the ARN partition it answers for; default "aws"
	// AllowHTTPLoopback permits plain http and loopback addresses;
	// AllowPrivateNetwork permits private addresses (outbound.Options).
	AllowHTTPLoopback, AllowPrivateNetwork bool
}

// SessionOpener opens a session token sealed for an access key id; an
// error wrapping credential.ErrInvalidToken means the token is not one it
// sealed.
type SessionOpener interface {
	Open(ctx context.Context, accessKeyID, token string) (credential.Session, error)
}

// ChallengeChecker validates a server-issued challenge for audience. An
// error refuses the request; one with Unavailable() true makes it a
// temporary failure.
type ChallengeChecker interface {
	CheckChallenge(ctx context.Context, value, audience string) error
}

// Verifier implements exchange.AWSVerifier. It is safe for concurrent use.
type Verifier struct {
	aws              *outbound.Client
	partitions       []string
	upstreams        []endpoint
	requireChallenge bool
	challenges       ChallengeChecker
	sessions         SessionOpener
	useOnce          func(context.Context, string, time.Time) error
	clock            clock.Clock
	maxAge           time.Duration
	maxFuture        time.Duration
	// inflight bounds concurrent upstream calls: a flood of well-formed
	// envelopes with made-up signatures must not become a flood of
	// outbound connections (or get keyless's address throttled by AWS).
	inflight chan struct{}

	mu     sync.Mutex // guards random
	random io.Reader
}

var _ exchange.AWSVerifier = (*Verifier)(nil)

// New validates o and builds one guarded client for the public AWS
// endpoints and one per upstream.
func New(o Options) (*Verifier, error) {
	v := &Verifier{
		inflight:         make(chan struct{}, MaxInflight),
		requireChallenge: o.RequireChallenge,
		challenges:       o.Challenges,
		sessions:         o.Sessions,
		useOnce:          o.UseOnce,
		clock:            o.Clock,
		maxAge:           o.MaxAge,
		maxFuture:        o.MaxFuture,
		random:           o.Random,
	}
	switch {
	case o.UseOnce == nil:
		return nil, errors.New("awsproof: UseOnce is required (replay protection)")
	case o.RequireChallenge && o.Challenges == nil:
		return nil, errors.New("awsproof: RequireChallenge needs Challenges")
	case o.MaxAge < 0 || o.MaxAge > awsWindow || o.MaxFuture < 0 || o.MaxFuture > awsWindow:
		return nil, errors.New("awsproof: MaxAge and MaxFuture must be between 0 and 15 minutes")
	case o.Timeout < 0:
		return nil, errors.New("awsproof: negative Timeout")
	}
	if v.clock == nil {
		v.clock = clock.System{}
	}
	if v.maxAge == 0 {
		v.maxAge = defaultMaxAge
	}
	if v.maxFuture == 0 {
		v.maxFuture = defaultMaxFuture
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	v.partitions = []string{"aws"}
	if o.Partitions != nil {
		v.partitions = nil
		for _, p := range o.Partitions {
			if p != "aws" && p != "aws-us-gov" && p != "aws-cn" {
				return nil, fmt.Errorf("awsproof: unknown partition %q (want aws, aws-us-gov or aws-cn)", p)
			}
			if !slices.Contains(v.partitions, p) {
				v.partitions = append(v.partitions, p)
			}
		}
	}
	base := outbound.Options{
		// Every exchange calls the same few STS hosts: reuse connections.
		KeepAlive: true,
		Timeout:   timeout,
		MaxBytes:  maxResponseBytes,
		RootCAs:   o.RootCAs,
		Dialer:    o.Dialer,
		Resolver:  o.Resolver,
	}
	var err error
	if v.aws, err = outbound.New(base); err != nil {
		return nil, fmt.Errorf("awsproof: %w", err)
	}
	for _, u := range o.Upstreams {
		ep, err := parseUpstream(u)
		if err != nil {
			return nil, err
		}
		for _, other := range v.upstreams {
			if other.host == ep.host {
				return nil, fmt.Errorf("awsproof: upstream %q configured twice", u.URL)
			}
		}
		co := base
		co.AllowLoopback, co.AllowPrivate = u.AllowHTTPLoopback, u.AllowPrivateNetwork
		if ep.client, err = outbound.New(co); err != nil {
			return nil, fmt.Errorf("awsproof: upstream %q: %w", u.URL, err)
		}
		v.upstreams = append(v.upstreams, ep)
	}
	return v, nil
}

// checked is an envelope that passed every local check.
type checked struct {
	target
	auth         authorization
	signedAt     time.Time
	sessionToken string      // X-Amz-Security-Token, if any
	header       http.Header // the outbound header, from the template
}

// MaxInflight is how many upstream calls may be under way at once; more
// are answered Unavailable at once.
const MaxInflight = 64

// VerifyAWS checks envelope, has the endpoint's STS execute the rebuilt
// request and returns the identity it answered. Every refusal of the
// envelope happens before any connection.
func (v *Verifier) VerifyAWS(ctx context.Context, envelope []byte, audience string) (exchange.AWSIdentity, error) {
	c, err := v.check(ctx, envelope, audience)
	if err != nil {
		return exchange.AWSIdentity{}, err
	}
	id, err := v.call(ctx, c)
	if err != nil {
		return exchange.AWSIdentity{}, err
	}
	id.AccessKeyID = c.auth.accessKeyID
	id.Endpoint, id.Upstream = c.ep.host, c.ep.upstream
	id.SignedAt = c.signedAt
	if id.NotAfter, err = v.sessionEnd(ctx, c); err != nil {
		return exchange.AWSIdentity{}, err
	}
	return id, nil
}

// sessionEnd is when the signing session ends, if this deployment sealed
// its token; zero otherwise. Only the expiry is taken from it: the
// upstream's answer, already in, says who signed.
func (v *Verifier) sessionEnd(ctx context.Context, c *checked) (time.Time, error) {
	if v.sessions == nil || c.sessionToken == "" {
		return time.Time{}, nil
	}
	sess, err := v.sessions.Open(ctx, c.auth.accessKeyID, c.sessionToken)
	switch {
	case errors.Is(err, credential.ErrInvalidToken):
		return time.Time{}, nil // AWS's or another deployment's
	case err != nil:
		// Ours or not, it cannot be told: fail closed.
		return time.Time{}, unavailable("session_token_unavailable", err)
	}
	return sess.Expiration, nil
}

// check runs every local check, in order, and consumes the signature.
func (v *Verifier) check(ctx context.Context, b []byte, audience string) (*checked, error) {
	e, err := parseEnvelope(b)
	if err != nil {
		return nil, err
	}
	if e.method != http.MethodPost { // GCIX-04
		return nil, refuse("method_not_post")
	}
	t, err := v.checkURL(e.url)
	if err != nil {
		return nil, err
	}
	if t.bodyForm && e.body != Body || !t.bodyForm && e.body != "" { // GCIX-05
		return nil, refuse("body_not_allowed")
	}
	h := e.header
	if ct, ok := h["content-type"]; ok && (!t.bodyForm || !slices.Contains(formContentTypes, ct)) {
		return nil, refuse("content_type_not_allowed")
	}
	switch host, ok := h["host"]; {
	case !ok:
		return nil, refuse("host_header_missing")
	case host != t.authority:
		return nil, refuse("host_header_mismatch")
	}

	authz, ok := h["authorization"]
	if !ok {
		return nil, refuse("authorization_missing")
	}
	a, err := parseAuthorization(authz) // GCIX-08
	if err != nil {
		return nil, err
	}
	rawDate, ok := h["x-amz-date"]
	if !ok {
		return nil, refuse("date_missing")
	}
	signedAt, err := sigv4.ParseTime(rawDate)
	switch {
	case err != nil:
		return nil, refuse("date_malformed")
	case a.date != rawDate[:8]:
		return nil, refuse("credential_date_mismatch")
	case a.region != t.ep.region: // GCIX-09, V-06
		return nil, refuse("region_mismatch")
	}

	// Nothing unsigned is forwarded, and nothing signed is missing (V-08).
	// An unsigned nonce would not make the signature unique: its own
	// reason, for the client that forgot to sign it.
	if _, ok := h[nonceName]; ok && !slices.Contains(a.signed, nonceName) {
		return nil, refuse("nonce_unsigned")
	}
	for _, name := range e.names {
		if name != "authorization" && !slices.Contains(a.signed, name) {
			return nil, refuse("header_unsigned")
		}
	}
	for _, name := range a.signed {
		if _, ok := h[name]; !ok {
			return nil, refuse("signed_header_missing")
		}
	}

	// Audience (GCIX-10): exactly one of the two headers, exact value.
	audName := keylessAudience
	got, hasKeyless := h[keylessAudience]
	gotGoogle, hasGoogle := h[googleAudience]
	switch {
	case hasKeyless && hasGoogle:
		return nil, refuse("audience_ambiguous")
	case hasGoogle:
		audName, got = googleAudience, gotGoogle
	case !hasKeyless:
		return nil, refuse("audience_missing")
	}
	if audience == "" || subtle.ConstantTimeCompare([]byte(got), []byte(audience)) != 1 {
		return nil, refuse("audience_mismatch")
	}

	now := v.clock.Now()
	switch { // GCIX-12
	case signedAt.Before(now.Add(-v.maxAge)):
		return nil, refuse("date_stale")
	case signedAt.After(now.Add(v.maxFuture)):
		return nil, refuse("date_future")
	}

	challenge, hasChallenge := h[challengeName] // GCIX-11
	switch {
	case v.requireChallenge && !hasChallenge:
		return nil, refuse("challenge_missing")
	case hasChallenge && v.challenges == nil:
		return nil, refuse("challenge_not_enabled")
	case hasChallenge:
		if err := v.challenges.CheckChallenge(ctx, challenge, audience); err != nil {
			var u interface{ Unavailable() bool }
			if errors.As(err, &u) && u.Unavailable() {
				return nil, unavailable("challenge_unavailable", err)
			}
			return nil, &Error{reason: "challenge_invalid", cause: err}
		}
	}

	// Single use (GCIX-13), checked last so that only a request that
	// would go out consumes its signature. The key is kept as long as AWS
	// honours the signature (X-Amz-Date + 15 min, beyond our MaxAge),
	// plus MaxFuture for clock skew. A failed upstream call still uses it:
	// the client signs again.
	sum := sha256.Sum256([]byte(a.signature))
	key := "aws-sigv4:" + hex.EncodeToString(sum[:])
	if err := v.useOnce(ctx, key, signedAt.Add(awsWindow+v.maxFuture)); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, refuse("replayed")
		}
		return nil, unavailable("replay_store_unavailable", err)
	}

	// The outbound header: only signature-bearing values, by our names.
	out := http.Header{}
	for _, name := range []string{"authorization", "x-amz-date", "x-amz-security-token", audName, challengeName, nonceName} {
		if val, ok := h[name]; ok {
			out[canonicalName(name)] = []string{val}
		}
	}
	if ct, ok := h["content-type"]; ok {
		out["Content-Type"] = []string{ct}
	}
	// Our own Accept: STS answers XML, and nothing the client sent may
	// ask for another format (V-01).
	out["Accept"] = []string{"text/xml"}
	return &checked{target: t, auth: a, signedAt: signedAt.UTC(), sessionToken: h["x-amz-security-token"], header: out}, nil
}

// call sends the rebuilt request, retrying network failures, timeouts and
// 5xx twice with jittered backoff (GCIX-18). A success is never cached.
func (v *Verifier) call(ctx context.Context, c *checked) (exchange.AWSIdentity, error) {
	select {
	case v.inflight <- struct{}{}:
		defer func() { <-v.inflight }()
	default:
		return exchange.AWSIdentity{}, unavailable("upstream_busy", errors.New("too many upstream calls in flight"))
	}
	var body []byte
	if c.bodyForm {
		body = []byte(Body)
	}
	var last error
	for i := range attempts {
		if i > 0 {
			if err := v.backoff(ctx); err != nil {
				return exchange.AWSIdentity{}, unavailable("upstream_unavailable", err)
			}
		}
		resp, err := c.ep.client.Post(ctx, c.url(), c.header, body)
		switch {
		case errors.Is(err, outbound.ErrRedirect): // GCIX-14, V-04
			return exchange.AWSIdentity{}, refuse("upstream_redirect")
		case errors.Is(err, outbound.ErrRefused):
			// An address refused at dial (GCIX-24) or an oversized
			// answer (GCIX-20): not retried.
			return exchange.AWSIdentity{}, unavailable("outbound_refused", err)
		case err != nil:
			last = err
			if ctx.Err() != nil {
				return exchange.AWSIdentity{}, unavailable("upstream_unavailable", err)
			}
			continue
		case resp.Status >= 500:
			last = fmt.Errorf("upstream status %d", resp.Status)
			continue
		}
		return answer(resp, c.ep.partition)
	}
	return exchange.AWSIdentity{}, unavailable("upstream_unavailable", last)
}

// backoff waits 50 to 200 ms, or until ctx is done.
func (v *Verifier) backoff(ctx context.Context) error {
	return clock.Sleep(ctx, backoffMin+v.jitter(backoffJitter))
}

func (v *Verifier) jitter(max time.Duration) time.Duration {
	if v.random == nil {
		return rand.N(max + 1)
	}
	var b [8]byte
	v.mu.Lock()
	_, err := io.ReadFull(v.random, b[:])
	v.mu.Unlock()
	if err != nil {
		return 0
	}
	return time.Duration(binary.BigEndian.Uint64(b[:]) % uint64(max+1))
}
