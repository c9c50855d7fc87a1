package stsapi

import (
	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/sts"
)

// action is one STS operation at the edge.
type action struct {
	readOnly bool
	// run decodes the operation's parameters, calls the domain, records
	// the audit event's requestParameters and responseElements, and
	// returns the result members.
	run func(h *Handler, x *exchange, d *awsquery.Decoder) ([]awsquery.Field, error)
}

// actions lists the operations served.
func actions() map[string]action {
	return map[string]action{
		"GetCallerIdentity": {readOnly: true, run: getCallerIdentity},
		"GetSessionToken":   {run: getSessionToken},
		"GetAccessKeyInfo":  {readOnly: true, run: getAccessKeyInfo},
	}
}

// userIdentity renders an authenticated caller as CloudTrail does.
func userIdentity(c sts.Caller) audit.UserIdentity {
	u := audit.UserIdentity{
		Type:        c.Principal.Type.String(),
		PrincipalID: c.Principal.UniqueID,
		ARN:         c.Principal.ARN(),
		AccountID:   c.Principal.Account,
		AccessKeyID: c.AccessKeyID,
		UserName:    c.Principal.Name,
	}
	if s := c.Session; s != nil {
		mfa := "false"
		if s.MFA() {
			mfa = "true"
		}
		u.SessionContext = &audit.SessionContext{Attributes: audit.SessionAttributes{
			CreationDate: s.IssuedAt.UTC().Format(awsquery.TimeFormat), MFAAuthenticated: mfa}}
	}
	return u
}
