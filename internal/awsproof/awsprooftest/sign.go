package awsprooftest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// action is the only request the exchange accepts (awsproof.Body).
const action = "Action=GetCallerIdentity&Version=2011-06-15"

// SignSpec says which GetCallerIdentity request to sign.
type SignSpec struct {
	Endpoint string // scheme://host[:port]
	// BodyForm puts the action in the body, with the form Content-Type;
	// otherwise it is in the query and the body is empty.
	BodyForm bool
	// Headers are signed besides host and x-amz-date (and the session
	// token): the audience, a challenge, hostile extras.
	Headers         map[string]string
	Credentials     aws.Credentials
	Service, Region string // default sts and us-east-1
	At              time.Time
}

// Sign signs the request with aws-sdk-go-v2's signer, an implementation
// independent of keyless's, and returns it as an envelope: lower-case
// header names in order, host included.
func Sign(s SignSpec) (Envelope, error) {
	if s.Service == "" {
		s.Service = "sts"
	}
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	u, body := s.Endpoint+"/?"+action, ""
	if s.BodyForm {
		u, body = s.Endpoint+"/", action
	}
	// No body on the signed request: with ContentLength > 0 the signer
	// would sign Content-Length, which an envelope does not carry. The
	// payload hash covers the body all the same.
	req, err := http.NewRequest(http.MethodPost, u, nil)
	if err != nil {
		return Envelope{}, err
	}
	if s.BodyForm {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), s.Credentials, req, hex.EncodeToString(sum[:]), s.Service, s.Region, s.At); err != nil {
		return Envelope{}, err
	}
	e := Envelope{URL: u, Method: http.MethodPost, Headers: [][2]string{{"host", req.URL.Host}}}
	names := make([]string, 0, len(req.Header))
	for k := range req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range req.Header[k] {
			e.Headers = append(e.Headers, [2]string{strings.ToLower(k), v})
		}
	}
	if body != "" {
		e.Body = &body
	}
	return e, nil
}
