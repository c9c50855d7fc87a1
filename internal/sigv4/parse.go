package sigv4

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

const (
	timeFormat = "20060102T150405Z"
	dateFormat = "20060102"
	terminator = "aws4_request"
	// MaxSkew is how far X-Amz-Date may be from the server's clock, in
	// either direction. Presigned requests are valid for the same window
	// after X-Amz-Date whatever X-Amz-Expires says, as AWS STS does.
	MaxSkew = 15 * time.Minute
)

// Query parameter and header names (IAM User Guide, "Elements of an AWS API
// request signature").
const (
	QueryAlgorithm     = "X-Amz-Algorithm"
	QueryCredential    = "X-Amz-Credential"
	QueryDate          = "X-Amz-Date"
	QueryExpires       = "X-Amz-Expires"
	QuerySignedHeaders = "X-Amz-SignedHeaders"
	QuerySignature     = "X-Amz-Signature"
	QuerySecurityToken = "X-Amz-Security-Token"

	headerDate          = "X-Amz-Date"
	headerSecurityToken = "X-Amz-Security-Token"
	headerContentSHA256 = "X-Amz-Content-Sha256"
)

// authQueryParams are the query parameters that carry a presigned signature.
var authQueryParams = []string{QueryAlgorithm, QueryCredential, QueryDate, QueryExpires, QuerySignedHeaders, QuerySignature, QuerySecurityToken}

// IsAuthParam reports whether a query parameter name belongs to SigV4 rather
// than to the action (case-insensitively, so that case variants are caught).
func IsAuthParam(name string) bool {
	for _, p := range authQueryParams {
		if strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// Request is what the verifier needs from an HTTP request.
type Request struct {
	Method     string
	EscapedURI string     // the path as sent, still percent-encoded
	Query      url.Values // the decoded query string
	Host       string     // Go moves the Host header into http.Request.Host
	Header     http.Header
	BodySHA256 [32]byte // hash of the exact body bytes received
}

// Scope is a credential scope: date/region/service/aws4_request.
type Scope struct {
	Date    string
	Region  string
	Service string
}

// Signed is a parsed, not yet verified, signature.
type Signed struct {
	Presigned     bool
	AccessKeyID   string
	SecurityToken string // empty for long-term credentials
	Scope         Scope
	Time          time.Time // X-Amz-Date
	signedHeaders []string
	headerKeys    []string // Request.Header key of each signed header
	signature     []byte
	req           *Request
}

// SignedHeaders returns the header names the client signed.
func (s *Signed) SignedHeaders() []string { return s.signedHeaders }

// Parse checks that req carries exactly one well-formed SigV4 signature for
// service, within the clock window around now and scoped to a region that
// allowRegion accepts. It does no cryptography.
func Parse(req *Request, service string, allowRegion func(string) bool, now time.Time) (*Signed, error) {
	hasHeader := len(req.Header.Values("Authorization")) > 0
	hasQuery := false
	for k := range req.Query {
		if IsAuthParam(k) {
			hasQuery = true
		}
	}
	var (
		s   *Signed
		err error
	)
	switch {
	case hasHeader && hasQuery:
		return nil, incomplete("Found both a signature in the Authorization header and in the query string; use only one.")
	case hasHeader:
		s, err = parseHeader(req)
	case hasQuery:
		s, err = parseQuery(req)
	default:
		return nil, &Error{Failure: Missing, Msg: "Request is missing Authentication Token"}
	}
	if err != nil {
		return nil, err
	}
	s.req = req
	s.headerKeys = make([]string, len(s.signedHeaders))
	for i, name := range s.signedHeaders {
		s.headerKeys[i] = http.CanonicalHeaderKey(name)
	}
	if err := checkScope(s, service, allowRegion); err != nil {
		return nil, err
	}
	if err := checkTime(s.Time, now); err != nil {
		return nil, err
	}
	return s, nil
}

func parseHeader(req *Request) (*Signed, error) {
	values := req.Header.Values("Authorization")
	if len(values) != 1 {
		return nil, incomplete("Only one Authorization header may be sent.")
	}
	a, err := ParseAuthorization(values[0])
	if err != nil {
		return nil, err
	}
	s := &Signed{AccessKeyID: a.AccessKeyID, Scope: a.Scope, signedHeaders: a.SignedHeaders, signature: a.Signature}
	dates := req.Header.Values(headerDate)
	switch {
	case len(dates) > 1:
		return nil, incomplete("Only one X-Amz-Date header may be sent.")
	case len(dates) == 0:
		// SigV4 permits the Date header instead; every AWS SDK sends
		// X-Amz-Date, so keyless requires it (see docs/compatibility.md).
		return nil, incomplete("Authorization header requires existence of a 'X-Amz-Date' header.")
	}
	t, err := ParseTime(dates[0])
	if err != nil {
		return nil, err
	}
	s.Time = t
	tokens := req.Header.Values(headerSecurityToken)
	if len(tokens) > 1 {
		return nil, incomplete("Only one X-Amz-Security-Token header may be sent.")
	}
	if len(tokens) == 1 {
		s.SecurityToken = tokens[0]
	}
	if !contains(s.signedHeaders, "x-amz-date") {
		return nil, incomplete("The X-Amz-Date header must be signed.")
	}
	if err := checkContentSHA256(req); err != nil {
		return nil, err
	}
	return s, nil
}

// Authorization is a parsed Authorization header value.
type Authorization struct {
	AccessKeyID   string
	Scope         Scope
	SignedHeaders []string // lower-case, sorted, unique, host included
	Signature     []byte
}

// ParseAuthorization reads "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...", each component exactly once (IAM User Guide, "Elements of
// an AWS API request signature"). It looks at no other header: the token
// exchange parses the Authorization of a request it does not receive.
func ParseAuthorization(v string) (Authorization, error) {
	alg, rest, ok := strings.Cut(v, " ")
	if !ok || alg != Algorithm {
		return Authorization{}, incomplete("Unsupported authorization type; only " + Algorithm + " is accepted.")
	}
	var cred, signed, sig string
	var seenCred, seenSigned, seenSig bool
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimLeft(part, " ")
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Authorization{}, incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
		}
		var dst *string
		var seen *bool
		switch k {
		case "Credential":
			dst, seen = &cred, &seenCred
		case "SignedHeaders":
			dst, seen = &signed, &seenSigned
		case "Signature":
			dst, seen = &sig, &seenSig
		default:
			return Authorization{}, incomplete("Authorization header has an unknown parameter '" + quoteShort(k) + "'.")
		}
		if *seen {
			return Authorization{}, incomplete("Authorization header repeats the '" + k + "' parameter.")
		}
		*dst, *seen = v, true
	}
	if cred == "" || signed == "" || sig == "" {
		return Authorization{}, incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
	}
	var s Signed
	if err := parseCredential(cred, &s); err != nil {
		return Authorization{}, err
	}
	a := Authorization{AccessKeyID: s.AccessKeyID, Scope: s.Scope}
	var err error
	if a.SignedHeaders, err = parseSignedHeaders(signed); err != nil {
		return Authorization{}, err
	}
	if a.Signature, err = parseSignature(sig); err != nil {
		return Authorization{}, err
	}
	return a, nil
}

