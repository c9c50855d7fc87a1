package sts

import (
	"context"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/secret"
)

// AssumeRoleRequest is a shape-validated AssumeRole request (STS API
// reference, AssumeRole). Zero values mean the parameter was not sent.
type AssumeRoleRequest struct {
	RoleARN        string
	SessionName    string
	Duration       time.Duration
	Policy         string
	PolicyARNs     []string
	Tags           []credential.Tag
	TransitiveKeys []string
	ExternalID     string
	SerialNumber   string
	TokenCode      secret.String
	SourceIdentity string
}

// AssumeRoleResult is what AssumeRole returns.
type AssumeRoleResult struct {
	Credentials    Credentials
	AssumedRoleARN string
	AssumedRoleID  string
	// PackedPolicySize is reported when the request passed session
	// policies or tags.
	PackedPolicySize    int
	HasPackedPolicySize bool
	SourceIdentity      string
}

// Messages AWS sends for AssumeRole refusals (aws-sts.md sections 4.1,
// 5.4, 5.6).
const (
	msgRoot            = "Roles may not be assumed by root accounts."
	msgChainDuration   = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
	msgDuplicateTags   = "Duplicate tag keys found. Please note that Tag keys are case insensitive."
	msgTransitiveKey   = "The specified transitive tag key must be included in the requested tags."
	msgTransitiveClash = "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session."
	msgMFAInvalid      = "MultiFactorAuthentication failed with invalid MFA one time pass code."
	msgMFAIncomplete   = "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code."
)

// AssumeRole issues credentials for a role session, when the role's trust
// policy and (where IAM requires it) the caller's own policies allow it.
func (s *Service) AssumeRole(ctx context.Context, caller Caller, req AssumeRoleRequest) (AssumeRoleResult, error) {
	c := &caller
	switch {
	case c.Kind() == KindAccount:
		return AssumeRoleResult{}, denied("root_caller", msgRoot)
	case c.Kind() == KindFederatedUser:
		// GetFederationToken credentials may call only GetCallerIdentity.
		return AssumeRoleResult{}, denied("session_credentials", "Cannot call AssumeRole with federated user credentials")
	}
	account, path, name, ok := arn.ParseIAM(req.RoleARN, "role")
	if !ok {
		return AssumeRoleResult{}, validation("role_arn_invalid", req.RoleARN+" is invalid")
	}
	if c.chained() && req.Duration > chainedSessionCap {
		return AssumeRoleResult{}, validation("chained_duration", msgChainDuration)
	}
	sub, err := s.subject(c)
	if err != nil {
		return AssumeRoleResult{}, err
	}
	tags, err := sessionTags(sub.attrs.Tags, req.Tags, req.TransitiveKeys)
	if err != nil {
		return AssumeRoleResult{}, err
	}
	if req.Policy != "" {
		if _, err := s.parseSessionPolicy(req.Policy); err != nil {
			return AssumeRoleResult{}, err
		}
	}
	sourceIdentity := req.SourceIdentity
	if inherited := c.sourceIdentity(); inherited != "" {
		if sourceIdentity != "" && sourceIdentity != inherited {
			return AssumeRoleResult{}, denied("source_identity_immutable", "The source identity of the calling session cannot be changed.")
		}
		sourceIdentity = inherited
	}
	var mfaAt time.Time
	if req.SerialNumber != "" || !req.TokenCode.IsZero() {
		if err := s.checkMFA(ctx, c.Principal, req.SerialNumber, req.TokenCode, mfaMessages{invalid: msgMFAInvalid, incomplete: msgMFAIncomplete}); err != nil {
			return AssumeRoleResult{}, err
		}
		mfaAt = s.o.Clock.Now().UTC().Truncate(time.Second)
		sub.ctx.Set("aws:MultiFactorAuthPresent", "true")
		sub.ctx.Set("aws:MultiFactorAuthAge", "0")
	}

	// Authorization. A role that does not exist is refused exactly as one
	// whose trust policy does not name the caller (hostile input AR-01).
	role, found := s.o.Directory.Role(account, name)
	if found && (role.Name != name || role.Path != path) {
		found = false
	}
	a := access{Action: "sts:AssumeRole", Resource: req.RoleARN, ResourceAccount: account, Hide: true, RequireResource: true,
		Keys: assumeRoleKeys(req, sourceIdentity, role, found, sub.attrs.Tags)}
	if !found {
		return AssumeRoleResult{}, s.missingRole(sub, a)
	}
	trust := &policy.Named{Name: "trust policy of role/" + role.Name, Doc: role.Trust}
	a.ResourcePolicy = trust
	if err := s.authorize(sub, a); err != nil {
		return AssumeRoleResult{}, err
	}
	// Session tags and a source identity need their own permissions, in
	// the trust policy and the caller's policies alike (IAM User Guide,
	// id_session-tags, id_credentials_temp_control-access_monitor).
	a.Keys, a.Hide = nil, false
	if len(req.Tags) > 0 {
		a.Action = "sts:TagSession"
		if err := s.authorize(sub, a); err != nil {
			return AssumeRoleResult{}, err
		}
	}
	if sourceIdentity != "" {
		a.Action = "sts:SetSourceIdentity"
		if err := s.authorize(sub, a); err != nil {
			return AssumeRoleResult{}, err
		}
	}

	rs := roleSession{
		role: role, issuer: credential.IssuerAssumeRole, name: req.SessionName, duration: req.Duration,
		policy: req.Policy, policyARNs: req.PolicyARNs, tags: tags, mfaAt: mfaAt, sourceIdentity: sourceIdentity,
		passed: req.Policy != "" || len(req.PolicyARNs) > 0 || len(req.Tags) > 0,
	}
	if c.Session != nil {
		// A session never outlives the session that asked for it, so
		// chaining cannot renew credentials forever. AWS caps a chained
		// session at an hour but lets it outlive its source (IAM User
		// Guide, id_roles_terms-and-concepts, role chaining): a deliberate
		// difference (docs/compatibility.md). CheckCaller has refused an
		// ended session already; ended answers one that ends in between.
		rs.notAfter = c.Session.Expiration
		rs.ended = &Error{Code: ExpiredToken, Msg: msgExpiredToken, Reason: "session_expired"}
	}
	return s.issueRoleSession(rs)
}

