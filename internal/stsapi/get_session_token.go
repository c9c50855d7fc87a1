package stsapi

import (
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
)

// GetSessionToken members and constraints, from the botocore STS model
// (durationSecondsType, serialNumberType, tokenCodeType).
var (
	gstDuration = awsquery.Int{Name: "DurationSeconds", Min: 900, Max: 129600}
	gstSerial   = awsquery.String{Name: "SerialNumber", Min: 9, Max: 256, Pattern: arn.IsSerialChars, PatternRE: `[\w+=/:,.@-]*`}
	gstCode     = awsquery.String{Name: "TokenCode", Min: 6, Max: 6, Pattern: isDigits, PatternRE: `[\d]*`, Sensitive: true}
)

// getSessionToken serves GetSessionToken
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html).
func getSessionToken(h *Handler, x *call, d *awsquery.Decoder) ([]awsquery.Field, error) {
	var req sts.GetSessionTokenRequest
	params := map[string]any{}
	if secs, present, ok := d.Int(gstDuration); present && ok {
		req.Duration = time.Duration(secs) * time.Second
		params["durationSeconds"] = secs
	}
	if serial, ok := d.String(gstSerial); ok {
		req.SerialNumber = serial
		params["serialNumber"] = serial
	}
	if code, ok := d.String(gstCode); ok {
		req.TokenCode = secret.NewString(code) // never recorded
	}
	x.Event.RequestParameters = params
	if err := d.Finish(); err != nil {
		return nil, err
	}
	creds, err := h.o.Service.GetSessionToken(x.Context(), *x.caller, req)
	if err != nil {
		return nil, err
	}
	return []awsquery.Field{sessionCredentials(x, creds)}, nil
}

func credentialsField(c sts.Credentials) awsquery.Field {
	return awsquery.Struct("Credentials",
		awsquery.Str("AccessKeyId", c.AccessKeyID),
		awsquery.Str("SecretAccessKey", c.Secret.Reveal()),
		awsquery.Str("SessionToken", c.SessionToken.Reveal()),
		awsquery.Time("Expiration", c.Expiration),
	)
}

func isDigits(s string) bool { return strings.Trim(s, "0123456789") == "" }
