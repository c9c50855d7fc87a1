package app

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keyless-dev/keyless/internal/awsproof"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/jwks"
	"github.com/keyless-dev/keyless/internal/outbound"
)

// providerKeys builds every OIDC provider's key set: its static keys, or a
// remote set fetched through a guarded client of its own (its thumbprints,
// its network allowances).
func providerKeys(dir *iam.Directory, deps Deps, reg prometheus.Registerer) (func(*iam.OIDCProvider) idtoken.KeySource, error) {
	fetches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keyless_jwks_fetches_total",
		Help: "Fetches of identity providers' key sets, by issuer and result.",
	}, []string{"issuer", "result"})
	reg.MustRegister(fetches)
	opts := jwks.Options{Clock: deps.Clock, Logger: deps.Logger, Observe: func(issuer string, err error) {
		result := "ok"
		if err != nil {
			result = "error"
		}
		fetches.WithLabelValues(issuer, result).Inc()
	}}
	sets := map[*iam.OIDCProvider]idtoken.KeySource{}
	for _, p := range dir.OIDCProviders() {
		if len(p.StaticKeys) > 0 {
			for _, why := range p.SkippedKeys {
				deps.Logger.Warn("identity provider key ignored", "issuer", p.URL, "why", why)
			}
			sets[p] = jwks.Static(p.StaticKeys)
			continue
		}
		client, err := outbound.New(outbound.Options{
			AllowLoopback: p.AllowHTTPLoopback,
			AllowPrivate:  p.AllowPrivateNetwork,
			Thumbprints:   p.Thumbprints,
			MaxBytes:      idtoken.MaxKeySetBytes,
		})
		if err != nil {
			return nil, fmt.Errorf("OIDC provider %s: %w", p.ARN(), err)
		}
		sets[p] = jwks.NewRemote(p.URL, p.JWKSURL, client, opts)
	}
	return func(p *iam.OIDCProvider) idtoken.KeySource {
		if s, ok := sets[p]; ok {
			return s
		}
		return jwks.Static(nil) // not a provider of this directory: no keys
	}, nil
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
