package app

import (
	"context"
	"fmt"
	"github.com/keyless-dev/keyless/internal/issuerapi"
	"github.com/keyless-dev/keyless/internal/signing"
	"log/slog"

	"github.com/keyless-dev/keyless/internal/authmsg"
	"github.com/keyless-dev/keyless/internal/awsproof"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/identity"
	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/sts"
)

// build makes a generation from cfg: the directory (unique ids claimed,
// trust bound), the domain services and the surfaces on them. Nothing it
// makes is in force until the caller stores it; the returned release
// unbinds the ids of removed users and roles, once it is.
func (a *App) build(ctx context.Context, cfg *config.Config) (*generation, func(context.Context) error, error) {
	deps := a.deps
	dir, release, err := identity.Build(ctx, cfg.Identities, deps.Store, deps.Random)
	if err != nil {
		return nil, nil, err
	}
	keys, commitKeys, err := a.keySets.forDirectory(dir)
	if err != nil {
		return nil, nil, err
	}
	issuers, err := a.accountIssuers(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	useIntegrations, err := a.integrations.Prepare(ctx, cfg.Integrations.Specs)
	if err != nil {
		return nil, nil, err
	}
	tokens := credential.NewTokenSealer(a.ring, a.deployment, deps.Random)
	svc := sts.New(sts.Options{
		ProviderKeys:     keys,
		Directory:        dir,
		Tokens:           tokens,
		Messages:         authmsg.NewMessageSealer(a.ring, deps.Random),
		RevokedBefore:    a.revoked.Before,
		MFA:              deps.Store,
		Attempts:         deps.Store,
		Clock:            deps.Clock,
		MFAMaxFailures:   cfg.MFAMaxFailures,
		MFALockoutWindow: cfg.MFALockoutWindow,
		SAML:             a.saml,
		SAMLExpect:       samlExpectations(cfg, deps.Logger),
		SingleUse:        deps.Store,
		Random:           deps.Random,
		Passwords:        a.passwords,
		SignInLimits: sts.SignInLimits{PerUser: cfg.SignIn.MaxFailuresPerUser, PerSource: cfg.SignIn.MaxFailuresPerSource,
			Window: cfg.SignIn.FailureWindow},
		Issuers: &sts.Issuers{
			Account: func(account string) (string, bool) { iss, ok := issuers[account]; return iss.url, ok },
			Sign: func(alg string, claims []byte) (string, error) {
				return a.signing.Sign(signing.Algorithm(alg), claims)
			},
		},
	})
	useOnce := exchange.SingleUse(deps.Store, deps.Clock)
	challenges := exchange.NewChallenges(a.ring, deps.Clock, deps.Random, useOnce)
	awsProofs, err := awsproof.New(awsproof.Options{
		Partitions:       cfg.Exchange.Partitions,
		Upstreams:        upstreams(cfg.Exchange.Upstreams),
		RequireChallenge: cfg.Exchange.RequireChallenge,
		Challenges:       challenges,
		Sessions:         tokens, // our own sessions' ends cap what the exchange issues
		UseOnce:          useOnce,
		Clock:            deps.Clock,
		MaxAge:           cfg.Exchange.MaxRequestAge,
		Random:           deps.Random,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("token exchange: %w", err)
	}
	router, err := a.edge.Mount(a.surfaces(services{
		cfg:  cfg,
		sts:  svc,
		auth: &sigauth.Authenticator{Service: svc, Verifier: a.verifier, AllowRegion: allowRegion(cfg.Regions)},
		exchange: exchange.New(exchange.Options{Providers: cfg.IdentityProviders, Directory: dir, ProviderKeys: keys,
			AWS: awsProofs, Sessions: svc, UseOnce: useOnce, Clock: deps.Clock}),
		challenges: challenges,
		issuers:    issuers,
		users:      &userSignIns{sts: svc, sign: a.signing.Sign, issuer: cfg.IssuerURL(), region: cfg.Region, clock: deps.Clock},
	})...)
	if err != nil {
		return nil, nil, err
	}
	// Once in force: keep this generation's key sets for the next one,
	// and unbind the ids of the users and roles it removed.
	inForce := func(ctx context.Context) error {
		commitKeys()
		useIntegrations()
		return release(ctx)
	}
	return &generation{cfg: cfg, router: router, issuers: issuers}, inForce, nil
}

// accountIssuer is an account's own OIDC issuer.
type accountIssuer struct{ id, url string }

// accountIssuers finds (or makes) the issuer of each account that enabled
// outbound web identity federation.
func (a *App) accountIssuers(ctx context.Context, cfg *config.Config) (map[string]accountIssuer, error) {
	out := map[string]accountIssuer{}
	for _, acct := range cfg.Identities.Accounts {
		if !acct.OutboundWebIdentityFederation {
			continue
		}
		id, err := identity.AccountIssuer(ctx, a.deps.Store, a.deps.Random, acct.ID, acct.OutboundIssuerID)
		if err != nil {
			return nil, fmt.Errorf("issuer of account %s: %w", acct.ID, err)
		}
		out[acct.ID] = accountIssuer{id: id, url: issuerapi.AccountIssuerURL(cfg.IssuerURL(), id)}
	}
	return out, nil
}

// samlExpectations are what every SAML assertion must show to be for
// this server, and logs what the SAML providers' metadata left out.
func samlExpectations(cfg *config.Config, log *slog.Logger) saml.Expectations {
	var recipients []string
	if base := cfg.SAMLBaseURL(); base != "" {
		recipients = cfg.SAML.SignInURLs(base)
	} else {
		recipients = cfg.SAML.ExtraRecipients // no URL of our own is known
	}
	for _, p := range cfg.Identities.SAMLProviders {
		for _, why := range p.SkippedCertificates {
			log.Warn("SAML provider signing certificate ignored", "provider", p.ARN(), "why", why)
		}
	}
	return saml.Expectations{Audiences: cfg.SAML.Audiences, Recipients: recipients,
		Leeway: cfg.SAML.ClockSkew, MaxAge: cfg.SAML.MaxAssertionAge}
}

func allowRegion(regions []string) func(string) bool {
	if len(regions) == 0 {
		return config.IsRegion
	}
	set := map[string]bool{}
	for _, r := range regions {
		set[r] = true
	}
	return func(r string) bool { return set[r] }
}
