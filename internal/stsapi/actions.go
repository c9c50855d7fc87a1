package stsapi

import (
	"github.com/keyless-dev/keyless/internal/awsquery"
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
	run func(h *Handler, x *call, d *awsquery.Decoder) ([]awsquery.Field, error)
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
		"GetWebIdentityToken":        {run: getWebIdentityToken},
	}
}
