package stsapi

import (
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/sts"
)

var gftName = awsquery.String{Name: "Name", Required: true, Min: 2, Max: 32, Pattern: arn.IsNameChars, PatternRE: `[\w+=,.@-]*`}

// getFederationToken serves GetFederationToken
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html).
func getFederationToken(h *Handler, x *call, d *awsquery.Decoder) ([]awsquery.Field, error) {
	var req sts.GetFederationTokenRequest
	params := map[string]any{}
	x.Event.RequestParameters = params
	if v, ok := d.String(gftName); ok {
		req.Name, params["name"] = v, v
	}
	if secs, present, ok := d.Int(gstDuration); present && ok {
		req.Duration, params["durationSeconds"] = time.Duration(secs)*time.Second, secs
	}
	req.Policy, req.PolicyARNs, req.Tags = sessionAttributes(d, params)
	if err := d.Finish(); err != nil {
		return nil, err
	}
	res, err := h.o.Service.GetFederationToken(x.Context(), *x.caller, req)
	if err != nil {
		return nil, err
	}
	creds := sessionCredentials(x, res.Credentials)
	x.Event.ResponseElements["federatedUser"] = map[string]string{"federatedUserId": res.FederatedUserID, "arn": res.FederatedUserARN}
	x.Event.ResponseElements["packedPolicySize"] = res.PackedPolicySize
	return []awsquery.Field{creds,
		awsquery.Struct("FederatedUser",
			awsquery.Str("FederatedUserId", res.FederatedUserID),
			awsquery.Str("Arn", res.FederatedUserARN)),
		awsquery.IntField("PackedPolicySize", int64(res.PackedPolicySize)),
	}, nil
}
