package stsapi

import (
	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/awsquery"
)

// accessKeyIdType: 16..128 characters of [\w].
var gakiID = awsquery.String{Name: "AccessKeyId", Required: true, Min: 16, Max: 128, Pattern: arn.IsWordChars, PatternRE: `[\w]*`}

// getAccessKeyInfo serves GetAccessKeyInfo
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetAccessKeyInfo.html).
func getAccessKeyInfo(h *Handler, x *call, d *awsquery.Decoder) ([]awsquery.Field, error) {
	id, ok := d.String(gakiID)
	if ok {
		x.Event.RequestParameters = map[string]any{"accessKeyId": id}
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	account, err := h.o.Service.GetAccessKeyInfo(x.Context(), *x.caller, id)
	if err != nil {
		return nil, err
	}
	x.Event.ResponseElements = map[string]any{"account": account}
	return []awsquery.Field{awsquery.Str("Account", account)}, nil
}
