package stsapi

import (
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awsquery"
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
func assumeRoleWithSAML(h *Handler, x *exchange, d *awsquery.Decoder) ([]awsquery.Field, error) {
	req := sts.SAMLRequest{Origin: sts.Origin{SourceIP: RemoteIP(x.r), SecureTransport: x.r.TLS != nil, Region: h.o.Region}}
	params := map[string]any{}
	x.event.RequestParameters = params
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
	res, err := h.o.Service.AssumeRoleWithSAML(x.ctx, req)
	RecordSAML(x.event, res)
	if err != nil {
		return nil, err
	}
	out := roleSession(x, res.AssumeRoleResult,
		awsquery.Str("Subject", res.Subject),
		awsquery.Str("SubjectType", res.SubjectType),
		awsquery.Str("Issuer", res.Issuer),
		awsquery.Str("Audience", res.Audience),
		awsquery.Str("NameQualifier", res.NameQualifier))
	samlAnswer(x.event, res)
	return out, nil
}

// RecordSAML adds what a SAML request established to its audit event, as
// CloudTrail records AssumeRoleWithSAML: the SAMLUser identity, the
// assertion id, the session name and tags (CloudTrail User Guide,
// cloudtrail-event-reference-user-identity; IAM User Guide,
// cloudtrail-integration, "Logging SAML requests"). It is shared with the
// browser sign-in pages.
func RecordSAML(e *audit.Event, res sts.SAMLResult) {
	if res.Provider != "" {
		e.RecipientAccountID = accountOf(res.Provider)
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

// RecordSAMLGrant records a granted AssumeRoleWithSAML's
// responseElements: the role session and the answer's SAML members.
func RecordSAMLGrant(e *audit.Event, res sts.SAMLResult) {
	RecordSession(e, res.AssumeRoleResult)
	samlAnswer(e, res)
}

// samlAnswer records the answer's SAML members.
func samlAnswer(e *audit.Event, res sts.SAMLResult) {
	e.ResponseElements["subject"] = res.Subject
	e.ResponseElements["subjectType"] = res.SubjectType
	e.ResponseElements["issuer"] = res.Issuer
	e.ResponseElements["audience"] = res.Audience
	e.ResponseElements["nameQualifier"] = res.NameQualifier
}
