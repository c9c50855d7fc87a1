package app

import (
	"io"
	"net/http"

	"github.com/keyless-dev/keyless/internal/authzapi"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/exchangeapi"
	"github.com/keyless-dev/keyless/internal/integrationapi"
	"github.com/keyless-dev/keyless/internal/issuerapi"
	"github.com/keyless-dev/keyless/internal/samlsignin"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/signing"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/stsapi"
)

// services are what a generation's surfaces are built on.
type services struct {
	cfg        *config.Config
	sts        *sts.Service
	auth       *sigauth.Authenticator
	exchange   *exchange.Service
	challenges *exchange.Challenges
	issuers    map[string]accountIssuer // by account
}

// surfaces is keyless's route table: every HTTP surface, each mounting
// its own routes on the shared edge. A new surface is one line here and a
// package of its own.
func (a *App) surfaces(s services) []*edge.Surface {
	cfg := s.cfg
	return []*edge.Surface{
		a.status(), // /healthz, /readyz, /metrics
		stsapi.New(stsapi.Options{Service: s.sts, Auth: s.auth, Region: cfg.Region}).Surface(), // /
		authzapi.New(authzapi.Options{Service: s.sts, Auth: s.auth}).Surface(),                 // /v1/authorize
		exchangeapi.New(exchangeapi.Options{Exchange: s.exchange, Challenges: s.challenges, Service: s.sts, Auth: s.auth,
			Endpoint: cfg.ExchangeEndpoint(), Region: cfg.Region}).Surface(), // /SecureTokenService/..., /v1/token
		samlsignin.New(samlSignIn(s)).Surface(), // /saml, /REGION/saml, /saml/metadata.xml
		a.issuer(s).Surface(),                   // ISSUER/.well-known/..., ISSUER/tokens/ID/.well-known/...
		integrationapi.New(integrationapi.Options{Integrations: a.integrations, Service: s.sts, Auth: s.auth,
			Region: cfg.Region}).Surface(), // /v1/integrations/...
	}
}

// issuer configures the OIDC issuers' documents.
func (a *App) issuer(s services) *issuerapi.Handler {
	var ids []string
	for _, iss := range s.issuers {
		ids = append(ids, iss.id)
	}
	algs := make([]string, len(signing.Algorithms))
	for i, alg := range signing.Algorithms {
		algs[i] = string(alg)
	}
	return issuerapi.New(issuerapi.Options{JWKS: a.signing.JWKS, Issuer: s.cfg.IssuerURL(), Path: s.cfg.Issuer.Path, Accounts: ids,
		Algorithms: algs, AccountAlgorithms: sts.IdentityTokenAlgorithms, MaxAge: s.cfg.Issuer.JWKSMaxAge})
}

// samlSignIn configures the SAML sign-in pages.
func samlSignIn(s services) samlsignin.Options {
	cfg := s.cfg
	entityID := samlsignin.DefaultEntityID
	if len(cfg.SAML.Audiences) > 0 {
		entityID = cfg.SAML.Audiences[0]
	}
	base := cfg.SAMLBaseURL()
	return samlsignin.Options{Service: s.sts, BaseURL: base, Regions: cfg.SAML.Regions, Region: cfg.Region,
		EntityID: entityID, STSEndpoint: base}
}

// status is the surface operators and load balancers watch: liveness,
// readiness and Prometheus metrics, outside the audited pipeline.
func (a *App) status() *edge.Surface {
	return &edge.Surface{Name: "status", Routes: []edge.Route{
		{Pattern: "/healthz", Plain: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "ok\n")
		})},
		{Pattern: "/readyz", Plain: http.HandlerFunc(a.ready)},
		{Pattern: "/metrics", Plain: a.metrics},
	}}
}
