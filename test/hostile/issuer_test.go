package hostile

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/jwks"
)

// issuerConfig is roles.yaml with outbound web identity federation
// enabled for account 111122223333 (not for eve's 444455556666), and
// GetWebIdentityToken in the SelfService policy of alice, bob and Demo.
func issuerConfig(s string) string {
	s = strings.Replace(s, `  - id: "111122223333"`, "  - id: \"111122223333\"\n    outbound_web_identity_federation: true", 1)
	return strings.Replace(s, `"sts:GetFederationToken"]`, `"sts:GetFederationToken", "sts:GetWebIdentityToken"]`, 1)
}

func newIssuerHarness(t *testing.T) *harness {
	h := newHarnessWith(t, "roles.yaml")
	h.boot(issuerConfig)
	return h
}

const witBase = "Action=GetWebIdentityToken&Version=2011-06-15"

// wit is a GetWebIdentityToken; it returns the result and the token.
func (h *harness) wit(c creds, params string) (result, string) {
	h.t.Helper()
	r := h.send(h.sign(h.request("POST", "/", witBase+params), c, "us-east-1"))
	var doc struct {
		Token      string `xml:"GetWebIdentityTokenResult>WebIdentityToken"`
		Expiration string `xml:"GetWebIdentityTokenResult>Expiration"`
	}
	if r.status == 200 {
		if err := xml.Unmarshal([]byte(r.body), &doc); err != nil || doc.Token == "" || doc.Expiration == "" {
			h.t.Fatalf("GetWebIdentityToken answer %s: %v", r.body, err)
		}
		noteSecret(doc.Token)
	}
	return r, doc.Token
}

