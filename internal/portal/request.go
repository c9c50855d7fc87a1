package portal

import (
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/signin"
)

// Paths of the browser side.
const (
	PathAuthorize    = signin.PathAuthorize
	PathConfirmation = "/v1/sessions/confirmation"
)

// AuthorizeRequest is a parsed /v1/authorize query (signin-and-issuer.md
// section 1.1, step 6).
type AuthorizeRequest struct {
	Client      string // login.SameDevice or login.CrossDevice
	RedirectURI string
	Challenge   string // base64url(SHA-256(verifier)), 43 characters
	State       string
	Scope       string
}

// AuthorizeError is a refused authorization request. Redirect is set when
// client_id and redirect_uri are valid, and only then, so that the error
// goes back to the client (RFC 6749 section 4.1.2.1); otherwise the
// person sees an error page and nothing is redirected (security.md
// AUTHZ-01, AUTHZ-09).
type AuthorizeError struct {
	Code     string // RFC 6749 section 4.1.2.1: invalid_request, unsupported_response_type, ...
	Reason   string
	Msg      string
	Redirect string // the URL to send the error to, with error and state
}

func (e *AuthorizeError) Error() string { return e.Msg }

// maxQuery bounds the query before it is parsed.
const maxQuery = 4096

// ParseAuthorize checks an authorization request against what keyless
// serves: the two devtools clients, each with its one kind of redirect
// (same-device: http://127.0.0.1:PORT/oauth/callback; cross-device:
// publicURL's confirmation page), S256 PKCE (the CLI names it SHA-256),
// response_type code, and a state to echo.
func ParseAuthorize(rawQuery, publicURL string) (AuthorizeRequest, error) {
	page := func(reason, msg string) error {
		return &AuthorizeError{Code: "invalid_request", Reason: reason, Msg: msg}
	}
	if len(rawQuery) > maxQuery {
		return AuthorizeRequest{}, page("query_too_long", "The authorization request is too long.")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return AuthorizeRequest{}, page("query_malformed", "The authorization request's query is malformed.")
	}
	one := func(name string) (string, bool) {
		v := q[name]
		return strings.Join(v, ""), len(v) <= 1
	}
	client, ok1 := one("client_id")
	redirect, ok2 := one("redirect_uri")
	if !ok1 || !ok2 {
		return AuthorizeRequest{}, page("parameter_repeated", "client_id and redirect_uri may each be given once.")
	}
	switch client {
	case login.SameDevice:
		if !loopbackCallback(redirect) {
			return AuthorizeRequest{}, page("redirect_uri_invalid", "For "+login.SameDevice+", redirect_uri must be http://127.0.0.1:PORT/oauth/callback.")
		}
	case login.CrossDevice:
		if redirect != publicURL+PathConfirmation {
			return AuthorizeRequest{}, page("redirect_uri_invalid", "For "+login.CrossDevice+", redirect_uri must be "+publicURL+PathConfirmation+".")
		}
	default:
		return AuthorizeRequest{}, page("client_id_invalid", "client_id must be "+login.SameDevice+" or "+login.CrossDevice+".")
	}
	// From here on the client and its redirect are known good: errors go
	// back to it, with the state if there is a usable one.
	state, okState := one("state")
	back := func(code, reason, msg string) error {
		v := url.Values{"error": {code}, "error_description": {msg}}
		if okState && idtoken.Visible(state, 8, 256) {
			v.Set("state", state)
		}
		return &AuthorizeError{Code: code, Reason: reason, Msg: msg, Redirect: redirect + "?" + v.Encode()}
	}
	for _, name := range []string{"response_type", "state", "code_challenge", "code_challenge_method", "scope"} {
		if _, ok := one(name); !ok {
			return AuthorizeRequest{}, back("invalid_request", "parameter_repeated", name+" may be given once.")
		}
	}
	if rt, _ := one("response_type"); rt != "code" {
		return AuthorizeRequest{}, back("unsupported_response_type", "response_type_unsupported", "response_type must be code.")
	}
	// The CLI sends a UUID; nothing that could split a header or a page
	// is echoed (security.md AUTHZ-08).
	if !okState || !idtoken.Visible(state, 8, 256) {
		return AuthorizeRequest{}, back("invalid_request", "state_invalid", "state must be 8 to 256 printable characters.")
	}
	method, _ := one("code_challenge_method")
	if method != "SHA-256" && method != "S256" {
		// plain, or none (which RFC 7636 section 4.3 takes as plain), is
		// a downgrade (security.md AUTHZ-07).
		return AuthorizeRequest{}, back("invalid_request", "code_challenge_method_invalid", "code_challenge_method must be SHA-256 (S256).")
	}
	challenge, _ := one("code_challenge")
	if digest, err := base64.RawURLEncoding.Strict().DecodeString(challenge); err != nil || len(digest) != sha256.Size {
		return AuthorizeRequest{}, back("invalid_request", "code_challenge_invalid", "code_challenge must be the 43-character base64url SHA-256 of the verifier.")
	}
	scope, _ := one("scope")
	if scope != "" && scope != "openid" {
		return AuthorizeRequest{}, back("invalid_scope", "scope_invalid", "Only the openid scope is offered.")
	}
	return AuthorizeRequest{Client: client, RedirectURI: redirect, Challenge: challenge, State: state, Scope: scope}, nil
}

// loopbackCallback reports whether u is exactly http://127.0.0.1:PORT/oauth/callback:
// the IPv4 loopback literal (not localhost, not another spelling of
// 127.0.0.1, not [::1]: security.md AUTHZ-03, AUTHZ-04), any port (RFC 8252
// section 7.3, AUTHZ-02), the CLI's path, and nothing else.
func loopbackCallback(u string) bool {
	rest, ok := strings.CutPrefix(u, "http://127.0.0.1:")
	if !ok {
		return false
	}
	port, path, ok := strings.Cut(rest, "/")
	if !ok || "/"+path != "/oauth/callback" || port == "" || len(port) > 5 || port[0] == '0' {
		return false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return false
	}
	// What the browser will be sent to parses to the same thing.
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "http" && p.User == nil && p.RawQuery == "" && p.Fragment == "" &&
		net.ParseIP(p.Hostname()).Equal(net.IPv4(127, 0, 0, 1)) && p.Hostname() == "127.0.0.1"
}