// missingRole refuses AssumeRole on a role that does not exist with the
// message and decision an untrusting role would give.
func (s *Service) missingRole(sub *subject, a access) error {
	a.Keys(sub.ctx)
	req := &policy.Request{Principal: sub.principal, Action: a.Action, Resource: a.Resource, Context: sub.ctx}
	return s.deny(sub, req, policy.Decision{Reason: policy.NoResourceAllow}, true)
}

// assumeRoleKeys sets the request's condition keys for the trust policy
// (aws-sts.md section 5.2).
func assumeRoleKeys(req AssumeRoleRequest, sourceIdentity string, role *iam.RoleInfo, found bool, inherited []credential.Tag) func(*policy.Context) {
	return func(ctx *policy.Context) {
		ctx.Set("sts:RoleSessionName", req.SessionName)
		if req.ExternalID != "" {
			ctx.Set("sts:ExternalId", req.ExternalID)
		}
		if sourceIdentity != "" {
			ctx.Set("sts:SourceIdentity", sourceIdentity)
		}
		setRequestTags(ctx, req.Tags, req.TransitiveKeys)
		if found {
			// Inherited transitive tags replace the role's tags of the
			// same key (IAM User Guide, id_session-tags).
			for k, v := range role.Tags {
				if !hasTag(inherited, k) {
					ctx.Set("aws:ResourceTag/"+k, v)
				}
			}
		}
		for _, t := range inherited {
			if t.Transitive {
				ctx.Set("aws:ResourceTag/"+t.Key, t.Value)
			}
		}
	}
}

// setRequestTags sets the keys of the tags a request asks for:
// aws:RequestTag/KEY, aws:TagKeys and sts:TransitiveTagKeys.
func setRequestTags(ctx *policy.Context, tags []credential.Tag, transitive []string) {
	if len(tags) > 0 {
		keys := make([]string, 0, len(tags))
		for _, t := range tags {
			ctx.Set("aws:RequestTag/"+t.Key, t.Value)
			keys = append(keys, t.Key)
		}
		ctx.Set("aws:TagKeys", keys...)
	}
	if len(transitive) > 0 {
		ctx.Set("sts:TransitiveTagKeys", transitive...)
	}
}

// sessionTags checks the requested tags and returns the new session's:
// the calling session's transitive tags, then the requested ones, marked
// transitive as TransitiveTagKeys says (aws-sts.md sections 5.4, 5.6).
func sessionTags(calling, requested []credential.Tag, transitive []string) ([]credential.Tag, error) {
	seen := make(map[string]bool, len(requested))
	for _, t := range requested {
		k := strings.ToLower(t.Key)
		if seen[k] {
			return nil, invalidParameter("tag_key_duplicate", msgDuplicateTags)
		}
		seen[k] = true
		if strings.HasPrefix(k, "aws:") {
			return nil, invalidParameter("tag_key_reserved", "Tag keys cannot begin with the reserved prefix aws:.")
		}
	}
	marked := make(map[string]bool, len(transitive))
	for _, k := range transitive {
		if !seen[strings.ToLower(k)] {
			return nil, invalidParameter("transitive_key_not_tagged", msgTransitiveKey)
		}
		marked[strings.ToLower(k)] = true
	}
	var out []credential.Tag
	for _, t := range calling {
		if !t.Transitive {
			continue
		}
		if seen[strings.ToLower(t.Key)] {
			return nil, invalidParameter("transitive_key_conflict", msgTransitiveClash)
		}
		out = append(out, t)
	}
	for _, t := range requested {
		t.Transitive = marked[strings.ToLower(t.Key)]
		out = append(out, t)
	}
	return out, nil
}

// sourceIdentity is the calling session's source identity, if any.
func (c *Caller) sourceIdentity() string {
	if c.Session == nil {
		return ""
	}
	return c.Session.SourceIdentity
}
