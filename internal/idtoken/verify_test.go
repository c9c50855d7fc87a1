package idtoken_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/idtoken/idtokentest"
)

const issuer = "https://idp.example.com"

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type keySet []idtoken.Key

func (s keySet) Keys(_ context.Context, kid string) ([]idtoken.Key, error) {
	var out []idtoken.Key
	for _, k := range s {
		if kid == "" || k.ID == kid {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, idtoken.ErrUnknownKey
	}
	return out, nil
}

func keysOf(t testing.TB, signers ...*idtokentest.Signer) keySet {
	t.Helper()
	keys, skipped, err := idtoken.ParseKeySet(idtokentest.JWKS(signers...))
	if err != nil || len(skipped) > 0 || len(keys) != len(signers) {
		t.Fatalf("key set: %v %v %d", err, skipped, len(keys))
	}
	return keys
}

func claims(extra map[string]any) map[string]any {
	c := map[string]any{"iss": issuer, "sub": "repo:org/app:ref:refs/heads/main", "aud": "sts.amazonaws.com",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

var provider = &idtoken.Provider{Issuer: issuer, ClientIDs: []string{"sts.amazonaws.com", "other-client"},
	Algorithms: []string{"RS256", "PS256", "ES256", "EdDSA"}}

func verify(t *testing.T, keys idtoken.KeySource, tok string) (*idtoken.Claims, error) {
	t.Helper()
	p, err := idtoken.Parse(tok)
	if err != nil {
		return nil, err
	}
	return p.Verify(context.Background(), provider, keys, now)
}

func wantKind(t *testing.T, err error, kind idtoken.Kind, reason string) {
	t.Helper()
	var e *idtoken.Error
	if !errors.As(err, &e) || e.Kind != kind || (reason != "" && e.Reason != reason) {
		t.Fatalf("got %v (%+v), want kind %d reason %s", err, e, kind, reason)
	}
}

func TestVerifyAlgorithms(t *testing.T) {
	pss := idtokentest.NewRSA("p1")
	pss.Alg = "PS256"
	for _, s := range []*idtokentest.Signer{idtokentest.NewRSA("r1"), pss, idtokentest.NewEC("e1"), idtokentest.NewEd25519("o1")} {
		c, err := verify(t, keysOf(t, s), s.Sign(claims(nil)))
		if err != nil {
			t.Fatalf("%s: %v", s.Alg, err)
		}
		if c.Subject != "repo:org/app:ref:refs/heads/main" || c.MatchedAudience != "sts.amazonaws.com" {
			t.Fatalf("%s: claims %+v", s.Alg, c)
		}
	}
}

func TestVerifyRefusals(t *testing.T) {
	s, other := idtokentest.NewRSA("k1"), idtokentest.NewRSA("k1")
	keys := keysOf(t, s)
	hdr := `{"alg":"RS256","kid":"k1"}`
	payload := `{"iss":"` + issuer + `","sub":"abcdef","aud":"sts.amazonaws.com","exp":` + itoa(now.Add(time.Hour).Unix()) + `}`
	cases := []struct {
		name   string
		tok    string
		kind   idtoken.Kind
		reason string
	}{
		{"expired", s.Sign(claims(map[string]any{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()})), idtoken.Expired, "token_expired"},
		{"expired and forged: the forgery is reported", other.Sign(claims(map[string]any{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()})), idtoken.Invalid, "signature_invalid"},
		{"wrong audience", s.Sign(claims(map[string]any{"aud": "someone-else"})), idtoken.Invalid, "aud_not_client"},
		{"two audiences without azp", s.Sign(claims(map[string]any{"aud": []string{"sts.amazonaws.com", "x"}})), idtoken.Invalid, "azp_missing"},
		{"two audiences, azp not a client", s.Sign(claims(map[string]any{"aud": []string{"sts.amazonaws.com", "x"}, "azp": "x"})), idtoken.Invalid, "azp_not_client"},
		{"another audience, azp ours (an access token for another API)", s.Sign(claims(map[string]any{"aud": "https://other-api.example", "azp": "sts.amazonaws.com"})), idtoken.Invalid, "aud_not_client"},
		{"aud empty list", s.Sign(claims(map[string]any{"aud": []string{}})), idtoken.Invalid, "aud_invalid"},
		{"aud number", s.Sign(claims(map[string]any{"aud": 123})), idtoken.Invalid, "aud_invalid"},
		{"aud missing", s.Sign(claims(map[string]any{"aud": nil})), idtoken.Invalid, "aud_missing"},
		{"exp missing", s.Sign(claims(map[string]any{"exp": nil})), idtoken.Invalid, "exp_invalid"},
		{"exp string", s.Sign(claims(map[string]any{"exp": "2000000000"})), idtoken.Invalid, "exp_invalid"},
		{"exp float", s.Raw([]byte(hdr), []byte(strings.Replace(payload, `"exp":`, `"exp":1.5e9,"x":`, 1))), idtoken.Invalid, "exp_invalid"},
		{"exp negative", s.Sign(claims(map[string]any{"exp": -5})), idtoken.Invalid, "exp_invalid"},
		{"nbf in the future", s.Sign(claims(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()})), idtoken.Invalid, "nbf_invalid"},
		{"iat in the future", s.Sign(claims(map[string]any{"iat": now.Add(5 * time.Minute).Unix()})), idtoken.Invalid, "iat_invalid"},
		{"lifetime too long", s.Sign(claims(map[string]any{"exp": now.Add(48 * time.Hour).Unix()})), idtoken.Invalid, "lifetime_too_long"},
		{"sub missing", s.Sign(claims(map[string]any{"sub": nil})), idtoken.Invalid, "sub_invalid"},
		{"issuer differs", s.Sign(claims(map[string]any{"iss": issuer + "/"})), idtoken.Invalid, "iss_mismatch"},
		{"alg none", noneToken(payload), idtoken.Invalid, "alg_none"},
		{"HS256", s.Raw([]byte(`{"alg":"HS256","kid":"k1"}`), []byte(payload)), idtoken.Invalid, "alg_hmac"},
		{"RS384 not allowed", s.Raw([]byte(`{"alg":"RS384","kid":"k1"}`), []byte(payload)), idtoken.Invalid, "alg_not_allowed"},
		{"key published for RS256, header says PS256", psAsRS(s, hdr, payload), idtoken.Invalid, "key_unknown"},
		{"jwk header", s.Raw([]byte(`{"alg":"RS256","kid":"k1","jwk":{}}`), []byte(payload)), idtoken.Invalid, "header_jwk_refused"},
		{"jku header", s.Raw([]byte(`{"alg":"RS256","kid":"k1","jku":"https://x"}`), []byte(payload)), idtoken.Invalid, "header_jku_refused"},
		{"crit header", s.Raw([]byte(`{"alg":"RS256","kid":"k1","crit":["b64"]}`), []byte(payload)), idtoken.Invalid, "header_crit_refused"},
		{"duplicate claim", s.Raw([]byte(hdr), []byte(strings.Replace(payload, `"sub":"abcdef"`, `"sub":"abcdef","sub":"admin"`, 1))), idtoken.Invalid, "claims_not_strict_json"},
		{"case variant claim", s.Raw([]byte(hdr), []byte(strings.Replace(payload, `"sub":"abcdef"`, `"Sub":"admin"`, 1))), idtoken.Invalid, "claim_case_variant"},
		{"folded variant claim", s.Raw([]byte(hdr), []byte(strings.Replace(payload, `"sub":"abcdef"`, `"sub":"abcdef","ſub":"admin"`, 1))), idtoken.Invalid, "claims_not_strict_json"},
		{"unknown kid", idtokentest.NewRSA("k2").Sign(claims(nil)), idtoken.Invalid, "key_unknown"},
		{"JWE", "a.b.c.d.e", idtoken.Invalid, "jwe_refused"},
		{"padded base64", s.Sign(claims(nil)) + "=", idtoken.Invalid, "not_base64url"},
		{"too large", strings.Repeat("a", idtoken.MaxLen+1), idtoken.Invalid, "token_too_large"},
		{"line break inside (regression: Go's base64 skips CR/LF)", strings.Replace(s.Sign(claims(nil)), ".", ".\r\n", 1), idtoken.Invalid, "not_base64url"},
		{"invalid UTF-8 in a claim (regression: it became U+FFFD)", s.Raw([]byte(hdr), []byte(strings.Replace(payload, `"abcdef"`, "\"abc\xffdef\"", 1))), idtoken.Invalid, "not_utf8"},
		{"kid with NUL", s.Raw([]byte(`{"alg":"RS256","kid":"a\u0000b"}`), []byte(payload)), idtoken.Invalid, "kid_invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := verify(t, keys, c.tok)
			wantKind(t, err, c.kind, c.reason)
		})
	}
}

// TestAudienceAZP: azp stands for the audience only where the provider says
// so (Google); elsewhere aud must name a client id, and azp is whoever asked
// for the token (Entra ID v2's calling application).
func TestAudienceAZP(t *testing.T) {
	s := idtokentest.NewRSA("k1")
	keys := keysOf(t, s)
	google := *provider
	google.AZPIsAudience = true
	verifyWith := func(p *idtoken.Provider, c map[string]any) (*idtoken.Claims, error) {
		tok, err := idtoken.Parse(s.Sign(claims(c)))
		if err != nil {
			return nil, err
		}
		return tok.Verify(context.Background(), p, keys, now)
	}
	c, err := verifyWith(provider, map[string]any{"azp": "calling-app"})
	if err != nil || c.MatchedAudience != "sts.amazonaws.com" || c.AuthorizedParty != "calling-app" {
		t.Fatalf("aud ours, azp another app: %+v %v", c, err)
	}
	c, err = verifyWith(&google, map[string]any{"aud": "server-client", "azp": "other-client"})
	if err != nil || c.MatchedAudience != "other-client" || c.Audience[0] != "server-client" {
		t.Fatalf("Google, azp a client id: %+v %v", c, err)
	}
	_, err = verifyWith(&google, map[string]any{"azp": "x"})
	wantKind(t, err, idtoken.Invalid, "azp_not_client")
}

func TestKidAbsent(t *testing.T) {
	a, b := idtokentest.NewRSA("a"), idtokentest.NewRSA("b")
	payload := []byte(`{"iss":"` + issuer + `","sub":"abcdef","aud":"sts.amazonaws.com","exp":` + itoa(now.Add(time.Hour).Unix()) + `}`)
	tok := a.Raw([]byte(`{"alg":"RS256"}`), payload)
	if _, err := verify(t, keysOf(t, a), tok); err != nil {
		t.Fatalf("single key: %v", err)
	}
	_, err := verify(t, keysOf(t, a, b), tok)
	wantKind(t, err, idtoken.Invalid, "kid_absent_ambiguous")
}

func TestUnavailable(t *testing.T) {
	s := idtokentest.NewRSA("k")
	_, err := verify(t, down{}, s.Sign(claims(nil)))
	wantKind(t, err, idtoken.Unavailable, "jwks_unavailable")
}

type down struct{}

func (down) Keys(context.Context, string) ([]idtoken.Key, error) { return nil, idtoken.ErrUnavailable }

func TestSessionTagsClaim(t *testing.T) {
	s := idtokentest.NewRSA("k")
	c, err := verify(t, keysOf(t, s), s.Sign(claims(map[string]any{"https://aws.amazon.com/tags": map[string]any{
		"principal_tags": map[string]any{"TenantID": []string{"A"}, "Team": []string{"x"}}, "transitive_tag_keys": []string{"TenantID"}}})))
	if err != nil {
		t.Fatal(err)
	}
	tags, err := c.SessionTags()
	if err != nil || len(tags) != 2 || tags[0].Key != "Team" || tags[1] != (idtoken.SessionTag{Key: "TenantID", Value: "A", Transitive: true}) {
		t.Fatalf("tags %+v %v", tags, err)
	}
	c, _ = verify(t, keysOf(t, s), s.Sign(claims(map[string]any{"https://aws.amazon.com/tags": map[string]any{
		"principal_tags": map[string]any{"TenantID": []string{"A", "B"}}}})))
	if _, err := c.SessionTags(); err == nil {
		t.Fatal("a tag with two values was accepted")
	}
}

func TestParseKeySetFilters(t *testing.T) {
	good := idtokentest.NewRSA("good").JWK()
	keys, skipped, err := idtoken.ParseKeySet([]byte(`{"keys":[` + mustJSON(good) + `,
		{"kty":"oct","k":"c2VjcmV0","kid":"hmac"},
		{"kty":"RSA","kid":"small","n":"` + strings.Repeat("A", 170) + `","e":"AQAB"},
		{"kty":"RSA","kid":"e3","n":"` + good["n"].(string) + `","e":"Aw"},
		{"kty":"RSA","kid":"priv","n":"` + good["n"].(string) + `","e":"AQAB","d":"AQAB"},
		{"kty":"EC","kid":"offcurve","crv":"P-256","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("A", 43) + `"},
		{"kty":"RSA","kid":"enc","use":"enc","n":"` + good["n"].(string) + `","e":"AQAB"}]}`))
	if err != nil || len(keys) != 1 || keys[0].ID != "good" || len(skipped) != 6 {
		t.Fatalf("keys %v skipped %v err %v", keys, skipped, err)
	}
	if _, _, err := idtoken.ParseKeySet([]byte(`{"keys":[` + strings.Repeat(mustJSON(good)+",", idtoken.MaxKeys) + mustJSON(good) + `]}`)); err == nil {
		t.Fatal("more than MaxKeys keys accepted")
	}
}

// psAsRS is a PKCS #1 v1.5 signature under a header that says PS256.
func psAsRS(s *idtokentest.Signer, hdr, payload string) string {
	tok := s.Raw([]byte(hdr), []byte(payload))
	sig := tok[strings.LastIndexByte(tok, '.'):]
	ps := idtokentest.NewRSA("unused").Raw([]byte(strings.Replace(hdr, "RS256", "PS256", 1)), []byte(payload))
	return ps[:strings.LastIndexByte(ps, '.')] + sig
}

func FuzzParse(f *testing.F) {
	s := idtokentest.NewRSA("k1")
	f.Add(s.Sign(claims(nil)))
	f.Add(noneToken(`{"iss":"x"}`))
	f.Add("a.b.c.d.e")
	keys := keysOf(f, s)
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := idtoken.Parse(tok)
		if err != nil {
			return
		}
		c, err := p.Verify(context.Background(), provider, keys, now)
		if err == nil && c.Subject == "" {
			t.Fatal("verified without a subject")
		}
	})
}
