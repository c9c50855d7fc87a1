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
	account, path, name, ok := arn.ParseIAM(req.RoleARN, "role")
	if !ok {
		return res, validation("role_arn_invalid", req.RoleARN+" is invalid")
	}
	tok, err := idtoken.Parse(req.Token.Reveal())
	if err != nil {
		return res, tokenError(err)
	}
	provider, ok := s.o.Directory.OIDCProvider(account, tok.Issuer())
	if !ok {
		return res, &Error{Code: InvalidIdentityToken, Reason: "provider_unknown",
			Msg: "No OpenIDConnect provider found in your account for " + quoteIssuer(tok.Issuer())}
	}
	claims, err := tok.Verify(ctx, provider.Verification(), s.o.ProviderKeys(provider), s.o.Clock.Now())
	if err != nil {
		return res, tokenError(err)
	}
	res.Subject, res.Audience, res.Provider = claims.Subject, claims.MatchedAudience, provider.ARN()

	tags, err := claimTags(claims)
	if err != nil {
		return res, err
	}
	sourceIdentity, present, ok := claims.SourceIdentity()
	if present && (!ok || !validSourceIdentity(sourceIdentity)) {
		return res, &Error{Code: IDPRejectedClaim, Reason: "source_identity_claim_invalid", Msg: "The source identity claim is not valid."}
	}
	if req.Policy != "" {
		if _, err := s.parseSessionPolicy(req.Policy); err != nil {
			return res, err
		}
	}

	// The trust policy alone decides: the caller has no identity policies
	// of its own (IAM User Guide, id_roles_providers_oidc).
	role, found := s.o.Directory.Role(account, name)
	if !found || role.Name != name || role.Path != path {
		return res, denied(decisionReason(policy.NoResourceAllow), msgWebIdentityDenied)
	}
	ctxKeys := s.webIdentityContext(provider, claims, req, tags, sourceIdentity)
	set := &policy.Set{Resource: &policy.Named{Name: "trust policy of role/" + role.Name, Doc: role.Trust},
		ResourceAccount: account, RequireResource: true}
	principal := policy.Principal{Account: account, Federated: provider.Names()}
	decide := func(action string) error {
		d := policy.Decide(set, &policy.Request{Principal: principal, Action: action, Resource: req.RoleARN, Context: ctxKeys})
		if !d.Allowed {
			return denied(decisionReason(d.Reason), msgWebIdentityDenied)
		}
		// An unscoped statement never admits a multi-tenant provider's
		// token, whatever broad_trust_intended let load (JWT-28).
		if provider.MultiTenant && !scopedGrant(role.Trust, provider, d.Matched) {
			return denied("trust_not_scoped", msgWebIdentityDenied)
		}
		return nil
	}
	if err := decide(actionWebIdentity); err != nil {
		return res, err
	}
	if len(tags) > 0 {
		if err := decide("sts:TagSession"); err != nil {
			return res, err
		}
	}
	if sourceIdentity != "" {
		if err := decide("sts:SetSourceIdentity"); err != nil {
			return res, err
		}
	}

	d := req.Duration
	switch {
	case d == 0:
		d = defaultRoleSession
	case d > role.MaxSessionDuration:
		return res, validation("role_duration", msgRoleDuration)
	}
	if err := s.checkPolicyARNs(req.PolicyARNs, account); err != nil {
		return res, err
	}
	packed := credential.Pack(credential.Attributes{Policy: req.Policy, PolicyARNs: req.PolicyARNs, Tags: tags})
	if err := packedFits(packed); err != nil {
		return res, err
	}
	now := s.o.Clock.Now().UTC().Truncate(time.Second)
	sess := &credential.Session{
		IssuedAt:       now,
		Expiration:     now.Add(d),
		Issuer:         credential.IssuerWebIdentity,
		Principal:      role.Principal(),
		Name:           req.SessionName,
		SourceIdentity: sourceIdentity,
		Packed:         packed,
		Federation: &credential.Federation{Provider: provider.ARN(), Subject: claims.Subject,
			Audience: claims.MatchedAudience, AMR: claims.AMR},
	}
	res.AssumeRoleResult, err = s.issueRole(role, sess, req.Policy != "" || len(req.PolicyARNs) > 0 || len(tags) > 0)
	return res, err
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

// webIdentityContext is the request's condition keys: the provider's keys
// (PREFIX:sub, :aud, :azp, :amr, :oaud and configured claim keys), the
// session's, and the global ones (aws-sts.md 5.8).
func (s *Service) webIdentityContext(p *iam.OIDCProvider, c *idtoken.Claims, req WebIdentityRequest, tags []credential.Tag, sourceIdentity string) *policy.Context {
	prefix := p.KeyPrefix() + ":"
	now := s.o.Clock.Now().UTC()
	ctx := policy.NewContext(16 + len(tags) + len(p.ClaimKeys))
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
	federatedKeys(ctx, p.ARN(), req.SessionName, sourceIdentity, tags, req.Origin, now)
	return ctx
}

// federatedKeys sets the keys every federated AssumeRole* request has: the
// provider, the session name, source identity and tags, and the request's
// origin (IAM User Guide, reference_policies_iam-condition-keys).
func federatedKeys(ctx *policy.Context, provider, sessionName, sourceIdentity string, tags []credential.Tag, o Origin, now time.Time) {
	ctx.Set("aws:FederatedProvider", provider)
	ctx.Set("sts:RoleSessionName", sessionName)
	if sourceIdentity != "" {
		ctx.Set("sts:SourceIdentity", sourceIdentity)
	}
	var transitive []string
	for _, t := range tags {
		if t.Transitive {
			transitive = append(transitive, t.Key)
		}
	}
	setRequestTags(ctx, tags, transitive)
	o.setKeys(ctx, now)
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
