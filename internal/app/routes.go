package app

import (
	"io"
	"net/http"
	"strings"

	"github.com/keyless-dev/keyless/internal/authzapi"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/exchangeapi"
	"github.com/keyless-dev/keyless/internal/integrationapi"
	"github.com/keyless-dev/keyless/internal/issuerapi"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/loginapi"
	"github.com/keyless-dev/keyless/internal/oidcsignin"
	"github.com/keyless-dev/keyless/internal/portal"
	"github.com/keyless-dev/keyless/internal/samlsignin"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/signin"
	"github.com/keyless-dev/keyless/internal/signing"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/stsapi"
	"github.com/keyless-dev/keyless/internal/websession"
)

// services are what a generation's surfaces are built on.
type services struct {
	cfg        *config.Config
	sts        *sts.Service
	auth       *sigauth.Authenticator
	exchange   *exchange.Service
	challenges *exchange.Challenges
	issuers    map[string]accountIssuer // by account
	users      *userSignIns
}

// surfaces is keyless's route table: every HTTP surface, each mounting
// its own routes on the shared edge. A new surface is one line here and a
// package of its own.
func (a *App) surfaces(s services) []*edge.Surface {
	cfg := s.cfg
	browsers := a.browsers(cfg)
	saml := samlSignIn(s)
	if cfg.SAMLBaseURL() == cfg.PublicURL {
		// A SAML sign-in is a browser session too, where the cookie
		// reaches the other pages.
		saml.Sessions, saml.Principal = browsers, s.users.RolePrincipal
	}
	surfaces := []*edge.Surface{
		a.status(), // /healthz, /readyz, /metrics
		stsapi.New(stsapi.Options{Service: s.sts, Auth: s.auth, Region: cfg.Region}).Surface(), // /
		authzapi.New(authzapi.Options{Service: s.sts, Auth: s.auth}).Surface(),                 // /v1/authorize
		exchangeapi.New(exchangeapi.Options{Exchange: s.exchange, Challenges: s.challenges, Service: s.sts, Auth: s.auth,
			Endpoint: cfg.ExchangeEndpoint(), Region: cfg.Region}).Surface(), // /SecureTokenService/..., /v1/token
		samlsignin.New(saml).Surface(), // /saml, /REGION/saml, /saml/metadata.xml
		a.issuer(s).Surface(),          // ISSUER/.well-known/..., ISSUER/tokens/ID/.well-known/...
		integrationapi.New(integrationapi.Options{Integrations: a.integrations, Service: s.sts, Auth: s.auth,
			Region: cfg.Region}).Surface(), // /v1/integrations/...
	}
	return append(surfaces, a.signIn(s, browsers)...)
}

// browsers keeps browsers' sign-in sessions.
func (a *App) browsers(cfg *config.Config) *signin.Sessions {
	deps := a.deps
	return &signin.Sessions{Store: websession.New(websession.Options{Store: deps.Store, Clock: deps.Clock, Random: deps.Random,
		Idle: cfg.SignIn.SessionIdle, Absolute: cfg.SignIn.SessionMax}), Secure: strings.HasPrefix(cfg.PublicURL, "https:"), MaxAge: cfg.SignIn.SessionMax}
}

// signIn is developer sign-in: the pages (/signin/..., GET
// /v1/authorize, /v1/sessions/confirmation) and aws login's token call
// (JSON POST /v1/token), sharing paths with the authorization API and the
// RFC 8693 endpoint.
func (a *App) signIn(s services, browsers *signin.Sessions) []*edge.Surface {
	cfg, deps := s.cfg, a.deps
	codes := login.New(login.Options{Store: deps.Store, Keys: macKeys{a.ring}, Issuer: s.users, Clock: deps.Clock, Random: deps.Random,
		CredentialsTTL: cfg.SignIn.CredentialsTTL, SessionMax: cfg.SignIn.SessionMax, Grace: cfg.SignIn.RefreshGrace})
	var links []portal.Link
	var providers []oidcsignin.Provider
	for _, o := range cfg.SignIn.OIDC {
		links = append(links, portal.Link{Name: o.DisplayName, Path: "/signin/oidc/" + o.Name})
		providers = append(providers, oidcsignin.Provider{Name: o.Name, DisplayName: o.DisplayName, Issuer: o.Issuer, ClientID: o.ClientID,
			ClientSecret: o.ClientSecret, Account: o.Account, Scopes: o.Scopes})
	}
	out := []*edge.Surface{
		loginapi.New(loginapi.Options{Login: codes, PublicURL: cfg.PublicURL, Region: cfg.Region}).Surface(),
		portal.New(portal.Options{Users: s.users, Sessions: browsers, Codes: codes, PublicURL: cfg.PublicURL, Region: cfg.Region,
			SessionMax: cfg.SignIn.SessionMax, OIDC: links}).Surface(),
	}
	if len(providers) > 0 {
		out = append(out, oidcsignin.New(oidcsignin.Options{Service: s.sts, Providers: providers, Sessions: browsers,
			Principal: s.users.RolePrincipal, Store: deps.Store, PublicURL: cfg.PublicURL, Region: cfg.Region, Clock: deps.Clock,
			Random: deps.Random, Client: a.signInClient}).Surface())
	}
	return out
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
