package sts

import (
	"context"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/policy"
)

// IdentitySource is where a federated principal comes from: an OIDC
// token (AssumeRoleWithWebIdentity), a SAML assertion
// (AssumeRoleWithSAML), a workload's proof matched by the token exchange,
// and next the browser sign-in. Prove verifies the proof, once, and says
// who it proves and which role session it asks for. On a refusal after
// the proof was verified it returns the identity too, for the audit log.
type IdentitySource interface {
	Prove(ctx context.Context) (*Federated, error)
}

// Federated is a principal an identity source proved, and the role
// session the proof asks for.
type Federated struct {
	// RoleARN is the role asked for.
	RoleARN string
	// Provider is the ARN of the identity provider that vouched: the
	// session's federated provider and aws:FederatedProvider.
	Provider string
	// Names are the names a trust policy's Federated principal may give
	// the provider (an OIDC provider's ARN and its host/path); default
	// Provider.
	Names []string
	// Action is the trust policy action: sts:AssumeRoleWithWebIdentity or
	// sts:AssumeRoleWithSAML.
	Action string
	// Keys sets the proof's own condition keys (PREFIX:sub, SAML:aud...).
	Keys func(*policy.Context)
	// Scoped, if set, must accept the trust statements that allowed the
	// request: a multi-tenant provider's trust is scoped to one tenant.
	Scoped func(trust *policy.Document, matched []policy.Match) bool
	// Denied is the message of a trust refusal.
	Denied string
	// TrustDecided: the token exchange's identity provider declaration
	// stands in for the role's trust policy, which is not consulted.
	TrustDecided bool

	SessionName    string
	SourceIdentity string
	Tags           []credential.Tag
	Issuer         credential.Issuer
	Federation     credential.Federation
	// Duration is the session's length when the request names none (the
	// token exchange's identity provider declares it).
	Duration time.Duration
	// MaxDuration and NotAfter are the provider's own limits on the
	// session (SAML's SessionDuration and SessionNotOnOrAfter; the token
	// exchange's proof's own expiry); Ended is the refusal when NotAfter
	// leaves no time.
	MaxDuration time.Duration
	NotAfter    time.Time
	Ended       error
}

// FederatedRequest is what the request adds to a proof: the session's
// duration and policies, and where the request came from.
type FederatedRequest struct {
	Duration   time.Duration
	Policy     string
	PolicyARNs []string
	Origin     Origin
}

// AssumeRoleAs issues a session of the role src asks for, to the
// principal it proves, when the role's trust policy admits that principal
// for the action, and for sts:TagSession and sts:SetSourceIdentity when
// the proof carries tags or a source identity (aws-sts.md 5.2, 5.8, 5.9).
// The trust policy alone decides: a federated principal has no identity
// policies of its own (IAM User Guide, id_roles_providers_oidc). The
// Federated is returned with a refusal after the proof was verified.
func (s *Service) AssumeRoleAs(ctx context.Context, src IdentitySource, req FederatedRequest) (AssumeRoleResult, *Federated, error) {
	f, err := src.Prove(ctx)
	if err != nil {
		return AssumeRoleResult{}, f, err
	}
	if req.Policy != "" {
		if _, err := s.parseSessionPolicy(req.Policy); err != nil {
			return AssumeRoleResult{}, f, err
		}
	}
	res, err := s.assumeFederated(f, req)
	return res, f, err
}

// assumeFederated decides the trust policy for a proven principal and
// issues the session.
func (s *Service) assumeFederated(f *Federated, req FederatedRequest) (AssumeRoleResult, error) {
	account, path, name, ok := arn.ParseIAM(f.RoleARN, "role")
	if !ok {
		return AssumeRoleResult{}, validation("role_arn_invalid", f.RoleARN+" is invalid")
	}
	// Identity Center's roles are its own.
	role, found := s.o.Directory.Role(account, name)
	if !found || role.Name != name || role.Path != path || strings.HasPrefix(role.Name, "AWSReservedSSO_") {
		return AssumeRoleResult{}, denied(decisionReason(policy.NoResourceAllow), f.Denied)
	}
	if err := s.trusts(f, role, req.Origin); err != nil {
		return AssumeRoleResult{}, err
	}
	if err := checkIDPTags(f.Tags, func(reason string) error { return invalidParameter(reason, "A session tag is not valid.") }); err != nil {
		return AssumeRoleResult{}, err
	}
	d := req.Duration
	if d == 0 {
		d = f.Duration
	}
	fed := f.Federation
	return s.issueRoleSession(roleSession{
		role: role, issuer: f.Issuer, name: f.SessionName, duration: d,
		shorten: f.MaxDuration, notAfter: f.NotAfter, ended: f.Ended,
		policy: req.Policy, policyARNs: req.PolicyARNs, tags: f.Tags, sourceIdentity: f.SourceIdentity, federation: &fed,
		passed: req.Policy != "" || len(req.PolicyARNs) > 0 || len(f.Tags) > 0,
	})
}

// trusts decides role's trust policy for the principal f proves.
func (s *Service) trusts(f *Federated, role *iam.RoleInfo, origin Origin) error {
	if f.TrustDecided {
		return nil
	}
	account := role.Account
	ctxKeys := policy.NewContext(24 + len(f.Tags))
	if f.Keys != nil {
		f.Keys(ctxKeys)
	}
	federatedKeys(ctxKeys, f.Provider, f.SessionName, f.SourceIdentity, f.Tags, origin, s.o.Clock.Now().UTC())
	set := &policy.Set{Resource: &policy.Named{Name: "trust policy of role/" + role.Name, Doc: role.Trust},
		ResourceAccount: account, RequireResource: true}
	names := f.Names
	if len(names) == 0 {
		names = []string{f.Provider}
	}
	principal := policy.Principal{Account: account, Federated: names}
	for _, action := range trustActions(f.Action, f.Tags, f.SourceIdentity) {
		d := policy.Decide(set, &policy.Request{Principal: principal, Action: action, Resource: role.ARN(), Context: ctxKeys})
		if !d.Allowed {
			return denied(decisionReason(d.Reason), f.Denied)
		}
		if f.Scoped != nil && !f.Scoped(role.Trust, d.Matched) {
			return denied("trust_not_scoped", f.Denied)
		}
	}
	return nil
}

// trustActions are the trust policy actions a request needs: the
// TagSession and SetSourceIdentity permissions when it carries tags or a
// source identity (aws-sts.md 5.2).
func trustActions(action string, tags []credential.Tag, sourceIdentity string) []string {
	actions := []string{action}
	if len(tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	return actions
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
