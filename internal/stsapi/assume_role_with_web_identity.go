package stsapi

import (
	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

// assumeRoleWithWebIdentity serves AssumeRoleWithWebIdentity, unsigned
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html).
func assumeRoleWithWebIdentity(h *Handler, x *call, d *awsquery.Decoder) ([]awsquery.Field, error) {
	req := sts.WebIdentityRequest{Origin: x.Origin(h.o.Region)}
	params := map[string]any{}
	x.Event.RequestParameters = params
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
	res, err := h.o.Service.AssumeRoleWithWebIdentity(x.Context(), req)
	if res.Provider != "" {
		x.Event.UserIdentity = edge.WebIdentityUser(res.Provider, res.Audience, res.Subject)
		x.Event.RecipientAccountID = arn.AccountOf(res.Provider)
	}
	if err != nil {
		return nil, err
	}
	out := roleSession(x, res.AssumeRoleResult,
		awsquery.Str("SubjectFromWebIdentityToken", res.Subject),
		awsquery.Str("Provider", res.Provider),
		awsquery.Str("Audience", res.Audience))
	x.Event.ResponseElements["subjectFromWebIdentityToken"] = res.Subject
	x.Event.ResponseElements["audience"] = res.Audience
	x.Event.ResponseElements["provider"] = res.Provider
	return out, nil
}
