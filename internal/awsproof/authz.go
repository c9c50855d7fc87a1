package awsproof

import (
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/outbound"
)

const (
	algorithm  = "AWS4-HMAC-SHA256"
	timeFormat = "20060102T150405Z" // ISO 8601 basic, SigV4's X-Amz-Date
	dateFormat = "20060102"
)

// authorization is a parsed SigV4 Authorization header (IAM User Guide,
// "Elements of an AWS API request signature").
type authorization struct {
	accessKeyID string
	date        string // credential scope date, YYYYMMDD
	region      string
	service     string
	signed      []string // SignedHeaders, lower-case and sorted
	signature   string   // 64 lower-case hex digits
}

// parseAuthorization accepts exactly
// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...", each
// component once, in any order (security.md GCIX-08).
func parseAuthorization(v string) (authorization, error) {
	rest, ok := strings.CutPrefix(v, algorithm+" ")
	if !ok {
		return authorization{}, refuse("authorization_malformed")
	}
	var a authorization
	var cred, signed string
	var seenCred, seenSigned, seenSig bool
	for i, part := range strings.Split(rest, ",") {
		if i > 0 {
			part = strings.TrimPrefix(part, " ")
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok || val == "" {
			return authorization{}, refuse("authorization_malformed")
		}
		var dst *string
		var seen *bool
		switch k {
		case "Credential":
			dst, seen = &cred, &seenCred
		case "SignedHeaders":
			dst, seen = &signed, &seenSigned
		case "Signature":
			dst, seen = &a.signature, &seenSig
		default:
			return authorization{}, refuse("authorization_malformed")
		}
		if *seen {
			return authorization{}, refuse("authorization_malformed")
		}
		*dst, *seen = val, true
	}
	if !seenCred || !seenSigned || !seenSig {
		return authorization{}, refuse("authorization_malformed")
	}
	if !lowerHex(a.signature, 64) {
		return authorization{}, refuse("signature_malformed")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || !accessKeyID(parts[0]) || !digits(parts[1], 8) || !regionChars(parts[2]) {
		return authorization{}, refuse("credential_malformed")
	}
	a.accessKeyID, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	if a.service != "sts" {
		return authorization{}, refuse("credential_service")
	}
	a.signed = strings.Split(signed, ";")
	for i, n := range a.signed {
		if !outbound.IsToken(n) || strings.ToLower(n) != n || len(n) > maxHeaderName || i > 0 && a.signed[i-1] >= n {
			return authorization{}, refuse("signed_headers_malformed")
		}
	}
	if len(a.signed) > maxHeaders || slices.Contains(a.signed, "authorization") {
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

func regionChars(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
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

func lowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parseAmzDate reads X-Amz-Date, YYYYMMDD'T'HHMMSS'Z'.
func parseAmzDate(v string) (time.Time, bool) {
	if len(v) != len(timeFormat) {
		return time.Time{}, false
	}
	t, err := time.Parse(timeFormat, v)
	return t, err == nil && t.Format(timeFormat) == v
}
