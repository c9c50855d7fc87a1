package awsproof

import (
	"encoding/hex"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/sigv4"
)

// authorization is a parsed SigV4 Authorization header (IAM User Guide,
// "Elements of an AWS API request signature").
type authorization struct {
	accessKeyID string
	date        string // credential scope date, YYYYMMDD
	region      string
	service     string
	signed      []string // SignedHeaders, lower-case and sorted
	signature   string   // 64 lower-case hex digits, as sent
}

// parseAuthorization reads the Authorization value with the verifier's
// own parser (each component once, GCIX-08), then asks more of it: an
// AKIA/ASIA-shaped key id, the sts service, and no more signed headers
// than an envelope may carry.
func parseAuthorization(v string) (authorization, error) {
	p, err := sigv4.ParseAuthorization(v)
	// Spacing the clients never send is refused here, though the inbound
	// verifier tolerates it: what goes upstream must read one way only.
	if err != nil || strings.Contains(v, "  ") {
		return authorization{}, refuse("authorization_malformed")
	}
	a := authorization{accessKeyID: p.AccessKeyID, date: p.Scope.Date, region: p.Scope.Region, service: p.Scope.Service,
		signed: p.SignedHeaders, signature: hex.EncodeToString(p.Signature)}
	if !accessKeyID(a.accessKeyID) {
		return authorization{}, refuse("credential_malformed")
	}
	if a.service != "sts" {
		return authorization{}, refuse("credential_service")
	}
	if len(a.signed) > maxHeaders || slices.Contains(a.signed, "authorization") ||
		slices.ContainsFunc(a.signed, func(n string) bool { return len(n) > maxHeaderName }) {
		return authorization{}, refuse("signed_headers_malformed")
	}
	return a, nil
}

// accessKeyID: [A-Z0-9]{16,128} (STS API reference, accessKeyIdType).
func accessKeyID(s string) bool {
	if len(s) < 16 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
