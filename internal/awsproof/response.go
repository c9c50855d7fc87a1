package awsproof

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"regexp"
	"strings"

	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/outbound"
)

// stsNamespace is the GetCallerIdentityResponse namespace (STS API
// reference, 2011-06-15).
const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// codeRE bounds an upstream error code before it is recorded.
var codeRE = regexp.MustCompile(`^[A-Za-z0-9.]{1,64}$`)

// answer turns the upstream's response into an identity or an error.
func answer(resp outbound.Response, partition string) (exchange.AWSIdentity, error) {
	switch s := resp.Status; {
	case s == 200:
	case s == 429:
		return exchange.AWSIdentity{}, &Error{reason: "upstream_throttled", upstream: errorCode(resp.Body), unavailable: true}
	case s >= 400 && s < 500: // GCIX-17
		code := errorCode(resp.Body)
		if code == "Throttling" {
			return exchange.AWSIdentity{}, &Error{reason: "upstream_throttled", upstream: code, unavailable: true}
		}
		return exchange.AWSIdentity{}, &Error{reason: "upstream_refused", upstream: code}
	default:
		return exchange.AWSIdentity{}, refuse("upstream_status")
	}
	if !xmlContentType(resp.Header.Values("Content-Type")) {
		return exchange.AWSIdentity{}, refuse("response_content_type")
	}
	id, err := parseResponse(resp.Body)
	if err != nil {
		return exchange.AWSIdentity{}, err
	}
	if err := checkIdentity(id, partition); err != nil {
		return exchange.AWSIdentity{}, err
	}
	return id, nil
}

// xmlContentType: exactly one text/xml or application/xml, UTF-8 if a
// charset is named (V-01: a JSON answer is never read as XML).
func xmlContentType(values []string) bool {
	if len(values) != 1 {
		return false
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil || mt != "text/xml" && mt != "application/xml" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

var errMalformed = refuse("response_malformed")

// Element paths allowed in a GetCallerIdentityResponse, all in
// stsNamespace; leaves hold text only.
var (
	allowedPaths = map[string]bool{
		"GetCallerIdentityResponse":                                 true,
		"GetCallerIdentityResponse/GetCallerIdentityResult":         true,
		"GetCallerIdentityResponse/GetCallerIdentityResult/Arn":     true,
		"GetCallerIdentityResponse/GetCallerIdentityResult/UserId":  true,
		"GetCallerIdentityResponse/GetCallerIdentityResult/Account": true,
		"GetCallerIdentityResponse/ResponseMetadata":                true,
		"GetCallerIdentityResponse/ResponseMetadata/RequestId":      true,
	}
	leafPaths = map[string]bool{
		"GetCallerIdentityResponse/GetCallerIdentityResult/Arn":     true,
		"GetCallerIdentityResponse/GetCallerIdentityResult/UserId":  true,
		"GetCallerIdentityResponse/GetCallerIdentityResult/Account": true,
		"GetCallerIdentityResponse/ResponseMetadata/RequestId":      true,
	}
)

// parseResponse reads body as exactly one GetCallerIdentityResponse
// document by walking its tokens (security.md V-01, GCIX-16): an optional
// XML declaration first, no DOCTYPE, comment or processing instruction,
// each element at most once, the result and its three fields exactly
// once, no text outside the leaves, nothing but white space after the root.
func parseResponse(body []byte) (exchange.AWSIdentity, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	var (
		id    exchange.AWSIdentity
		stack []string
		seen  = map[string]int{}
		text  strings.Builder
		done  bool
	)
	for n := 0; ; n++ {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return id, errMalformed
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if n != 0 || t.Target != "xml" || !bytes.HasPrefix(body, []byte("<?xml")) {
				return id, errMalformed
			}
		case xml.CharData:
			path := strings.Join(stack, "/")
			switch {
			case leafPaths[path]:
				if text.Len()+len(t) > 4096 {
					return id, errMalformed
				}
				text.Write(t)
			case len(bytes.TrimLeft(t, " \t\r\n")) != 0:
				return id, errMalformed
			}
		case xml.StartElement:
			if done || t.Name.Space != stsNamespace || !onlyNamespaceAttrs(t.Attr) {
				return id, errMalformed
			}
			stack = append(stack, t.Name.Local)
			path := strings.Join(stack, "/")
			if !allowedPaths[path] {
				return id, errMalformed
			}
			if seen[path]++; seen[path] > 1 {
				return id, errMalformed
			}
			text.Reset()
		case xml.EndElement:
			switch strings.Join(stack, "/") {
			case "GetCallerIdentityResponse/GetCallerIdentityResult/Arn":
				id.ARN = text.String()
			case "GetCallerIdentityResponse/GetCallerIdentityResult/UserId":
				id.UserID = text.String()
			case "GetCallerIdentityResponse/GetCallerIdentityResult/Account":
				id.Account = text.String()
			}
			text.Reset()
			stack = stack[:len(stack)-1]
			done = len(stack) == 0
		default: // xml.Comment, xml.Directive (DOCTYPE)
			return id, errMalformed
		}
	}
	for _, p := range []string{"GetCallerIdentityResult", "GetCallerIdentityResult/Arn", "GetCallerIdentityResult/UserId", "GetCallerIdentityResult/Account"} {
		if seen["GetCallerIdentityResponse/"+p] != 1 {
			return id, errMalformed
		}
	}
	if !done {
		return id, errMalformed
	}
	return id, nil
}

// onlyNamespaceAttrs: namespace declarations only, no other attribute.
func onlyNamespaceAttrs(attrs []xml.Attr) bool {
	for _, a := range attrs {
		if !(a.Name.Space == "" && a.Name.Local == "xmlns" || a.Name.Space == "xmlns") {
			return false
		}
	}
	return true
}

// checkIdentity: arn:PARTITION:iam|sts::ACCOUNT:RESOURCE with the
// endpoint's partition (V-06) and the answered Account.
func checkIdentity(id exchange.AWSIdentity, partition string) error {
	if !digits(id.Account, 12) {
		return refuse("account_malformed")
	}
	if !visibleASCII(id.UserID, 128) {
		return refuse("userid_malformed")
	}
	if len(id.ARN) > 2048 {
		return refuse("arn_malformed")
	}
	p := strings.SplitN(id.ARN, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[3] != "" || !digits(p[4], 12) || !visibleASCII(p[5], 512) {
		return refuse("arn_malformed")
	}
	switch {
	case p[1] != partition:
		return refuse("arn_partition_mismatch")
	case p[2] != "iam" && p[2] != "sts":
		return refuse("arn_malformed")
	case p[4] != id.Account:
		return refuse("account_mismatch")
	}
	return nil
}

// visibleASCII: 1 to max bytes of 0x21-0x7e (no white space).
func visibleASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// errorCode reads ErrorResponse/Error/Code leniently (any namespace) and
// keeps it only if it is a plausible AWS code; the message is never read.
func errorCode(body []byte) string {
	d := xml.NewDecoder(bytes.NewReader(body))
	var stack []string
	var code strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if len(stack) > 8 {
				return ""
			}
		case xml.CharData:
			if strings.Join(stack, "/") == "ErrorResponse/Error/Code" && code.Len() < 65 {
				code.Write(t)
			}
		case xml.EndElement:
			if strings.Join(stack, "/") == "ErrorResponse/Error/Code" {
				if c := code.String(); codeRE.MatchString(c) {
					return c
				}
				return ""
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}
