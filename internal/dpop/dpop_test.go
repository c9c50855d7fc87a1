package dpop_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/keyless-dev/keyless/internal/dpop"
)

var (
	b64    = base64.RawURLEncoding
	now    = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	target = "https://keyless.example.com/v1/token"
)

func genKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// jwkOf is the key's public JWK members, as the clients write them.
func jwkOf(k *ecdsa.PrivateKey) map[string]any {
	pt, _ := k.PublicKey.Bytes()
	return map[string]any{"kty": "EC", "crv": "P-256", "x": b64.EncodeToString(pt[1:33]), "y": b64.EncodeToString(pt[33:])}
}

// sign makes a compact JWS of header and claims with k (ES256, raw r||s),
// whatever the header says.
func sign(t *testing.T, k *ecdsa.PrivateKey, header, claims any) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig)
}

func header(k *ecdsa.PrivateKey) map[string]any {
	return map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": jwkOf(k)}
}

func claims() map[string]any {
	return map[string]any{"htm": "POST", "htu": target, "iat": now.Unix(), "jti": "0f1e2d3c-4b5a-4697-8a8b-9c9d0e0f1a2b"}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// What the three clients send is accepted, and the thumbprint is RFC
// 7638's as go-jose computes it.
func TestVerifyClients(t *testing.T) {
	k := genKey(t)
	want, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	// go-jose signs a proof on its own (its own encoding of the header).
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.MarshalIndent(claims(), "", "  ") // the Go SDK indents its JSON
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	byJose, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	for name, proof := range map[string]string{
		"botocore, the full URL":        sign(t, k, header(k), claims()),
		"go-jose, indented claims":      byJose,
		"JS, with an explicit port 443": sign(t, k, header(k), with(claims(), "htu", "https://keyless.example.com:443/v1/token")),
		"a query is not compared":       sign(t, k, header(k), with(claims(), "htu", target+"?x=1")),
		"host case":                     sign(t, k, header(k), with(claims(), "htu", "HTTPS://Keyless.Example.COM/v1/token")),
		"iat 4 minutes ago":             sign(t, k, header(k), with(claims(), "iat", now.Add(-4*time.Minute).Unix())),
		"iat 4 minutes ahead":           sign(t, k, header(k), with(claims(), "iat", now.Add(4*time.Minute).Unix())),
	} {
		p, err := dpop.Verify(proof, "POST", target, now)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if p.JKT != b64.EncodeToString(want) {
			t.Errorf("%s: jkt %s, want %s", name, p.JKT, b64.EncodeToString(want))
		}
		if p.JTI != "0f1e2d3c-4b5a-4697-8a8b-9c9d0e0f1a2b" {
			t.Errorf("%s: jti %q", name, p.JTI)
		}
	}
	// Another key, another thumbprint.
	other, err := dpop.Verify(sign(t, genKey(t), header(genKey(t)), claims()), "POST", target, now)
	if err == nil {
		t.Errorf("a proof signed by a key other than its jwk: %+v", other)
	}
}

// DPOP rows: what the hostile list asks of DPoP (missing, another
// method or URL, too old, alg none or HS256, a key with private members),
// each refused with its own reason.
func TestVerifyHostile(t *testing.T) {
	k := genKey(t)
	hmacProof := func() string {
		h := with(header(k), "alg", "HS256")
		hb, _ := json.Marshal(h)
		cb, _ := json.Marshal(claims())
		return b64.EncodeToString(hb) + "." + b64.EncodeToString(cb) + "." + b64.EncodeToString([]byte("mac-over-the-public-key"))
	}
	noneProof := func() string {
		hb, _ := json.Marshal(with(header(k), "alg", "none"))
		cb, _ := json.Marshal(claims())
		return b64.EncodeToString(hb) + "." + b64.EncodeToString(cb) + "."
	}
	d, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	private := with(jwkOf(k), "d", b64.EncodeToString(d))
	offCurve := with(jwkOf(k), "y", b64.EncodeToString(make([]byte, 32)))
	good := sign(t, k, header(k), claims())
	dupHeader := func() string {
		hb := []byte(`{"typ":"dpop+jwt","alg":"ES256","alg":"none","jwk":` + mustJSON(jwkOf(k)) + `}`)
		cb, _ := json.Marshal(claims())
		return b64.EncodeToString(hb) + "." + b64.EncodeToString(cb) + "." + strings.Split(good, ".")[2]
	}
	for _, tc := range []struct{ id, name, proof, method, reason string }{
		{"DPOP-01", "no proof", "", "POST", "dpop_missing"},
		{"DPOP-02", "not a JWS", "not.a.jws!", "POST", "dpop_not_base64url"},
		{"DPOP-02", "a JWE", "a.b.c.d.e", "POST", "dpop_jwe_refused"},
		{"DPOP-02", "over MaxLen", strings.Repeat("a", dpop.MaxLen+1), "POST", "dpop_token_too_large"},
		{"DPOP-03", "alg none", noneProof(), "POST", "dpop_not_base64url"},
		{"DPOP-04", "alg HS256", hmacProof(), "POST", "dpop_alg_hmac"},
		{"DPOP-05", "alg ES384", sign(t, k, with(header(k), "alg", "ES384"), claims()), "POST", "dpop_alg_unsupported"},
		{"DPOP-05", "no alg", sign(t, k, with(header(k), "alg", nil), claims()), "POST", "dpop_alg"},
		{"DPOP-06", "typ JWT", sign(t, k, with(header(k), "typ", "JWT"), claims()), "POST", "dpop_typ"},
		{"DPOP-06", "no typ", sign(t, k, with(header(k), "typ", nil), claims()), "POST", "dpop_typ"},
		{"DPOP-07", "no jwk", sign(t, k, with(header(k), "jwk", nil), claims()), "POST", "dpop_jwk_missing"},
		{"DPOP-08", "jwk with the private key", sign(t, k, with(header(k), "jwk", private), claims()), "POST", "dpop_jwk_private"},
		{"DPOP-09", "jwk off the curve", sign(t, k, with(header(k), "jwk", offCurve), claims()), "POST", "dpop_jwk_invalid"},
		{"DPOP-09", "jwk on P-384", sign(t, k, with(header(k), "jwk", with(jwkOf(k), "crv", "P-384")), claims()), "POST", "dpop_jwk_invalid"},
		{"DPOP-09", "jwk RSA", sign(t, k, with(header(k), "jwk", map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}), claims()), "POST", "dpop_jwk_invalid"},
		{"DPOP-10", "signed by another key", sign(t, genKey(t), header(k), claims()), "POST", "dpop_signature"},
		{"DPOP-10", "a zero signature", good[:strings.LastIndexByte(good, '.')+1] + b64.EncodeToString(make([]byte, 64)), "POST", "dpop_signature"},
		{"DPOP-10", "a DER signature", good[:strings.LastIndexByte(good, '.')+1] + b64.EncodeToString(make([]byte, 70)), "POST", "dpop_signature"},
		{"DPOP-11", "for GET", sign(t, k, header(k), with(claims(), "htm", "GET")), "POST", "dpop_htm"},
		{"DPOP-11", "a POST proof on GET", good, "GET", "dpop_htm"},
		{"DPOP-12", "another path", sign(t, k, header(k), with(claims(), "htu", "https://keyless.example.com/v1/authorize")), "POST", "dpop_htu"},
		{"DPOP-12", "another host", sign(t, k, header(k), with(claims(), "htu", "https://evil.example/v1/token")), "POST", "dpop_htu"},
		{"DPOP-12", "http for https", sign(t, k, header(k), with(claims(), "htu", "http://keyless.example.com/v1/token")), "POST", "dpop_htu"},
		{"DPOP-12", "another port", sign(t, k, header(k), with(claims(), "htu", "https://keyless.example.com:8443/v1/token")), "POST", "dpop_htu"},
		{"DPOP-12", "userinfo", sign(t, k, header(k), with(claims(), "htu", "https://a@keyless.example.com/v1/token")), "POST", "dpop_htu"},
		{"DPOP-12", "no htu", sign(t, k, header(k), with(claims(), "htu", nil)), "POST", "dpop_htu"},
		{"DPOP-13", "6 minutes old", sign(t, k, header(k), with(claims(), "iat", now.Add(-6*time.Minute).Unix())), "POST", "dpop_iat_skew"},
		{"DPOP-13", "6 minutes ahead", sign(t, k, header(k), with(claims(), "iat", now.Add(6*time.Minute).Unix())), "POST", "dpop_iat_skew"},
		{"DPOP-13", "no iat", sign(t, k, header(k), with(claims(), "iat", nil)), "POST", "dpop_iat"},
		{"DPOP-13", "iat a string", sign(t, k, header(k), with(claims(), "iat", "1765108800")), "POST", "dpop_iat"},
		{"DPOP-13", "iat a fraction", sign(t, k, header(k), with(claims(), "iat", 1765108800.5)), "POST", "dpop_iat"},
		{"DPOP-14", "no jti", sign(t, k, header(k), with(claims(), "jti", nil)), "POST", "dpop_jti"},
		{"DPOP-14", "jti too long", sign(t, k, header(k), with(claims(), "jti", strings.Repeat("j", 129))), "POST", "dpop_jti"},
		{"DPOP-14", "jti with a newline", sign(t, k, header(k), with(claims(), "jti", "a\nb")), "POST", "dpop_jti"},
		{"DPOP-15", "kid", sign(t, k, with(header(k), "kid", "k1"), claims()), "POST", "dpop_header_kid_refused"},
		{"DPOP-15", "jku", sign(t, k, with(header(k), "jku", "https://evil.example/jwks"), claims()), "POST", "dpop_header_jku_refused"},
		{"DPOP-15", "x5c", sign(t, k, with(header(k), "x5c", []string{"MII"}), claims()), "POST", "dpop_header_x5c_refused"},
		{"DPOP-16", "a header member twice", dupHeader(), "POST", "dpop_header_not_strict_json"},
	} {
		_, err := dpop.Verify(tc.proof, tc.method, target, now)
		e, ok := err.(*dpop.Error)
		if !ok || e.Reason != tc.reason {
			t.Errorf("%s %s: %v, want %s", tc.id, tc.name, err, tc.reason)
			continue
		}
		if strings.Contains(e.Msg, "mac-over") || strings.Contains(e.Msg, "k1") {
			t.Errorf("%s %s: the message quotes the proof: %s", tc.id, tc.name, e.Msg)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func FuzzVerify(f *testing.F) {
	f.Add("eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.AAAA", "POST")
	f.Add("a.b.c", "GET")
	f.Fuzz(func(t *testing.T, proof, method string) {
		if _, err := dpop.Verify(proof, method, target, now); err == nil {
			t.Fatalf("an unsigned fuzzed proof verified: %q", proof)
		}
	})
}

// aws-sdk-go-v2 writes a coordinate with big.Int.Bytes(), dropping its
// leading zero bytes (review finding M1: about one key in 128 could never
// refresh). Written short, the key is accepted and has the thumbprint of
// its full-size encoding, as go-jose computes it.
func TestShortCoordinate(t *testing.T) {
	var k *ecdsa.PrivateKey
	for range 100000 {
		k = genKey(t)
		if pt, _ := k.PublicKey.Bytes(); pt[1] == 0 {
			break
		}
	}
	pt, _ := k.PublicKey.Bytes()
	if pt[1] != 0 {
		t.Fatal("no key with a leading zero byte in X")
	}
	want, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	short := with(jwkOf(k), "x", b64.EncodeToString(pt[2:33]))
	for name, jwk := range map[string]map[string]any{"short, as the Go SDK writes it": short, "full size": jwkOf(k)} {
		p, err := dpop.Verify(sign(t, k, with(header(k), "jwk", jwk), claims()), "POST", target, now)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.JKT != b64.EncodeToString(want) {
			t.Errorf("%s: jkt %s, want %s", name, p.JKT, b64.EncodeToString(want))
		}
	}
	for name, x := range map[string]string{"empty": "", "33 bytes": b64.EncodeToString(append([]byte{0}, pt[1:33]...))} {
		if _, err := dpop.Verify(sign(t, k, with(header(k), "jwk", with(jwkOf(k), "x", x)), claims()), "POST", target, now); err == nil {
			t.Errorf("x %s accepted", name)
		}
	}
}
