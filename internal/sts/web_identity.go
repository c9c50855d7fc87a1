package sts

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/secret"
)

// WebIdentityRequest is a shape-validated AssumeRoleWithWebIdentity request
// (STS API reference, AssumeRoleWithWebIdentity).
type WebIdentityRequest struct {
	RoleARN     string
	SessionName string
	Token       secret.String
	ProviderID  string
	Policy      string
	PolicyARNs  []string
	Duration    time.Duration
	Origin      Origin
}

// WebIdentityResult is what AssumeRoleWithWebIdentity returns. On a refusal
// after the token was verified, Subject, Audience and Provider are still
// set, for the audit log.
type WebIdentityResult struct {
	AssumeRoleResult
	Subject  string // SubjectFromWebIdentityToken
	Audience string
	Provider string // the OIDC provider's ARN
}

const (
	msgWebIdentityDenied = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
	actionWebIdentity    = "sts:AssumeRoleWithWebIdentity"
)

// AssumeRoleWithWebIdentity exchanges a token from a registered OIDC
// provider of the role's account for a role session (aws-sts.md 4.2, 5.8).
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, req WebIdentityRequest) (WebIdentityResult, error) {
	var res WebIdentityResult
	if req.ProviderID != "" {
		// ProviderId is for OAuth 2.0 access tokens of www.amazon.com and
		// graph.facebook.com only; keyless accepts OIDC ID tokens.
		return res, validation("provider_id_unsupported", "ProviderId is only for OAuth 2.0 access tokens from www.amazon.com and graph.facebook.com, which this service does not accept; leave it out for OpenID Connect tokens.")
	}
	src := webIdentity{s: s, roleARN: req.RoleARN, sessionName: req.SessionName, token: req.Token}
	var (
		f   *Federated
		err error
	)
	res.AssumeRoleResult, f, err = s.AssumeRoleAs(ctx, src, FederatedRequest{Duration: req.Duration, Policy: req.Policy,
		PolicyARNs: req.PolicyARNs, Origin: req.Origin})
	if f != nil {
		res.Subject, res.Audience, res.Provider = f.Federation.Subject, f.Federation.Audience, f.Provider
	}
	return res, err
}

// webIdentity is an OIDC ID token as an identity source: verified with
// the key set of the role account's provider for the token's issuer.
type webIdentity struct {
	s           *Service
	roleARN     string
	sessionName string
	token       secret.String
}

// Prove verifies the token and reads its session tags and source
// identity claims.
func (w webIdentity) Prove(ctx context.Context) (*Federated, error) {
	s := w.s
	account, _, _, ok := arn.ParseIAM(w.roleARN, "role")
	if !ok {
		return nil, validation("role_arn_invalid", w.roleARN+" is invalid")
	}
	tok, err := idtoken.Parse(w.token.Reveal())
	if err != nil {
		return nil, tokenError(err)
	}
	provider, ok := s.o.Directory.OIDCProvider(account, tok.Issuer())
	if !ok {
		return nil, &Error{Code: InvalidIdentityToken, Reason: "provider_unknown",
			Msg: "No OpenIDConnect provider found in your account for " + quoteIssuer(tok.Issuer())}
	}
	claims, err := tok.Verify(ctx, provider.Verification(), s.o.ProviderKeys(provider), s.o.Clock.Now())
	if err != nil {
		return nil, tokenError(err)
	}
	f := &Federated{
		RoleARN: w.roleARN, Provider: provider.ARN(), Names: provider.Names(), Action: actionWebIdentity,
		Denied: msgWebIdentityDenied, SessionName: w.sessionName, Issuer: credential.IssuerWebIdentity,
		Federation: credential.Federation{Provider: provider.ARN(), Subject: claims.Subject, Audience: claims.MatchedAudience, AMR: claims.AMR},
		Keys:       func(ctx *policy.Context) { webIdentityKeys(ctx, provider, claims) },
	}
	if provider.MultiTenant {
		// An unscoped statement never admits a multi-tenant provider's
		// token, whatever broad_trust_intended let load (JWT-28).
		f.Scoped = func(trust *policy.Document, matched []policy.Match) bool {
			return scopedGrant(trust, provider, matched)
		}
	}
	if f.Tags, err = claimTags(claims); err != nil {
		return f, err
	}
	sourceIdentity, present, ok := claims.SourceIdentity()
	if present && (!ok || !validSourceIdentity(sourceIdentity)) {
		return f, &Error{Code: IDPRejectedClaim, Reason: "source_identity_claim_invalid", Msg: "The source identity claim is not valid."}
	}
	f.SourceIdentity = sourceIdentity
	return f, nil
}

