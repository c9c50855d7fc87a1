package stsapi

import (
	"time"

	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

// AssumeRoleWithSAML's own parameters (botocore STS model:
// arnType, SAMLAssertionType).
var (
	principalARN  = awsquery.String{Name: "PrincipalArn", Required: true, Min: 20, Max: 2048, Pattern: isARNChars, PatternRE: arnPatternRE}
	samlAssertion = awsquery.String{Name: "SAMLAssertion", Required: true, Min: 4, Max: 100000, Sensitive: true}
)

// assumeRoleWithSAML serves AssumeRoleWithSAML, unsigned
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html).
func assumeRoleWithSAML(h *Handler, x *call, d *awsquery.Decoder) ([]awsquery.Field, error) {
	req := sts.SAMLRequest{Origin: x.Origin(h.o.Region)}
	params := map[string]any{}
	x.Event.RequestParameters = params
	if v, ok := d.String(roleARN); ok {
		req.RoleARN, params["roleArn"] = v, v
	}
	if v, ok := d.String(principalARN); ok {
		req.PrincipalARN, params["principalArn"] = v, v
	}
	if v, ok := d.String(samlAssertion); ok {
		req.Assertion = secret.NewString(v) // never recorded
	}
	if secs, present, ok := d.Int(roleDuration); present && ok {
		req.Duration, params["durationSeconds"] = time.Duration(secs)*time.Second, secs
	}
	req.Policy, req.PolicyARNs = sessionPolicies(d, params)
	if err := d.Finish(); err != nil {
		return nil, err
	}
	res, err := h.o.Service.AssumeRoleWithSAML(x.Context(), req)
	edge.SAMLUser(x.Event, res)
	if err != nil {
		return nil, err
	}
	out := roleSession(x, res.AssumeRoleResult,
		awsquery.Str("Subject", res.Subject),
		awsquery.Str("SubjectType", res.SubjectType),
		awsquery.Str("Issuer", res.Issuer),
		awsquery.Str("Audience", res.Audience),
		awsquery.Str("NameQualifier", res.NameQualifier))
	edge.SAMLSession(x.Event, res)
	return out, nil
}
