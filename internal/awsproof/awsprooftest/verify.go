package awsprooftest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/internal/sigv4"
)

// Resigned reports whether a request an upstream mock received carries
// the signature AWS would expect: it signs the received method, URL
// (scheme + Host + RequestURI), signed headers and body again with the
// SDK and the secret of the request's access key, and compares the
// Authorization values. Mock STS servers use it to show that what the
// exchange forwards is byte for byte what the client signed.
func Resigned(r *http.Request, body []byte, scheme string, secret func(accessKeyID string) (string, bool)) bool {
	authz := r.Header.Get("Authorization")
	a, err := sigv4.ParseAuthorization(authz)
	if err != nil {
		return false
	}
	key, ok := secret(a.AccessKeyID)
	if !ok {
		return false
	}
	at, err := sigv4.ParseTime(r.Header.Get("X-Amz-Date"))
	if err != nil {
		return false
	}
	req, err := http.NewRequest(r.Method, scheme+"://"+r.Host+r.RequestURI, nil)
	if err != nil {
		return false
	}
	for _, name := range a.SignedHeaders {
		if name == "host" {
			continue
		}
		vals := r.Header.Values(name)
		if len(vals) != 1 {
			return false
		}
		req.Header.Set(name, vals[0])
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: key},
		req, hex.EncodeToString(sum[:]), a.Scope.Service, a.Scope.Region, at)
	return err == nil && req.Header.Get("Authorization") == authz
}
