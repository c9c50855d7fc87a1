package edge

import (
	"strings"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/sts"
)

// What every surface records of the domain's answers, in CloudTrail's
// shapes, so that the STS API and the sign-in pages record a session
// alike.

// CallerIdentity renders an authenticated caller as CloudTrail does
// (CloudTrail User Guide, cloudtrail-event-reference-user-identity).
func CallerIdentity(c *sts.Caller) audit.UserIdentity {
	u := audit.UserIdentity{
		Type:        c.Principal.Type.String(),
		PrincipalID: c.UserID(),
		ARN:         c.ARN(),
		AccountID:   c.Principal.Account,
		AccessKeyID: c.AccessKeyID,
	}
	s := c.Session
	if s == nil {
		u.UserName = c.Principal.Name
		return u
	}
	mfa := "false"
	if s.MFA() {
		mfa = "true"
	}
	sc := &audit.SessionContext{
		Attributes:     audit.SessionAttributes{CreationDate: s.IssuedAt.UTC().Format(awsquery.TimeFormat), MFAAuthenticated: mfa},
		SourceIdentity: s.SourceIdentity,
	}
	if f := s.Federation; f != nil && f.SubjectType == "" {
		sc.WebIDFederationData = &audit.WebIDFederationData{FederatedProvider: f.Provider}
	}
	switch c.Kind() {
	case sts.KindAssumedRole, sts.KindFederatedUser:
		u.Type = string(c.Kind())
		sc.SessionIssuer = &audit.SessionIssuer{Type: c.Principal.Type.String(), PrincipalID: c.Principal.UniqueID,
			ARN: c.Principal.ARN(), AccountID: c.Principal.Account, UserName: c.Principal.Name}
	default:
		u.UserName = c.Principal.Name
	}
	u.SessionContext = sc
	return u
}

// RoleSession records a new role session in responseElements as
// CloudTrail does: the access key id and expiration (never the secret or
// the session token), assumedRoleUser, and packedPolicySize and
// sourceIdentity when they apply.
func RoleSession(e *audit.Event, res sts.AssumeRoleResult) {
	c := res.Credentials
	e.IssuedKeyID = c.AccessKeyID
	e.ResponseElements = map[string]any{
		"credentials":     map[string]string{"accessKeyId": c.AccessKeyID, "expiration": c.Expiration.UTC().Format(awsquery.TimeFormat)},
		"assumedRoleUser": map[string]string{"assumedRoleId": res.AssumedRoleID, "arn": res.AssumedRoleARN},
	}
	if res.HasPackedPolicySize {
		e.ResponseElements["packedPolicySize"] = res.PackedPolicySize
	}
	if res.SourceIdentity != "" {
		e.ResponseElements["sourceIdentity"] = res.SourceIdentity
	}
}

// WebIdentityUser is CloudTrail's userIdentity for a verified web identity
// (type WebIdentityUser, principalId provider:audience:subject).
func WebIdentityUser(provider, audience, subject string) audit.UserIdentity {
	idp := provider[strings.Index(provider, ":oidc-provider/")+len(":oidc-provider/"):]
	return audit.UserIdentity{
		Type:             "WebIdentityUser",
		PrincipalID:      idp + ":" + audience + ":" + subject,
		UserName:         subject,
		IdentityProvider: idp,
	}
}

// SAMLUser records what a SAML request established, as CloudTrail records
// AssumeRoleWithSAML: the SAMLUser identity, the assertion id, the session
// name and tags (IAM User Guide, cloudtrail-integration, "Logging SAML
// requests").
func SAMLUser(e *audit.Event, res sts.SAMLResult) {
	if res.Provider != "" {
		e.RecipientAccountID = arn.AccountOf(res.Provider)
	}
	if res.Subject == "" {
		return
	}
	e.UserIdentity = audit.UserIdentity{
		Type:             "SAMLUser",
		PrincipalID:      res.NameQualifier + ":" + res.Subject,
		UserName:         res.Subject,
		IdentityProvider: res.NameQualifier,
	}
	if e.RequestParameters == nil {
		e.RequestParameters = map[string]any{}
	}
	params := e.RequestParameters
	params["sAMLAssertionID"] = res.AssertionID
	if res.SessionName != "" {
		params["roleSessionName"] = res.SessionName
	}
	if len(res.Tags) > 0 {
		tags := map[string]string{}
		var transitive []string
		for _, t := range res.Tags {
			tags[t.Key] = t.Value
			if t.Transitive {
				transitive = append(transitive, t.Key)
			}
		}
		params["principalTags"] = tags
		if len(transitive) > 0 {
			params["transitiveTagKeys"] = transitive
		}
	}
}

// SAMLSession records a granted AssumeRoleWithSAML's responseElements:
// the role session and the answer's SAML members.
func SAMLSession(e *audit.Event, res sts.SAMLResult) {
	RoleSession(e, res.AssumeRoleResult)
	e.ResponseElements["subject"] = res.Subject
	e.ResponseElements["subjectType"] = res.SubjectType
	e.ResponseElements["issuer"] = res.Issuer
	e.ResponseElements["audience"] = res.Audience
	e.ResponseElements["nameQualifier"] = res.NameQualifier
}
