package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/outbound"
)

// Getter fetches a URL; *outbound.Client is the one keyless uses.
type Getter interface {
	Get(ctx context.Context, url string) (outbound.Response, error)
}

// Options tune every remote key set.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// MinTTL and MaxTTL bound how long a fetched set is fresh, whatever
	// Cache-Control says; DefaultTTL applies without max-age.
	MinTTL, MaxTTL, DefaultTTL time.Duration
	// RefreshWindow: an unknown kid causes at most one fetch per window.
	RefreshWindow time.Duration
	// RetryAfterFailure: after a failed fetch, a stale set is not fetched
	// again for this long (the cached keys keep serving meanwhile).
	RetryAfterFailure time.Duration
	// MaxStale: cached keys serve at most this long after the fetch that
	// brought them; after that, a provider that is down fails closed.
	MaxStale time.Duration
	// FetchTimeout bounds one refresh (discovery and key set together).
	FetchTimeout time.Duration
	// Observe, if set, is told of every fetch (for metrics).
	Observe func(issuer string, err error)
}

// Defaults.
const (
	DefaultMinTTL            = 5 * time.Minute
	DefaultMaxTTL            = 24 * time.Hour
	DefaultTTL               = time.Hour
	DefaultRefreshWindow     = time.Minute
	DefaultRetryAfterFailure = 10 * time.Second
	DefaultMaxStale          = 24 * time.Hour
	DefaultFetchTimeout      = 5 * time.Second
)

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&o.MinTTL, DefaultMinTTL)
	set(&o.MaxTTL, DefaultMaxTTL)
	set(&o.DefaultTTL, DefaultTTL)
	set(&o.RefreshWindow, DefaultRefreshWindow)
	set(&o.RetryAfterFailure, DefaultRetryAfterFailure)
	set(&o.MaxStale, DefaultMaxStale)
	set(&o.FetchTimeout, DefaultFetchTimeout)
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Observe == nil {
		o.Observe = func(string, error) {}
	}
}

// Remote is one provider's key set, fetched over the network.
type Remote struct {
	issuer string
	// jwksURL is configured, or found by discovery (then cleared when a
	// fetch from it fails, so that the next refresh discovers again).
	jwksURL    string
	configured bool
	client     Getter
	o          Options

	mu          sync.Mutex
	keys        []idtoken.Key
	fetched     time.Time // zero: never fetched successfully
	expires     time.Time
	lastAttempt time.Time
	lastErr     error
	inflight    chan struct{}
}

// NewRemote returns the key set of issuer. jwksURL may be empty: it is then
// found at issuer + "/.well-known/openid-configuration" and must be on the
// issuer's own scheme and host.
func NewRemote(issuer, jwksURL string, client Getter, o Options) *Remote {
	o.defaults()
	return &Remote{issuer: issuer, jwksURL: jwksURL, configured: jwksURL != "", client: client, o: o}
}

var _ idtoken.KeySource = (*Remote)(nil)

// Keys implements idtoken.KeySource.
func (r *Remote) Keys(ctx context.Context, kid string) ([]idtoken.Key, error) {
	now := r.o.Clock.Now()
	r.mu.Lock()
	if !r.fetched.IsZero() && now.Before(r.expires) {
		if ks := lookup(r.keys, kid); len(ks) > 0 {
			r.mu.Unlock()
			return ks, nil
		}
		if now.Sub(r.lastAttempt) < r.o.RefreshWindow {
			err := r.missLocked()
			r.mu.Unlock()
			return nil, err
		}
	} else if r.lastErr != nil && now.Sub(r.lastAttempt) < r.o.RetryAfterFailure {
		ks, err := r.cachedLocked(kid, now)
		r.mu.Unlock()
		return ks, err
	}
	done := r.inflight
	if done == nil {
		done = make(chan struct{})
		r.inflight, r.lastAttempt = done, now
		go r.refresh(done)
	}
	r.mu.Unlock()

	select {
	case <-done:
	case <-ctx.Done():
		return nil, idtoken.ErrUnavailable
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastErr == nil {
		if ks := lookup(r.keys, kid); len(ks) > 0 {
			return ks, nil
		}
		return nil, idtoken.ErrUnknownKey
	}
	return r.cachedLocked(kid, r.o.Clock.Now())
}

// missLocked is the answer for a kid the current set lacks.
func (r *Remote) missLocked() error {
	if r.lastErr != nil {
		return idtoken.ErrUnavailable
	}
	return idtoken.ErrUnknownKey
}

// cachedLocked serves from the last good set while the provider is failing,
// until MaxStale (security.md F-05).
func (r *Remote) cachedLocked(kid string, now time.Time) ([]idtoken.Key, error) {
	if r.fetched.IsZero() || now.Sub(r.fetched) >= r.o.MaxStale {
		return nil, idtoken.ErrUnavailable
	}
	if ks := lookup(r.keys, kid); len(ks) > 0 {
		return ks, nil
	}
	return nil, idtoken.ErrUnavailable
}

// lookup returns the keys with id kid, or all keys for an empty kid.
func lookup(keys []idtoken.Key, kid string) []idtoken.Key {
	if kid == "" {
		return keys
	}
	var out []idtoken.Key
	for _, k := range keys {
		if k.ID == kid {
			out = append(out, k)
		}
	}
	return out
}

// refresh fetches the set and replaces the cached one whole. It runs on its
// own deadline: a caller that gives up does not cancel it for the others.
func (r *Remote) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), r.o.FetchTimeout)
	defer cancel()
	keys, ttl, err := r.fetch(ctx)
	r.o.Observe(r.issuer, err)
	now := r.o.Clock.Now()
	r.mu.Lock()
	if err != nil {
		r.o.Logger.Warn("identity provider keys not refreshed", "issuer", r.issuer, "err", err)
		r.lastErr = err
		if !r.configured {
			r.jwksURL = ""
		}
	} else {
		r.keys, r.fetched, r.expires, r.lastErr = keys, now, now.Add(ttl), nil
	}
	r.inflight = nil
	r.mu.Unlock()
	close(done)
}

