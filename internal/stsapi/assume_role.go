package stsapi

import (
	"time"

	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

// assumeRole serves AssumeRole
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
func assumeRole(h *Handler, x *call, d *awsquery.Decoder) ([]awsquery.Field, error) {
	var req sts.AssumeRoleRequest
	params := map[string]any{}
	x.Event.RequestParameters = params
	req.RoleARN, req.SessionName, req.Duration = roleParams(d, params)
	req.Policy, req.PolicyARNs, req.Tags = sessionAttributes(d, params)
	if keys, present, ok := d.StringList("TransitiveTagKeys", maxTags, transitiveKey); present && ok {
		req.TransitiveKeys, params["transitiveTagKeys"] = keys, keys
	}
	if v, ok := d.String(externalID); ok {
		req.ExternalID, params["externalId"] = v, v
	}
	if v, ok := d.String(gstSerial); ok {
		req.SerialNumber, params["serialNumber"] = v, v
	}
	if v, ok := d.String(gstCode); ok {
		req.TokenCode = secret.NewString(v) // never recorded
	}
	if v, ok := d.String(sourceIdentity); ok {
		req.SourceIdentity, params["sourceIdentity"] = v, v
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	res, err := h.o.Service.AssumeRole(x.Context(), *x.caller, req)
	if err != nil {
		return nil, err
	}
	return roleSession(x, res), nil
}

// roleParams decodes RoleArn, RoleSessionName and DurationSeconds.
func roleParams(d *awsquery.Decoder, params map[string]any) (role, session string, duration time.Duration) {
	if v, ok := d.String(roleARN); ok {
		role, params["roleArn"] = v, v
	}
	if v, ok := d.String(sessionName); ok {
		session, params["roleSessionName"] = v, v
	}
	if secs, present, ok := d.Int(roleDuration); present && ok {
		duration, params["durationSeconds"] = time.Duration(secs)*time.Second, secs
	}
	return role, session, duration
}

// roleSession records a new role session in the audit event and returns
// the members every AssumeRole* answer has: Credentials, AssumedRoleUser,
// and PackedPolicySize and SourceIdentity when they apply.
func roleSession(x *call, res sts.AssumeRoleResult, extra ...awsquery.Field) []awsquery.Field {
	edge.RoleSession(x.Event, res)
	out := append([]awsquery.Field{credentialsField(res.Credentials), awsquery.Struct("AssumedRoleUser",
		awsquery.Str("AssumedRoleId", res.AssumedRoleID),
		awsquery.Str("Arn", res.AssumedRoleARN))}, extra...)
	if res.HasPackedPolicySize {
		out = append(out, awsquery.IntField("PackedPolicySize", int64(res.PackedPolicySize)))
	}
	if res.SourceIdentity != "" {
		out = append(out, awsquery.Str("SourceIdentity", res.SourceIdentity))
	}
	return out
}
