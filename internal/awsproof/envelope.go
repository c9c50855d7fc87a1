package awsproof

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/internal/outbound"
	"github.com/keyless-dev/keyless/internal/strictjson"
)

const (
	maxHeaders      = 16
	maxHeaderValue  = 8 << 10
	maxHeaderName   = 64
	maxURLBytes     = 2048
	googleAudience  = "x-goog-cloud-target-resource"
	keylessAudience = "x-keyless-audience"
	challengeName   = "x-keyless-challenge"
	nonceName       = "x-keyless-nonce"
	maxNonce        = 64
)

// allowedHeaders are the only header names an envelope may carry
// (security.md GCIX-06), lower-case.
var allowedHeaders = []string{
	"authorization", "host", "x-amz-date", "x-amz-security-token",
	keylessAudience, googleAudience, challengeName, nonceName, "content-type",
}

// formContentTypes are the Content-Type values allowed with the body form.
var formContentTypes = []string{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"}

// envelope is the client's serialized request, shape-checked.
type envelope struct {
	url, method string
	body        string
	header      map[string]string // lower-case name: value
	names       []string          // lower-case names in envelope order
}

// parseEnvelope reads the JSON strictly: one object, no duplicate or
// case-folded duplicate keys at any depth, only the known members with
// their types (security.md GCIX-23), then checks each header's name and
// value (GCIX-06, GCIX-07).
func parseEnvelope(b []byte) (*envelope, error) {
	if len(b) > MaxEnvelopeBytes {
		return nil, refuse("envelope_too_large")
	}
	if !utf8.Valid(b) {
		return nil, refuse("envelope_malformed")
	}
	members, err := strictjson.ParseObject(b)
	if err != nil {
		return nil, refuse("envelope_malformed")
	}
	for k := range members {
		switch k {
		case "url", "method", "headers", "body":
		default:
			return nil, refuse("envelope_unknown_key")
		}
	}
	e := &envelope{header: map[string]string{}}
	var ok bool
	if e.url, ok = str(members, "url"); !ok {
		return nil, refuse("envelope_malformed")
	}
	if e.method, ok = str(members, "method"); !ok {
		return nil, refuse("envelope_malformed")
	}
	if _, present := members["body"]; present {
		if e.body, ok = str(members, "body"); !ok {
			return nil, refuse("envelope_malformed")
		}
	}
	raw, present := members["headers"]
	if !present || !bytes.HasPrefix(raw, []byte("[")) {
		return nil, refuse("envelope_malformed")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, refuse("envelope_malformed")
	}
	if len(items) > maxHeaders {
		return nil, refuse("too_many_headers")
	}
	for _, item := range items {
		if !bytes.HasPrefix(item, []byte("{")) {
			return nil, refuse("envelope_malformed")
		}
		kv, err := strictjson.ParseObject(item)
		if err != nil || len(kv) != 2 {
			return nil, refuse("envelope_malformed")
		}
		name, ok1 := str(kv, "key")
		value, ok2 := str(kv, "value")
		if !ok1 || !ok2 {
			return nil, refuse("envelope_malformed")
		}
		if !outbound.IsToken(name) || len(name) > maxHeaderName {
			return nil, refuse("header_malformed")
		}
		name = strings.ToLower(name)
		if !slices.Contains(allowedHeaders, name) {
			return nil, refuse("header_not_allowed")
		}
		if _, dup := e.header[name]; dup {
			return nil, refuse("header_duplicate")
		}
		switch {
		case name == nonceName && !goodNonce(value):
			return nil, refuse("nonce_malformed")
		case !goodValue(value):
			return nil, refuse("header_malformed")
		}
		e.header[name] = value
		e.names = append(e.names, name)
	}
	return e, nil
}

// str returns members[k] if it is a JSON string.
func str(members map[string]json.RawMessage, k string) (string, bool) {
	raw, ok := members[k]
	if !ok {
		return "", false
	}
	return strictjson.Unquote(raw)
}

// goodValue: non-empty, at most 8 KiB, no control characters (C0, DEL,
// C1: CR/LF/NUL smuggling, GCIX-07), no leading or trailing space.
func goodValue(v string) bool {
	if v == "" || len(v) > maxHeaderValue || v[0] == ' ' || v[len(v)-1] == ' ' {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// goodNonce: 1 to 64 characters of base64url's alphabet (RFC 4648
// section 5), which hex is part of: the client's X-Keyless-Nonce.
func goodNonce(v string) bool {
	if v == "" || len(v) > maxNonce {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// target is where a checked envelope goes.
type target struct {
	ep        *endpoint
	authority string // the URL's host[:port] as the client signed it
	bodyForm  bool   // Body in the body rather than in the query
}

// url is the outbound URL: byte-identical to the signed one.
func (t target) url() string {
	u := t.ep.scheme + "://" + t.authority + "/"
	if !t.bodyForm {
		u += "?" + Body
	}
	return u
}

// checkURL accepts exactly scheme://HOST/?Action=GetCallerIdentity&Version=2011-06-15
// or scheme://HOST/ for an allowed HOST (security.md GCIX-02, GCIX-03).
func (v *Verifier) checkURL(raw string) (target, error) {
	if len(raw) > maxURLBytes {
		return target{}, refuse("url_malformed")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme != "https" && scheme != "http" {
		return target{}, refuse("scheme_not_allowed")
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	tail := rest[len(authority):]
	u, err := url.Parse(raw)
	switch {
	case strings.Contains(authority, "@"):
		return target{}, refuse("url_userinfo")
	case strings.Contains(raw, "#"):
		return target{}, refuse("url_fragment")
	case err != nil || u.Opaque != "" || u.User != nil || u.Host != authority || !hostChars(authority):
		return target{}, refuse("url_malformed")
	}
	ep, err := v.endpoint(scheme, authority)
	if err != nil {
		return target{}, err
	}
	t := target{ep: ep, authority: authority}
	path, query, hasQuery := strings.Cut(tail, "?")
	switch {
	// An empty path is "/" (RFC 3986 section 6.2.3); Google's client
	// libraries send https://sts.amazonaws.com?Action=... (google.aip.dev/auth/4117).
	case path != "/" && path != "":
		return target{}, refuse("path_not_root")
	case !hasQuery:
		t.bodyForm = true
	case query != Body:
		return target{}, refuse("query_not_allowed")
	}
	want := t.ep.scheme + "://" + t.authority + path
	if !t.bodyForm {
		want += "?" + Body
	}
	if raw != want { // belt and braces: nothing else may differ
		return target{}, refuse("url_malformed")
	}
	return t, nil
}

// endpoint finds the allowed STS for authority (GCIX-01, V-07): a
// configured upstream's host[:port], or a public AWS host without any
// port. The match is exact: nothing the client sent is lower-cased or
// stripped of a trailing dot or default port to make it match; only the
// configuration is canonicalised, once, at load (parseUpstream).
func (v *Verifier) endpoint(scheme, authority string) (*endpoint, error) {
	for i := range v.upstreams {
		if up := &v.upstreams[i]; up.host == authority {
			if up.scheme != scheme {
				return nil, refuse("scheme_not_allowed")
			}
			return up, nil
		}
	}
	name, _, hasPort := strings.Cut(authority, ":")
	region, partition, ok := awsEndpoint(name, v.partitions)
	switch {
	case !ok:
		return nil, refuse("host_not_allowed")
	case hasPort:
		return nil, refuse("port_not_allowed")
	case scheme != "https":
		return nil, refuse("scheme_not_allowed")
	}
	return &endpoint{scheme: "https", host: authority, region: region, partition: partition, client: v.aws}, nil
}

// canonicalName is the header name we send for a lower-case one.
func canonicalName(lower string) string { return http.CanonicalHeaderKey(lower) }
