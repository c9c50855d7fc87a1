package sts

import (
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/policy"
)

// Origin is what the edge knows about where a request came from, for the
// global condition keys aws:SourceIp, aws:SecureTransport and
// aws:RequestedRegion.
type Origin struct {
	SourceIP        string
	SecureTransport bool
	Region          string
}

// setKeys sets the global keys of the request itself: time, transport,
// source address and region.
func (o Origin) setKeys(ctx *policy.Context, now time.Time) {
	ctx.Set("aws:CurrentTime", now.Format(time.RFC3339))
	ctx.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	ctx.Set("aws:SecureTransport", strconv.FormatBool(o.SecureTransport))
	if o.SourceIP != "" {
		ctx.Set("aws:SourceIp", o.SourceIP)
	}
	if o.Region != "" {
		ctx.Set("aws:RequestedRegion", o.Region)
	}
}

// Caller is an authenticated requester.
type Caller struct {
	// Principal is the identity the credentials belong to: a user or root,
	// or for a role session the role.
	Principal   iam.Principal
	AccessKeyID string
	// Session is set when the caller signed with temporary credentials.
	Session *credential.Session
	Origin  Origin
}

// Kind is the caller's aws:PrincipalType.
type Kind string

// Kinds (IAM User Guide, reference_policies_condition-keys, aws:PrincipalType).
const (
	KindAccount       Kind = "Account"
	KindUser          Kind = "User"
	KindAssumedRole   Kind = "AssumedRole"
	KindFederatedUser Kind = "FederatedUser"
)

// Kind says what kind of principal is acting.
func (c *Caller) Kind() Kind {
	switch {
	case c.Session != nil && c.Session.Issuer.RoleSession():
		return KindAssumedRole
	case c.Session != nil && c.Session.Issuer == credential.IssuerGetFederationToken:
		return KindFederatedUser
	case c.Principal.Type == iam.Root:
		return KindAccount
	}
	return KindUser
}

// ARN is the acting identity's ARN: the user or root, or the role session
// (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION) or federated user.
func (c *Caller) ARN() string {
	switch c.Kind() {
	case KindAssumedRole:
		return arn.AssumedRole(c.Principal.Account, c.Principal.Name, c.Session.Name)
	case KindFederatedUser:
		return arn.FederatedUser(c.Principal.Account, c.Session.Name)
	}
	return c.Principal.ARN()
}

// UserID is aws:userid and GetCallerIdentity's UserId: AIDA… for a user,
// the account id for root, AROA…:SESSION for a role session and
// ACCOUNT:NAME for a federated user (IAM User Guide,
// reference_policies_variables).
func (c *Caller) UserID() string {
	switch c.Kind() {
	case KindAssumedRole:
		return c.Principal.UniqueID + ":" + c.Session.Name
	case KindFederatedUser:
		return c.Principal.Account + ":" + c.Session.Name
	}
	return c.Principal.UniqueID
}

// chained reports whether the caller is a role session: a role it assumes
// is assumed by role chaining.
func (c *Caller) chained() bool { return c.Kind() == KindAssumedRole }

// policyPrincipal is the caller as a Principal element can name it.
func (c *Caller) policyPrincipal() policy.Principal {
	p := policy.Principal{Account: c.Principal.Account, ARN: c.ARN(), UniqueID: c.Principal.UniqueID}
	switch c.Kind() {
	case KindAssumedRole:
		p.ParentARN = c.Principal.ARN()
	case KindFederatedUser:
		p.ParentARN, p.UniqueID = c.Principal.ARN(), ""
	}
	return p
}

// subject is a caller resolved for authorization: its policies and the
// condition keys that describe it.
type subject struct {
	caller    *Caller
	principal policy.Principal
	policies  policy.Set // identity, boundary and session policies
	// tags are the principal tags: session tags over the user's or role's
	// tags, keys compared case-insensitively.
	tags  []credential.Tag
	attrs credential.Attributes // the calling session's, if any
	ctx   *policy.Context
}

// subject resolves c. The directory is current: a role whose policies have
// changed since a session began is evaluated with today's policies, as in
// IAM.
func (s *Service) subject(c *Caller) (*subject, error) {
	sub := &subject{caller: c, principal: c.policyPrincipal()}
	var baseTags map[string]string
	switch c.Principal.Type {
	case iam.Root:
		sub.policies.Identity = []policy.Named{rootPolicy}
	case iam.User:
		if u, ok := s.o.Directory.User(c.Principal.Account, c.Principal.Name); ok {
			sub.policies.Identity, sub.policies.Boundary, baseTags = u.Policies, u.Boundary, u.Tags
		}
	case iam.Role:
		if r, ok := s.o.Directory.Role(c.Principal.Account, c.Principal.Name); ok {
			sub.policies.Identity, sub.policies.Boundary, baseTags = r.Policies, r.Boundary, r.Tags
		}
	}
	if b := sub.policies.Boundary; b != nil {
		sub.policies.Boundary = &policy.Named{Name: "permissions boundary " + b.Name, Doc: b.Doc}
	}
	if c.Session != nil {
		attrs, err := c.Session.Packed.Unpack()
		if err != nil {
			return nil, invalidToken("session_attributes_invalid")
		}
		sub.attrs = attrs
		if err := s.sessionPolicies(sub, attrs); err != nil {
			return nil, err
		}
	}
	sub.tags = mergeTags(baseTags, sub.attrs.Tags)
	sub.ctx = s.callerContext(sub)
	return sub, nil
}

