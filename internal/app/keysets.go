package app

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keyless-dev/keyless/internal/awsproof"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/jwks"
	"github.com/keyless-dev/keyless/internal/outbound"
)

// keySets are the OIDC providers' key sets, kept across reloads: a
// provider whose settings did not change keeps its cached keys, so a
// reload makes no provider fetch its keys again.
type keySets struct {
	deps Deps
	opts jwks.Options
	mu   sync.Mutex
	sets map[string]idtoken.KeySource // by setKey
}

func newKeySets(deps Deps, reg prometheus.Registerer) *keySets {
	fetches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keyless_jwks_fetches_total",
		Help: "Fetches of identity providers' key sets, by issuer and result.",
	}, []string{"issuer", "result"})
	reg.MustRegister(fetches)
	return &keySets{deps: deps, sets: map[string]idtoken.KeySource{}, opts: jwks.Options{Clock: deps.Clock, Logger: deps.Logger,
		Observe: func(issuer string, err error) {
			result := "ok"
			if err != nil {
				result = "error"
			}
			fetches.WithLabelValues(issuer, result).Inc()
		}}}
}

// setKey is what a remote key set depends on: where it is fetched from
// and how.
func setKey(p *iam.OIDCProvider) string {
	return fmt.Sprintf("%q %q %v %v %q", p.URL, p.JWKSURL, p.AllowHTTPLoopback, p.AllowPrivateNetwork, p.Thumbprints)
}

// forDirectory returns every OIDC provider's key set: its static keys, or
// a remote set fetched through a guarded client of its own (its
// thumbprints, its network allowances), reused when it was built before.
// The sets kept for the next reload change only when commit is called,
// once the directory is in force.
func (k *keySets) forDirectory(dir *iam.Directory) (keys func(*iam.OIDCProvider) idtoken.KeySource, commit func(), err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	sets := map[*iam.OIDCProvider]idtoken.KeySource{}
	kept := map[string]idtoken.KeySource{}
	for _, p := range dir.OIDCProviders() {
		if len(p.StaticKeys) > 0 {
			for _, why := range p.SkippedKeys {
				k.deps.Logger.Warn("identity provider key ignored", "issuer", p.URL, "why", why)
			}
			sets[p] = jwks.Static(p.StaticKeys)
			continue
		}
		key := setKey(p)
		set, ok := k.sets[key]
		if !ok {
			client, err := outbound.New(outbound.Options{
				AllowLoopback: p.AllowHTTPLoopback,
				AllowPrivate:  p.AllowPrivateNetwork,
				Thumbprints:   p.Thumbprints,
				MaxBytes:      idtoken.MaxKeySetBytes,
			})
			if err != nil {
				return nil, nil, fmt.Errorf("OIDC provider %s: %w", p.ARN(), err)
			}
			set = jwks.NewRemote(p.URL, p.JWKSURL, client, k.opts)
		}
		sets[p], kept[key] = set, set
	}
	keys = func(p *iam.OIDCProvider) idtoken.KeySource {
		if s, ok := sets[p]; ok {
			return s
		}
		return jwks.Static(nil) // not a provider of this directory: no keys
	}
	commit = func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.sets = kept
	}
	return keys, commit, nil
}

// upstreams converts the configured STS upstreams.
func upstreams(list []config.AWSUpstream) []awsproof.Upstream {
	out := make([]awsproof.Upstream, len(list))
	for i, u := range list {
		out[i] = awsproof.Upstream{URL: u.URL, Region: u.Region, Partition: u.Partition,
			AllowHTTPLoopback: u.AllowHTTPLoopback, AllowPrivateNetwork: u.AllowPrivateNetwork}
	}
	return out
}
