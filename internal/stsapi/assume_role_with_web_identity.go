package stsapi

import (
	"strings"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

// assumeRoleWithWebIdentity serves AssumeRoleWithWebIdentity, unsigned
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html).
func assumeRoleWithWebIdentity(h *Handler, x *exchange, d *awsquery.Decoder) ([]awsquery.Field, error) {
	req := sts.WebIdentityRequest{Origin: sts.Origin{SourceIP: RemoteIP(x.r), SecureTransport: x.r.TLS != nil, Region: h.o.Region}}
	params := map[string]any{}
	x.event.RequestParameters = params
	req.RoleARN, req.SessionName, req.Duration = roleParams(d, params)
	if v, ok := d.String(webIdentityToken); ok {
		req.Token = secret.NewString(v) // never recorded
	}
	if v, ok := d.String(providerID); ok {
		req.ProviderID, params["providerId"] = v, v
	}
	req.Policy, req.PolicyARNs = sessionPolicies(d, params)
	if err := d.Finish(); err != nil {
		return nil, err
	}
	res, err := h.o.Service.AssumeRoleWithWebIdentity(x.ctx, req)
	if res.Provider != "" {
		x.event.UserIdentity = webIdentityUser(res)
		x.event.RecipientAccountID = accountOf(res.Provider)
	}
	if err != nil {
		return nil, err
	}
	out := roleSession(x, res.AssumeRoleResult,
		awsquery.Str("SubjectFromWebIdentityToken", res.Subject),
		awsquery.Str("Provider", res.Provider),
		awsquery.Str("Audience", res.Audience))
	x.event.ResponseElements["subjectFromWebIdentityToken"] = res.Subject
	x.event.ResponseElements["audience"] = res.Audience
	x.event.ResponseElements["provider"] = res.Provider
	return out, nil
}

// webIdentityUser is CloudTrail's userIdentity for a verified web identity
// (CloudTrail User Guide, cloudtrail-event-reference-user-identity:
// type WebIdentityUser, principalId provider:audience:subject).
func webIdentityUser(res sts.WebIdentityResult) audit.UserIdentity {
	idp := res.Provider[strings.Index(res.Provider, ":oidc-provider/")+len(":oidc-provider/"):]
	return audit.UserIdentity{
		Type:             "WebIdentityUser",
		PrincipalID:      idp + ":" + res.Audience + ":" + res.Subject,
		UserName:         res.Subject,
		IdentityProvider: idp,
	}
}

// accountOf is the account of an IAM ARN.
func accountOf(a string) string {
	parts := strings.SplitN(a, ":", 6)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}
