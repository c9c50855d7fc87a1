package stsapi

import "github.com/keyless-dev/keyless/internal/awsquery"

// getCallerIdentity serves GetCallerIdentity, which takes no parameters
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
func getCallerIdentity(h *Handler, x *call, d *awsquery.Decoder) ([]awsquery.Field, error) {
	if err := d.Finish(); err != nil {
		return nil, err
	}
	id := h.o.Service.GetCallerIdentity(x.Context(), *x.caller)
	return []awsquery.Field{
		awsquery.Str("UserId", id.UserID),
		awsquery.Str("Account", id.Account),
		awsquery.Str("Arn", id.ARN),
	}, nil
}