// get fetches a document of the issuer, unaudited.
func (h *harness) get(method, path string, hdr map[string]string) (*http.Response, string) {
	h.t.Helper()
	req := h.request(method, path, "")
	for k, v := range hdr {
		if strings.EqualFold(k, "Host") {
			req.Host = v
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// claimsOf verifies a token as keyless's own verifier does, with the key
// set the issuer publishes, and returns its claims.
func (h *harness) claimsOf(token, issuer, audience string) (*idtoken.Claims, error) {
	h.t.Helper()
	_, set := h.get("GET", "/.well-known/jwks.json", nil)
	keys, skipped, err := idtoken.ParseKeySet([]byte(set))
	if err != nil || len(skipped) > 0 {
		h.t.Fatalf("the published key set does not parse: %v %v", err, skipped)
	}
	tok, err := idtoken.Parse(token)
	if err != nil {
		return nil, err
	}
	return tok.Verify(context.Background(), &idtoken.Provider{Issuer: issuer, ClientIDs: []string{audience},
		Algorithms: []string{"RS256", "ES256", "ES384"}}, jwks.Static(keys), h.clock.Now())
}

// Section 3.J: the OIDC issuer's documents.
func TestIssuerDocuments(t *testing.T) {
	h := newIssuerHarness(t)
	base := h.app.Config().IssuerURL()
	// OIDC-01: the issuer never comes from the request's headers.
	for _, hdr := range []map[string]string{nil, {"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
		{"Forwarded": "host=evil.example;proto=https"}} {
		resp, body := h.get("GET", "/.well-known/openid-configuration", hdr)
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != 200 {
			t.Fatalf("OIDC-01 %v: %d %s", hdr, resp.StatusCode, body)
		}
		if doc["issuer"] != base || doc["jwks_uri"] != base+"/.well-known/jwks.json" || strings.Contains(body, "evil") {
			t.Errorf("OIDC-01 %v: %s", hdr, body)
		}
		// OIDC-08: the members an OpenID Provider must publish
		// (Discovery 1.0 section 3) that relying parties here read.
		for _, m := range []string{"issuer", "jwks_uri", "response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported"} {
			if doc[m] == nil {
				t.Errorf("OIDC-08: discovery lacks %s", m)
			}
		}
	}
	// OIDC-02: public members only, unique kids, alg and use on each,
	// RSA of at least 2048 bits; after a rotation too.
	checkKeySet := func(when string) {
		resp, body := h.get("GET", "/.well-known/jwks.json", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("OIDC-02 %s: %d %v", when, resp.StatusCode, resp.Header)
		}
		var set struct{ Keys []map[string]any }
		if err := json.Unmarshal([]byte(body), &set); err != nil || len(set.Keys) < 3 {
			t.Fatalf("OIDC-02 %s: %s", when, body)
		}
		kids := map[string]bool{}
		for _, k := range set.Keys {
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
				if _, ok := k[private]; ok {
					t.Errorf("OIDC-02 %s: a published key has %q", when, private)
				}
			}
			kid, _ := k["kid"].(string)
			if kid == "" || kids[kid] || k["use"] != "sig" || k["alg"] == nil {
				t.Errorf("OIDC-02 %s: key %v", when, k)
			}
			kids[kid] = true
			if k["kty"] == "RSA" {
				n, _ := base64.RawURLEncoding.DecodeString(k["n"].(string))
				if len(n)*8 < 2048 {
					t.Errorf("OIDC-02 %s: an RSA key of %d bits", when, len(n)*8)
				}
			}
		}
		// OIDC-06: relying parties may cache it no longer than a new
		// key waits before it signs.
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=3600" {
			t.Errorf("OIDC-06 %s: Cache-Control %q", when, cc)
		}
	}
	checkKeySet("at start")
	h.clock.Advance(2 * time.Hour)
	if err := h.app.Maintain(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkKeySet("after maintenance")
	// OIDC-05: other methods and unknown paths.
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/.well-known/jwks.json", 405}, {"PUT", "/.well-known/openid-configuration", 405},
		{"DELETE", "/.well-known/jwks.json", 405},
		{"GET", "/.well-known/jwks", 404}, {"GET", "/.well-known/openid-configuration/x", 404},
		{"GET", "/tokens/00000000000000000000000000000000/.well-known/jwks.json", 404},
		{"GET", "/tokens/../.well-known/jwks.json", 404},
	} {
		resp, body := h.get(tc.method, tc.path, nil)
		if resp.StatusCode != tc.status && !(tc.path == "/tokens/../.well-known/jwks.json" && resp.StatusCode >= 400) ||
			strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
			t.Errorf("OIDC-05 %s %s: %d %s", tc.method, tc.path, resp.StatusCode, body)
		}
	}
	// OIDC-07: a 100 KB URL and 1 MB of headers are refused by the server.
	resp, _ := h.get("GET", "/.well-known/jwks.json?"+strings.Repeat("a", 100<<10), nil)
	if resp.StatusCode != 431 && resp.StatusCode != 414 {
		t.Errorf("OIDC-07 long URL: %d", resp.StatusCode)
	}
	resp, _ = h.get("GET", "/.well-known/jwks.json", map[string]string{"X-Big": strings.Repeat("b", 1<<20)})
	if resp.StatusCode != 431 {
		t.Errorf("OIDC-07 1 MB of headers: %d", resp.StatusCode)
	}
}

// GetWebIdentityToken's shapes, callers and limits (security.md 3.J
// OIDC-04 and the STS API reference).
func TestGetWebIdentityTokenHostile(t *testing.T) {
	h := newIssuerHarness(t)
	gstSess := h.session(alice, "")
	_, roleSess := h.assumed("setup", alice, assumeParams(demoARN)+q("DurationSeconds", "900"))
	fed := h.federated("setup", alice, q("Name", "fed")+q("Policy", allowAll))
	aud := q("Audience.member.1", "svc")
	rs := q("SigningAlgorithm", "RS256")
	many := ""
	for i := 1; i <= 11; i++ {
		many += q("Audience.member."+itoa(i), "a"+itoa(i))
	}
	rows := []struct {
		id     string
		c      creds
		params string
		status int
		code   string
	}{
		{"WIT shape: no Audience", alice, rs, 400, "ValidationError"},
		{"WIT shape: empty Audience list", alice, "&Audience=" + rs, 400, "ValidationError"},
		{"WIT shape: 11 audiences", alice, many + rs, 400, "ValidationError"},
		{"WIT shape: 1001-character audience", alice, q("Audience.member.1", strings.Repeat("a", 1001)) + rs, 400, "ValidationError"},
		{"WIT shape: empty audience", alice, q("Audience.member.1", "") + rs, 400, "ValidationError"},
		{"WIT shape: audience list with a gap", alice, q("Audience.member.2", "svc") + rs, 400, "ValidationError"},
		{"WIT shape: no SigningAlgorithm", alice, aud, 400, "ValidationError"},
		{"WIT shape: algorithm none", alice, aud + q("SigningAlgorithm", "none"), 400, "ValidationError"},
		{"WIT shape: algorithm HS256", alice, aud + q("SigningAlgorithm", "HS256"), 400, "ValidationError"},
		{"WIT shape: algorithm ES256 (not offered)", alice, aud + q("SigningAlgorithm", "ES256"), 400, "ValidationError"},
		{"WIT shape: algorithm rs256", alice, aud + q("SigningAlgorithm", "rs256"), 400, "ValidationError"},
		{"WIT shape: 59 seconds", alice, aud + rs + q("DurationSeconds", "59"), 400, "ValidationError"},
		{"WIT shape: 3601 seconds", alice, aud + rs + q("DurationSeconds", "3601"), 400, "ValidationError"},
		{"WIT shape: duration not a number", alice, aud + rs + q("DurationSeconds", "1h"), 400, "ValidationError"},
		{"WIT shape: unknown parameter", alice, aud + rs + q("Subject", "arn:aws:iam::111122223333:role/Admin"), 400, "ValidationError"},
		{"WIT shape: aws: tag", alice, aud + rs + tags("aws:sub", "x"), 400, "InvalidParameterValue"},
		{"WIT shape: duplicate tag keys", alice, aud + rs + tags("job", "1", "JOB", "2"), 400, "InvalidParameterValue"},
		{"WIT caller: GetSessionToken credentials", gstSess, aud + rs, 403, "AccessDenied"},
		{"WIT caller: federated user", fed, aud + rs, 403, "AccessDenied"},
		{"WIT caller: no permission (carol)", carol, aud + rs, 403, "AccessDenied"},
		{"WIT caller: account not enabled (eve)", eve, aud + rs, 403, "OutboundWebIdentityFederationDisabledException"},
		{"WIT caller: token outliving the role session", roleSess, aud + rs + q("DurationSeconds", "901"), 403, "SessionDurationEscalationException"},
	}
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			h.t = t
			r, tok := h.wit(row.c, row.params)
			h.assertDenied(row.id, r, row.status, row.code)
			if tok != "" || strings.Contains(r.body, "<WebIdentityToken>") {
				t.Errorf("%s: a refusal carries a token", row.id)
			}
		})
	}
	h.t = t
	// A token that ends exactly when the session does is allowed.
	r, tok := h.wit(roleSess, aud+rs+q("DurationSeconds", "900"))
	h.assertOK("WIT session end", r)
	// OIDC-04: typ JWT, exact iss, aud, exp within the maximum, kid, alg.
	_, tok1 := h.wit(alice, aud+q("SigningAlgorithm", "ES384")+q("DurationSeconds", "3600"))
	issuer := ""
	for i, tk := range []string{tok, tok1} {
		var hdr map[string]string
		var claims map[string]any
		part := strings.Split(tk, ".")
		decodeJSON(t, part[0], &hdr)
		decodeJSON(t, part[1], &claims)
		issuer, _ = claims["iss"].(string)
		if hdr["typ"] != "JWT" || hdr["kid"] == "" || (hdr["alg"] != "RS256" && hdr["alg"] != "ES384") ||
			!strings.HasPrefix(issuer, h.app.Config().IssuerURL()+"/tokens/") {
			t.Errorf("OIDC-04 token %d: header %v iss %v", i, hdr, claims["iss"])
		}
		exp, _ := claims["exp"].(float64)
		iat, _ := claims["iat"].(float64)
		if exp-iat > 3600 || exp <= iat || claims["aud"] != "svc" {
			t.Errorf("OIDC-04 token %d: iat %v exp %v aud %v", i, iat, exp, claims["aud"])
		}
		if _, err := h.claimsOf(tk, issuer, "svc"); err != nil {
			t.Errorf("OIDC-04 token %d does not verify with the published keys: %v", i, err)
		}
		if _, err := h.claimsOf(tk, h.app.Config().IssuerURL(), "svc"); err == nil {
			t.Errorf("token %d verifies as the deployment issuer's: an account's token must not pass for an integration's", i)
		}
	}
	// The role session's token names the role, and expires with it.
	var claims map[string]any
	decodeJSON(t, strings.Split(tok, ".")[1], &claims)
	if claims["sub"] != demoARN {
		t.Errorf("role session token sub %v, want %s", claims["sub"], demoARN)
	}
	// The token stays valid for relying parties only until exp.
	h.clock.Advance(time.Hour + idtoken.DefaultLeeway + time.Second)
	if _, err := h.claimsOf(tok1, issuer, "svc"); err == nil {
		t.Error("an expired token verified")
	}
	// Private key material never appears: every stored signing key's
	// private values are noted as secrets, which TestMain looks for in
	// every audit event and log line (AUD-03), and the key set has none.
	stored, err := h.store.ListSigningKeys(context.Background())
	if err != nil || len(stored) == 0 {
		t.Fatal(stored, err)
	}
	_, published := h.get("GET", "/.well-known/jwks.json", nil)
	for _, k := range stored {
		// signing's binding of a sealed key to its algorithm and id.
		der, _, err := testKEKSet.Open(k.Sealed, []byte("keyless signing key\x00"+k.Algorithm+"\x00"+k.ID))
		if err != nil {
			t.Fatalf("opening stored key %s: %v", k.ID, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		var private []string
		switch p := priv.(type) {
		case *rsa.PrivateKey:
			private = []string{b64u(p.D.Bytes()), b64u(p.Primes[0].Bytes()), b64u(p.Primes[1].Bytes())}
		case *ecdsa.PrivateKey:
			d, _ := p.Bytes()
			private = []string{b64u(d)}
		}
		private = append(private, base64.StdEncoding.EncodeToString(der))
		noteSecret(private...)
		for _, v := range private {
			if strings.Contains(published, v) {
				t.Errorf("the key set carries private material of key %s", k.ID)
			}
		}
	}
	// The account's issuer serves discovery under its own identifier.
	resp, body := h.get("GET", strings.TrimPrefix(issuer, h.app.Config().PublicURL)+"/.well-known/openid-configuration", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"issuer":"`+issuer+`"`) {
		t.Errorf("account issuer discovery: %d %s", resp.StatusCode, body)
	}
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func itoa(i int) string { return strconv.Itoa(i) }

func decodeJSON(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil || json.Unmarshal(b, v) != nil {
		t.Fatalf("not a JSON segment: %q", seg)
	}
}

// F-12: signing keys rotate under load: in each step, four clients ask
// for tokens while maintenance runs (and every ten minutes rotates the
// keys) at the same time, and a relying party that caches the key set for
// exactly jwks_max_age and never refetches early verifies every token it
// is shown; no token is signed by a key that was not published.
func TestRotationUnderLoad(t *testing.T) {
	h := newHarnessWith(t, "roles.yaml")
	h.boot(func(s string) string {
		return "issuer: {jwks_max_age: 1m, rotate_every: 5m}\n" + issuerConfig(s)
	})
	ask := func(alg string) (string, error) {
		req := h.sign(h.request("POST", "/", witBase+q("Audience.member.1", "svc")+q("SigningAlgorithm", alg)), alice, "us-east-1")
		r := h.do(req)
		if r.status != 200 {
			return "", fmt.Errorf("GetWebIdentityToken under rotation: %d %s", r.status, r.code)
		}
		var doc struct {
			Token string `xml:"GetWebIdentityTokenResult>WebIdentityToken"`
		}
		if err := xml.Unmarshal([]byte(r.body), &doc); err != nil {
			return "", err
		}
		noteSecret(doc.Token)
		return doc.Token, nil
	}
	var cached []idtoken.Key
	var fetchedAt time.Time
	kids := map[string]bool{}
	verified := 0
	for step := range 80 {
		now := h.clock.Now()
		if cached == nil || now.Sub(fetchedAt) >= time.Minute {
			_, set := h.get("GET", "/.well-known/jwks.json", nil)
			keys, skipped, err := idtoken.ParseKeySet([]byte(set))
			if err != nil || len(skipped) > 0 {
				t.Fatal(err, skipped)
			}
			cached, fetchedAt = keys, now
		}
		// Four clients and maintenance at once.
		var wg sync.WaitGroup
		tokens := make([]string, 8)
		errs := make([]error, 9)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tokens[i], errs[i] = ask([]string{"RS256", "ES384"}[i%2])
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[8] = h.app.Maintain(context.Background())
		}()
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, tok := range tokens {
			parsed, err := idtoken.Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			var hdr map[string]string
			var claims map[string]any
			decodeJSON(t, strings.Split(tok, ".")[0], &hdr)
			decodeJSON(t, strings.Split(tok, ".")[1], &claims)
			kids[hdr["kid"]] = true
			if _, err := parsed.Verify(context.Background(), &idtoken.Provider{Issuer: claims["iss"].(string), ClientIDs: []string{"svc"},
				Algorithms: []string{"RS256", "ES384"}}, jwks.Static(cached), now); err != nil {
				t.Fatalf("step %d: a token fails against the key set cached at %s (now %s): %v", step, fetchedAt, now, err)
			}
			verified++
		}
		h.clock.Advance(30 * time.Second)
	}
	if verified != 640 || len(kids) < 8 {
		t.Errorf("%d tokens verified, %d signing keys used in 40 minutes: the load or the rotation did not happen", verified, len(kids))
	}
}