func parseQuery(req *Request) (*Signed, error) {
	get := map[string]string{}
	for k, v := range req.Query {
		if !IsAuthParam(k) {
			continue
		}
		canonical := ""
		for _, p := range authQueryParams {
			if p == k {
				canonical = p
			}
		}
		if canonical == "" {
			return nil, incomplete("Query parameter '" + quoteShort(k) + "' must be spelled with its exact case.")
		}
		if len(v) != 1 {
			return nil, incomplete("Query parameter '" + k + "' may appear only once.")
		}
		get[k] = v[0]
	}
	for _, required := range []string{QueryAlgorithm, QueryCredential, QueryDate, QuerySignedHeaders, QuerySignature} {
		if get[required] == "" {
			return nil, incomplete("AWS query-string parameters must include '" + QueryAlgorithm + "', '" + QueryCredential + "', '" + QuerySignature + "', '" + QuerySignedHeaders + "', '" + QueryDate + "'. Re-examine the query-string parameters.")
		}
	}
	if get[QueryAlgorithm] != Algorithm {
		return nil, incomplete("X-Amz-Algorithm only supports \"" + Algorithm + "\".")
	}
	s := &Signed{Presigned: true, SecurityToken: get[QuerySecurityToken]}
	if err := parseCredential(get[QueryCredential], s); err != nil {
		return nil, err
	}
	t, err := ParseTime(get[QueryDate])
	if err != nil {
		return nil, err
	}
	s.Time = t
	if e, ok := get[QueryExpires]; ok && !isExpires(e) {
		return nil, incomplete("X-Amz-Expires must be a whole number of seconds between 0 and 604800.")
	}
	if s.signedHeaders, err = parseSignedHeaders(get[QuerySignedHeaders]); err != nil {
		return nil, err
	}
	if s.signature, err = parseSignature(get[QuerySignature]); err != nil {
		return nil, err
	}
	if err := checkContentSHA256(req); err != nil {
		return nil, err
	}
	return s, nil
}

