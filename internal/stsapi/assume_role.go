package stsapi

import (
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

// assumeRole serves AssumeRole
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
func assumeRole(h *Handler, x *exchange, d *awsquery.Decoder) ([]awsquery.Field, error) {
	var req sts.AssumeRoleRequest
	params := map[string]any{}
	x.event.RequestParameters = params
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
	res, err := h.o.Service.AssumeRole(x.ctx, *x.caller, req)
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
func roleSession(x *exchange, res sts.AssumeRoleResult, extra ...awsquery.Field) []awsquery.Field {
	RecordSession(x.event, res)
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

// RecordSession records a new role session in an audit event's
// responseElements as CloudTrail does: the access key id and expiration
// (never the secret or the session token), assumedRoleUser, and
// packedPolicySize and sourceIdentity when they apply. The browser
// sign-in pages share it.
func RecordSession(e *audit.Event, res sts.AssumeRoleResult) {
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
