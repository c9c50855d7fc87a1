package stsapi

import (
	"github.com/keyless-dev/keyless/internal/awsquery"
)

var encodedMessage = awsquery.String{Name: "EncodedMessage", Required: true, Min: 1, Max: 10240}

// decodeAuthorizationMessage serves DecodeAuthorizationMessage
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html).
// The encoded message is not recorded: it is long and says nothing on its
// own.
func decodeAuthorizationMessage(h *Handler, x *call, d *awsquery.Decoder) ([]awsquery.Field, error) {
	msg, _ := d.String(encodedMessage)
	if err := d.Finish(); err != nil {
		return nil, err
	}
	decoded, err := h.o.Service.DecodeAuthorizationMessage(x.Context(), *x.caller, msg)
	if err != nil {
		return nil, err
	}
	return []awsquery.Field{awsquery.Str("DecodedMessage", decoded)}, nil
}
