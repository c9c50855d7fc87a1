package stsapi

import (
	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/sts"
)

// action is one STS operation at the edge.
type action struct {
	readOnly bool
	// unsigned actions authenticate with what they carry (a token or an
	// assertion), not with SigV4; a signature sent anyway is ignored.
	unsigned bool
	// run decodes the operation's parameters, calls the domain, records
	// the audit event's requestParameters and responseElements, and
	// returns the result members.
	run func(h *Handler, x *exchange, d *awsquery.Decoder) ([]awsquery.Field, error)
}

// actions lists the operations served.
func actions() map[string]action {
	return map[string]action{
		"GetCallerIdentity":          {readOnly: true, run: getCallerIdentity},
		"GetSessionToken":            {run: getSessionToken},
		"GetAccessKeyInfo":           {readOnly: true, run: getAccessKeyInfo},
		"AssumeRole":                 {run: assumeRole},
		"GetFederationToken":         {run: getFederationToken},
		"DecodeAuthorizationMessage": {readOnly: true, run: decodeAuthorizationMessage},
		"AssumeRoleWithWebIdentity":  {unsigned: true, run: assumeRoleWithWebIdentity},
		"AssumeRoleWithSAML":         {unsigned: true, run: assumeRoleWithSAML},
	}
}

// UserIdentity renders an authenticated caller as CloudTrail does
// (CloudTrail User Guide, cloudtrail-event-reference-user-identity).
func UserIdentity(c *sts.Caller) audit.UserIdentity {
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