// parseCredential reads AKID/YYYYMMDD/region/service/aws4_request.
func parseCredential(v string, s *Signed) error {
	parts := strings.Split(v, "/")
	if len(parts) != 5 {
		return incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + quoteShort(v) + "'")
	}
	for _, p := range parts {
		if p == "" {
			return incomplete("Credential has an empty element: '" + quoteShort(v) + "'")
		}
	}
	if !isAccessKeyID(parts[0]) {
		return incomplete("Credential has a malformed access key id.")
	}
	s.AccessKeyID = parts[0]
	s.Scope = Scope{Date: parts[1], Region: parts[2], Service: parts[3]}
	if parts[4] != terminator {
		return mismatch("Credential should be scoped with a valid terminator: '" + terminator + "', not '" + quoteShort(parts[4]) + "'.")
	}
	return nil
}

// isAccessKeyID checks the character class of AWS's accessKeyIdType,
// [\w]{1,128}. Length below 16 is left to the key lookup, which answers
// InvalidClientTokenId as AWS does for any key it does not know.
func isAccessKeyID(s string) bool {
	return len(s) >= 1 && len(s) <= 128 && arn.IsWordChars(s)
}

// ParseTime reads X-Amz-Date: ISO 8601 basic, YYYYMMDD'T'HHMMSS'Z', and
// nothing that merely parses as it.
func ParseTime(v string) (time.Time, error) {
	t, err := time.Parse(timeFormat, v)
	if err != nil || len(v) != len(timeFormat) || t.Format(timeFormat) != v {
		return time.Time{}, incomplete("X-Amz-Date must be in the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'.")
	}
	return t, nil
}

func isExpires(v string) bool {
	if v == "" || len(v) > 6 {
		return false
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
		n = n*10 + int(v[i]-'0')
	}
	return n <= 604800
}

// parseSignedHeaders requires lower-case, sorted, unique names including host.
func parseSignedHeaders(v string) ([]string, error) {
	names := strings.Split(v, ";")
	for i, n := range names {
		if n == "" || !isLowerToken(n) {
			return nil, incomplete("SignedHeaders must be a semicolon-separated list of lower-case header names.")
		}
		if i > 0 && names[i-1] >= n {
			return nil, incomplete("SignedHeaders must be sorted and must not repeat a header.")
		}
	}
	if !contains(names, "host") {
		return nil, incomplete("The host header must be signed.")
	}
	return names, nil
}

func isLowerToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// parseSignature accepts exactly 64 lower-case hex digits. Anything else is a
// signature that cannot match (an upper-cased one included, as AWS does).
func parseSignature(v string) ([]byte, error) {
	if len(v) != 64 || strings.ToLower(v) != v {
		return nil, mismatch(MsgMismatch)
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return nil, mismatch(MsgMismatch)
	}
	return b, nil
}

// checkContentSHA256 refuses unsigned and streaming payload modes, which STS
// never needs, and a declared payload hash that is not the body's.
func checkContentSHA256(req *Request) error {
	vals := req.Header.Values(headerContentSHA256)
	switch {
	case len(vals) == 0:
		return nil
	case len(vals) > 1:
		return incomplete("Only one X-Amz-Content-Sha256 header may be sent.")
	}
	v := vals[0]
	if v == "UNSIGNED-PAYLOAD" || strings.HasPrefix(v, "STREAMING-") {
		return incomplete("X-Amz-Content-Sha256 must be the SHA-256 of the payload; unsigned and streaming payloads are not accepted.")
	}
	if v != hex.EncodeToString(req.BodySHA256[:]) {
		return mismatch("The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return nil
}

func checkScope(s *Signed, service string, allowRegion func(string) bool) error {
	if s.Scope.Date != s.Time.Format(dateFormat) {
		return mismatch("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			quoteShort(s.Scope.Date) + "' != '" + s.Time.Format(dateFormat) + "', from '" + s.Time.Format(timeFormat) + "'.")
	}
	if s.Scope.Service != service {
		return mismatch("Credential should be scoped to correct service: '" + service + "'.")
	}
	if !allowRegion(s.Scope.Region) {
		return mismatch("Credential should be scoped to a valid region.")
	}
	return nil
}

// checkTime applies the ±15 minute window, with AWS's messages.
func checkTime(t, now time.Time) error {
	switch {
	case t.Before(now.Add(-MaxSkew)):
		return mismatch("Signature expired: " + t.UTC().Format(timeFormat) + " is now earlier than " +
			now.Add(-MaxSkew).UTC().Format(timeFormat) + " (" + now.UTC().Format(timeFormat) + " - 15 min.)")
	case t.After(now.Add(MaxSkew)):
		return mismatch("Signature not yet current: " + t.UTC().Format(timeFormat) + " is still later than " +
			now.Add(MaxSkew).UTC().Format(timeFormat) + " (" + now.UTC().Format(timeFormat) + " + 15 min.)")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// quoteShort bounds a client-supplied value before it is echoed in a message.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
