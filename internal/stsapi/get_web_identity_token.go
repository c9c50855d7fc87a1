package stsapi

import (
	"time"

	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/sts"
)

// GetWebIdentityToken members and constraints, from the botocore STS
// model (webIdentityTokenAudienceListType, jwtAlgorithmType,
// webIdentityTokenDurationSecondsType).
var (
	gwitAudience   = awsquery.String{Min: 1, Max: 1000}
	gwitAlgorithm  = awsquery.String{Name: "SigningAlgorithm", Required: true, Min: 5, Max: 5}
	gwitDuration   = awsquery.Int{Name: "DurationSeconds", Min: 60, Max: 3600}
	maxAudiences   = 10
	audienceMember = "Audience"
)

// getWebIdentityToken serves GetWebIdentityToken
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetWebIdentityToken.html).
func getWebIdentityToken(h *Handler, x *call, d *awsquery.Decoder) ([]awsquery.Field, error) {
	var req sts.GetWebIdentityTokenRequest
	params := map[string]any{}
	x.Event.RequestParameters = params
	auds, present, ok := d.StringList(audienceMember, maxAudiences, gwitAudience)
	switch {
	case !present:
		d.Violate("Value null at 'audience' failed to satisfy constraint: Member must not be null")
	case ok && len(auds) == 0:
		d.Violate("Value '[]' at 'audience' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case ok:
		req.Audiences, params["audience"] = auds, auds
	}
	if v, ok := d.String(gwitAlgorithm); ok {
		req.Algorithm, params["signingAlgorithm"] = v, v
	}
	if secs, present, ok := d.Int(gwitDuration); present && ok {
		req.Duration, params["durationSeconds"] = time.Duration(secs)*time.Second, secs
	}
	req.Tags = sessionTags(d, params)
	if err := d.Finish(); err != nil {
		return nil, err
	}
	tok, err := h.o.Service.GetWebIdentityToken(x.Context(), *x.caller, req)
	if err != nil {
		return nil, err
	}
	// The token itself is a credential: never recorded.
	x.Event.ResponseElements = map[string]any{"expiration": tok.Expiration.UTC().Format(awsquery.TimeFormat)}
	x.Event.AdditionalEventData = map[string]string{"issuer": tok.Issuer, "subject": tok.Subject, "jti": tok.ID}
	return []awsquery.Field{
		awsquery.Str("WebIdentityToken", tok.Token.Reveal()),
		awsquery.Time("Expiration", tok.Expiration),
	}, nil
}