// sessionPolicies adds a session's policies. A federated user has no
// permissions without one (STS API reference, GetFederationToken).
func (s *Service) sessionPolicies(sub *subject, attrs credential.Attributes) error {
	sub.policies.HasSession = attrs.Policy != "" || len(attrs.PolicyARNs) > 0 ||
		sub.caller.Kind() == KindFederatedUser
	if attrs.Policy != "" {
		doc, err := s.parseSessionPolicy(attrs.Policy)
		if err != nil {
			return invalidToken("session_policy_invalid") // it was valid when sealed
		}
		sub.policies.Session = append(sub.policies.Session, policy.Named{Name: "session policy", Doc: doc})
	}
	for _, a := range attrs.PolicyARNs {
		// A managed policy deleted since leaves the session with less.
		if mp, ok := s.o.Directory.ManagedPolicy(a); ok {
			sub.policies.Session = append(sub.policies.Session, policy.Named{Name: "session policy " + mp.Name, Doc: mp.Doc})
		}
	}
	return nil
}

// mergeTags is a principal's tags: session tags replace the user's or
// role's tags with the same key, compared case-insensitively (IAM User
// Guide, id_session-tags).
func mergeTags(base map[string]string, session []credential.Tag) []credential.Tag {
	out := append([]credential.Tag(nil), session...)
	for k, v := range base {
		if !hasTag(session, k) {
			out = append(out, credential.Tag{Key: k, Value: v})
		}
	}
	return out
}

func hasTag(tags []credential.Tag, key string) bool {
	for _, t := range tags {
		if strings.EqualFold(t.Key, key) {
			return true
		}
	}
	return false
}

// callerContext sets the global condition keys that describe the caller
// and the request (IAM User Guide, reference_policies_condition-keys),
// when a policy first reads one: most permission policies have no
// condition, and then none is computed.
func (s *Service) callerContext(sub *subject) *policy.Context {
	now := s.o.Clock.Now().UTC()
	return policy.NewLazyContext(24+len(sub.tags), func(ctx *policy.Context) { s.fillCallerKeys(ctx, sub, now) })
}

// fillCallerKeys sets the caller's and the request's global keys as of
// now.
func (s *Service) fillCallerKeys(ctx *policy.Context, sub *subject, now time.Time) {
	c := sub.caller
	ctx.Set("aws:PrincipalArn", principalARN(c))
	ctx.Set("aws:PrincipalAccount", c.Principal.Account)
	ctx.Set("aws:PrincipalType", string(c.Kind()))
	ctx.Set("aws:PrincipalIsAWSService", "false")
	ctx.Set("aws:userid", c.UserID())
	if c.Principal.Type == iam.User && c.Kind() == KindUser {
		ctx.Set("aws:username", c.Principal.Name)
	}
	for _, t := range sub.tags {
		ctx.Set("aws:PrincipalTag/"+t.Key, t.Value)
	}
	c.Origin.setKeys(ctx, now)
	// MFA and token keys exist only for temporary credentials: long-term
	// keys can never satisfy an MFA condition (IAM User Guide,
	// id_credentials_mfa_configure-api-require).
	if sess := c.Session; sess != nil {
		ctx.Set("aws:TokenIssueTime", sess.IssuedAt.UTC().Format(time.RFC3339))
		ctx.Set("aws:MultiFactorAuthPresent", strconv.FormatBool(sess.MFA()))
		if sess.MFA() {
			ctx.Set("aws:MultiFactorAuthAge", strconv.FormatInt(int64(now.Sub(sess.MFAAuthenticatedAt)/time.Second), 10))
		}
		if sess.SourceIdentity != "" {
			ctx.Set("aws:SourceIdentity", sess.SourceIdentity)
		}
		if f := sess.Federation; f != nil {
			// The web identity keys that stay with the session: amr, aud
			// and sub (IAM User Guide, condition-keys-wif).
			// A session from the token exchange whose provider is not an
			// OIDC provider (an AWS identity) has no such keys.
			ctx.Set("aws:FederatedProvider", f.Provider)
			if f.SubjectType != "" {
				// The SAML keys that stay: namequalifier, sub and
				// sub_type (IAM User Guide, condition-keys-saml).
				ctx.Set("saml:namequalifier", f.NameQualifier)
				ctx.Set("saml:sub", f.Subject)
				ctx.Set("saml:sub_type", f.SubjectType)
			} else if prefix, ok := strings.CutPrefix(f.Provider, "arn:aws:iam::"+c.Principal.Account+":oidc-provider/"); ok {
				ctx.Set(prefix+":sub", f.Subject)
				ctx.Set(prefix+":aud", f.Audience)
				if len(f.AMR) > 0 {
					ctx.Set(prefix+":amr", f.AMR...)
				}
			}
		}
	}
}

// principalARN is aws:PrincipalArn: for a role session, the role's ARN
// (IAM User Guide, reference_policies_condition-keys).
func principalARN(c *Caller) string {
	if c.Kind() == KindAssumedRole {
		return c.Principal.ARN()
	}
	return c.ARN()
}