func (r *Remote) fetch(ctx context.Context) ([]idtoken.Key, time.Duration, error) {
	r.mu.Lock()
	u := r.jwksURL
	r.mu.Unlock()
	if u == "" {
		var err error
		if u, err = r.discover(ctx); err != nil {
			return nil, 0, err
		}
		r.mu.Lock()
		r.jwksURL = u
		r.mu.Unlock()
	}
	resp, err := r.client.Get(ctx, u)
	if err != nil {
		return nil, 0, fmt.Errorf("fetching the key set: %w", err)
	}
	if resp.Status != http.StatusOK {
		return nil, 0, fmt.Errorf("fetching the key set: status %d", resp.Status)
	}
	keys, skipped, err := idtoken.ParseKeySet(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	for _, s := range skipped {
		r.o.Logger.Warn("identity provider key ignored", "issuer", r.issuer, "why", s)
	}
	return keys, r.ttl(resp.Header), nil
}

// discover reads the provider's configuration (OpenID Connect Discovery 1.0
// sections 4 and 4.3: the issuer in it must be the one configured).
func (r *Remote) discover(ctx context.Context) (string, error) {
	resp, err := r.client.Get(ctx, strings.TrimSuffix(r.issuer, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if resp.Status != http.StatusOK {
		return "", fmt.Errorf("discovery: status %d", resp.Status)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return "", errors.New("discovery: not a JSON document")
	}
	if doc.Issuer != r.issuer {
		return "", errors.New("discovery: the document names another issuer")
	}
	iss, err1 := url.Parse(r.issuer)
	ju, err2 := url.Parse(doc.JWKSURI)
	if err1 != nil || err2 != nil || ju.Scheme != iss.Scheme || ju.Host != iss.Host {
		return "", errors.New("discovery: jwks_uri is not on the issuer's host; configure jwks_url to allow it")
	}
	return doc.JWKSURI, nil
}

// ttl is how long a fetched set stays fresh: Cache-Control max-age (RFC
// 9111 section 5.2.2.1) between MinTTL and MaxTTL.
func (r *Remote) ttl(h http.Header) time.Duration {
	ttl, noStore := r.o.DefaultTTL, false
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			switch {
			case d == "no-store" || d == "no-cache":
				noStore = true
			case strings.HasPrefix(d, "max-age="):
				n, err := strconv.ParseUint(d[len("max-age="):], 10, 63)
				switch {
				case err == nil:
					ttl = time.Duration(min(n, uint64(r.o.MaxTTL/time.Second))) * time.Second
				case errors.Is(err, strconv.ErrRange):
					ttl = r.o.MaxTTL // RFC 9111 section 1.2.2: overflow means "a very long time"
				}
			}
		}
	}
	if noStore {
		ttl = 0 // whatever else the header says
	}
	return min(max(ttl, r.o.MinTTL), r.o.MaxTTL)
}

// Static is a key set given in configuration, for issuers keyless cannot
// reach; it is never fetched.
type Static []idtoken.Key

// Keys implements idtoken.KeySource.
func (s Static) Keys(_ context.Context, kid string) ([]idtoken.Key, error) {
	if ks := lookup(s, kid); len(ks) > 0 {
		return ks, nil
	}
	return nil, idtoken.ErrUnknownKey
}
