package stsapi

import (
	"time"

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
	if v, ok := d.String(roleARN); ok {
		req.RoleARN, params["roleArn"] = v, v
	}
	if v, ok := d.String(sessionName); ok {
		req.SessionName, params["roleSessionName"] = v, v
	}
	if secs, present, ok := d.Int(roleDuration); present && ok {
		req.Duration, params["durationSeconds"] = time.Duration(secs)*time.Second, secs
	}
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
	creds := sessionCredentials(x, res.Credentials)
	x.event.ResponseElements["assumedRoleUser"] = map[string]string{"assumedRoleId": res.AssumedRoleID, "arn": res.AssumedRoleARN}
	out := []awsquery.Field{creds, awsquery.Struct("AssumedRoleUser",
		awsquery.Str("AssumedRoleId", res.AssumedRoleID),
		awsquery.Str("Arn", res.AssumedRoleARN))}
	if res.HasPackedPolicySize {
		x.event.ResponseElements["packedPolicySize"] = res.PackedPolicySize
		out = append(out, awsquery.IntField("PackedPolicySize", int64(res.PackedPolicySize)))
	}
	if res.SourceIdentity != "" {
		x.event.ResponseElements["sourceIdentity"] = res.SourceIdentity
		out = append(out, awsquery.Str("SourceIdentity", res.SourceIdentity))
	}
	return out, nil
}