// tokenError maps a token refusal to its STS code.
func tokenError(err error) error {
	var e *idtoken.Error
	if !errors.As(err, &e) {
		return unavailable("token_verification", err)
	}
	switch e.Kind {
	case idtoken.Expired:
		return &Error{Code: ExpiredIdentityToken, Reason: e.Reason, Msg: e.Msg}
	case idtoken.Unavailable:
		return &Error{Code: IDPCommunicationError, Reason: e.Reason, Msg: e.Msg}
	}
	return &Error{Code: InvalidIdentityToken, Reason: e.Reason, Msg: e.Msg}
}

// quoteIssuer bounds an unverified issuer before it is echoed.
func quoteIssuer(s string) string {
	if len(s) > 255 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return "the token's issuer"
	}
	return s
}

// claimTags reads and checks the session tags claim like AssumeRole's Tags
// (aws-sts.md 5.4): a claim that breaks the rules is rejected.
func claimTags(c *idtoken.Claims) ([]credential.Tag, error) {
	bad := func(reason string) error {
		return &Error{Code: IDPRejectedClaim, Reason: reason, Msg: "The session tags claim (https://aws.amazon.com/tags) is not valid."}
	}
	list, err := c.SessionTags()
	if err != nil {
		return nil, bad("tags_claim_malformed")
	}
	tags := make([]credential.Tag, 0, len(list))
	for _, t := range list {
		tags = append(tags, credential.Tag{Key: t.Key, Value: t.Value, Transitive: t.Transitive})
	}
	return tags, checkIDPTags(tags, bad)
}

// checkIDPTags applies AssumeRole's tag rules to tags an identity provider
// sent: at most 50, valid keys and values, no aws: prefix, no key twice in
// any case (aws-sts.md 5.6).
func checkIDPTags(tags []credential.Tag, bad func(reason string) error) error {
	if len(tags) > 50 {
		return bad("tags_claim_too_many")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if !credential.ValidTag(t.Key, t.Value) || strings.HasPrefix(k, "aws:") {
			return bad("tags_claim_invalid_tag")
		}
		if seen[k] {
			return bad("tags_claim_duplicate_key")
		}
		seen[k] = true
	}
	return nil
}

// validSourceIdentity checks sourceIdentityType: 2 to 64 of [\w+=,.@-].
func validSourceIdentity(s string) bool {
	return len(s) >= 2 && len(s) <= 64 && arn.IsNameChars(s) && !strings.HasPrefix(strings.ToLower(s), "aws:")
}

// webIdentityKeys are the provider's condition keys of a verified token:
// PREFIX:sub, :aud, :azp, :amr, :oaud and configured claim keys
// (aws-sts.md 5.8).
func webIdentityKeys(ctx *policy.Context, p *iam.OIDCProvider, c *idtoken.Claims) {
	prefix := p.KeyPrefix() + ":"
	ctx.Set(prefix+"sub", c.Subject)
	ctx.Set(prefix+"aud", c.MatchedAudience)
	ctx.Set(prefix+"oaud", c.Audience...)
	if c.AuthorizedParty != "" {
		ctx.Set(prefix+"azp", c.AuthorizedParty)
	}
	if len(c.AMR) > 0 {
		ctx.Set(prefix+"amr", c.AMR...)
	}
	for _, name := range p.ClaimKeys {
		if v, ok := c.Scalar(name); ok {
			ctx.Set(prefix+name, v)
		}
	}
}

// scopedGrant reports whether some statement that allowed the request
// scopes trust in a multi-tenant provider to one tenant (security.md V-21,
// JWT-28).
func scopedGrant(trust *policy.Document, p *iam.OIDCProvider, matched []policy.Match) bool {
	grants := trust.FederatedGrants(p.Names()...)
	for _, m := range matched {
		for _, g := range grants {
			if g.Index == m.Index && p.Scopes(g.Keys) {
				return true
			}
		}
	}
	return false
}
