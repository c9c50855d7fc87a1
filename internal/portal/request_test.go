package portal_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/portal"
)

const (
	public    = "https://keyless.example.com"
	challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	state     = "3f1c2b8e-5d7a-4c61-9e0b-2a4d6f8c1e7b"
)

// query is the CLI's authorization request (signin-and-issuer.md section
// 1.1 step 6), changed by kv (a nil value removes the parameter).
func query(kv ...string) string {
	v := url.Values{"response_type": {"code"}, "client_id": {login.SameDevice}, "state": {state}, "code_challenge_method": {"SHA-256"},
		"scope": {"openid"}, "redirect_uri": {"http://127.0.0.1:53121/oauth/callback"}, "code_challenge": {challenge}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "\x00" {
			v.Del(kv[i])
			continue
		}
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestParseAuthorizeAccepts(t *testing.T) {
	for name, q := range map[string]string{
		"the CLI, same-device":       query(),
		"AUTHZ-02 any loopback port": query("redirect_uri", "http://127.0.0.1:1/oauth/callback"),
		"RFC 7636's S256":            query("code_challenge_method", "S256"),
		"the CLI, cross-device":      query("client_id", login.CrossDevice, "redirect_uri", public+portal.PathConfirmation),
		"no scope":                   query("scope", "\x00"),
	} {
		r, err := portal.ParseAuthorize(q, public)
		if err != nil || r.Challenge != challenge || r.State != state {
			t.Errorf("%s: %+v %v", name, r, err)
		}
	}
}

// Rows of security.md 3.K: with a bad client or redirect, an error page
// and no redirect; with both good, the error goes back to the client with
// the state.
func TestParseAuthorizeRefuses(t *testing.T) {
	repeated := query() + "&client_id=" + url.QueryEscape(login.CrossDevice)
	for _, tc := range []struct {
		id, q    string
		redirect bool
		code     string
	}{
		{"AUTHZ-01 unregistered redirect", query("redirect_uri", "https://evil.example/cb"), false, "invalid_request"},
		{"AUTHZ-01 other path", query("redirect_uri", "http://127.0.0.1:53121/other"), false, "invalid_request"},
		{"AUTHZ-01 no port", query("redirect_uri", "http://127.0.0.1/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-01 cross-device to a loopback", query("client_id", login.CrossDevice), false, "invalid_request"},
		{"AUTHZ-01 same-device to the confirmation page", query("redirect_uri", public+portal.PathConfirmation), false, "invalid_request"},
		{"AUTHZ-03 localhost", query("redirect_uri", "http://localhost:5000/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-03 [::1]", query("redirect_uri", "http://[::1]:5000/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 127.0.0.1.evil.example", query("redirect_uri", "http://127.0.0.1.evil.example/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 userinfo", query("redirect_uri", "http://127.0.0.1@evil.example/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 port then userinfo", query("redirect_uri", "http://127.0.0.1:80@evil.example/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 fragment", query("redirect_uri", "http://evil.example#@127.0.0.1:1/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 mapped IPv6", query("redirect_uri", "http://[::ffff:127.0.0.1]:1/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 decimal", query("redirect_uri", "http://2130706433:1/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 hex", query("redirect_uri", "http://0x7f.1:1/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 short", query("redirect_uri", "http://127.1:1/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 127.0.0.2", query("redirect_uri", "http://127.0.0.2:1/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 https", query("redirect_uri", "https://127.0.0.1:1/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 port 0", query("redirect_uri", "http://127.0.0.1:0/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 port 65536", query("redirect_uri", "http://127.0.0.1:65536/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 leading zero port", query("redirect_uri", "http://127.0.0.1:08080/oauth/callback"), false, "invalid_request"},
		{"AUTHZ-04 query on the callback", query("redirect_uri", "http://127.0.0.1:1/oauth/callback?x=1"), false, "invalid_request"},
		{"AUTHZ-04 dot segment", query("redirect_uri", "http://127.0.0.1:1/oauth/../oauth/callback"), false, "invalid_request"},
		{"AUTHZ-09 unknown client", query("client_id", "arn:aws:signin:::devtools/other"), false, "invalid_request"},
		{"AUTHZ-09 no client", query("client_id", "\x00"), false, "invalid_request"},
		{"AUTHZ-09 client_id twice", repeated, false, "invalid_request"},
		{"AUTHZ-06 token", query("response_type", "token"), true, "unsupported_response_type"},
		{"AUTHZ-06 code token", query("response_type", "code token"), true, "unsupported_response_type"},
		{"AUTHZ-07 no challenge", query("code_challenge", "\x00"), true, "invalid_request"},
		{"AUTHZ-07 plain", query("code_challenge_method", "plain"), true, "invalid_request"},
		{"AUTHZ-07 no method", query("code_challenge_method", "\x00"), true, "invalid_request"},
		{"AUTHZ-07 42 characters", query("code_challenge", challenge[:42]), true, "invalid_request"},
		{"AUTHZ-07 not base64url", query("code_challenge", challenge[:42]+"="), true, "invalid_request"},
		{"AUTHZ-07 not a canonical encoding", query("code_challenge", challenge[:42]+"N"), true, "invalid_request"},
		{"AUTHZ-08 no state", query("state", "\x00"), true, "invalid_request"},
		{"AUTHZ-08 short state", query("state", "abc"), true, "invalid_request"},
		{"AUTHZ-08 state with CR LF", query("state", "abcdefgh\r\nSet-Cookie: x"), true, "invalid_request"},
		{"scope other than openid", query("scope", "openid admin"), true, "invalid_scope"},
		{"over 4 KB", query("state", strings.Repeat("s", 5000)), false, "invalid_request"},
	} {
		_, err := portal.ParseAuthorize(tc.q, public)
		e, ok := err.(*portal.AuthorizeError)
		if !ok || e.Code != tc.code || (e.Redirect != "") != tc.redirect {
			t.Errorf("%s: %+v", tc.id, err)
			continue
		}
		if tc.redirect {
			u, err := url.Parse(e.Redirect)
			if err != nil || !strings.HasPrefix(e.Redirect, "http://127.0.0.1:53121/oauth/callback?") || u.Query().Get("error") != tc.code {
				t.Errorf("%s: redirect %q", tc.id, e.Redirect)
			}
			// The state is echoed only when it is one (never CR LF).
			if got := u.Query().Get("state"); strings.ContainsAny(got, "\r\n") || (got != "" && got != state) {
				t.Errorf("%s: state %q echoed", tc.id, got)
			}
		}
	}
}
