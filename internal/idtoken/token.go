package idtoken

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/internal/strictjson"
)

// MaxLen bounds a token before any decoding (security.md JWT-22). AWS
// accepts up to 20,000 characters; real ID tokens are a few KB.
const MaxLen = 16 << 10

// Token is a parsed but not yet verified compact JWS.
type Token struct {
	input   []byte // the signing input: header.payload (RFC 7515 section 5.1)
	sig     []byte
	alg     string
	kid     string
	typ     string
	claims  map[string]json.RawMessage
	payload []byte // the claims JSON, decoded from base64url
	issuer  string
}

// header parameters that would let the token choose its own key or change
// how it is processed (RFC 8725 section 3; security.md V-12, V-13, JWT-25).
var refusedHeader = []string{"jwk", "jku", "x5u", "x5c", "crit", "b64", "zip", "enc", "cty"}

// registered are the claims keyless reads; a case variant of one is
// refused rather than ignored (JWT-20).
var registered = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "azp", "amr", "jti",
	tagsClaim, sourceIdentityClaim}

// Parse checks a token's shape and decodes its header and claims strictly.
// It does not verify anything; Verify does.
func Parse(s string) (*Token, error) {
	hb, pb, sig, input, reason := DecodeCompact(s, MaxLen)
	if reason != "" {
		return nil, invalid(reason, msgNotJWT)
	}
	t := &Token{input: input, sig: sig}
	if err := t.header(hb); err != nil {
		return nil, err
	}
	claims, err := strictjson.ParseObject(pb)
	if err != nil {
		return nil, invalid("claims_not_strict_json", msgNotJWT)
	}
	t.claims, t.payload = claims, pb
	for name := range t.claims {
		for _, r := range registered {
			if name != r && strings.EqualFold(name, r) {
				return nil, invalid("claim_case_variant", msgClaims)
			}
		}
	}
	iss, ok := t.String("iss")
	if !ok || iss == "" {
		return nil, invalid("iss_missing", msgClaims)
	}
	t.issuer = iss
	return t, nil
}

// DecodeCompact checks a compact JWS's shape (RFC 7515 section 7.1): at
// most max bytes, three parts of the base64url alphabet alone (Go's
// decoder would skip CR and LF, giving one signed token many accepted
// spellings, JWT-21), a non-empty signature, and a header and payload of
// UTF-8 (RFC 8259 section 8.1: Go's decoder would turn invalid bytes into
// U+FFFD, merging distinct signed values into one, JWT-20). It returns
// them decoded, with the signing input; reason names what is wrong.
func DecodeCompact(s string, max int) (header, payload, sig, input []byte, reason string) {
	if len(s) > max {
		return nil, nil, nil, nil, "token_too_large"
	}
	if n := strings.Count(s, "."); n != 2 {
		if n == 4 {
			return nil, nil, nil, nil, "jwe_refused"
		}
		return nil, nil, nil, nil, "not_compact_jws"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, nil, nil, nil, "not_base64url"
		}
	}
	h64, rest, _ := strings.Cut(s, ".")
	p64, sig64, _ := strings.Cut(rest, ".")
	hb, errH := b64(h64)
	pb, errP := b64(p64)
	sig, errS := b64(sig64)
	if errH != nil || errP != nil || errS != nil || len(sig) == 0 {
		return nil, nil, nil, nil, "not_base64url"
	}
	if !utf8.Valid(hb) || !utf8.Valid(pb) {
		return nil, nil, nil, nil, "not_utf8"
	}
	return hb, pb, sig, []byte(s[:len(h64)+1+len(p64)]), ""
}

func (t *Token) header(b []byte) error {
	h, err := strictjson.ParseObject(b)
	if err != nil {
		return invalid("header_not_strict_json", msgNotJWT)
	}
	for _, p := range refusedHeader {
		if _, ok := h[p]; ok {
			return invalid("header_"+p+"_refused", msgNotJWT)
		}
	}
	str := func(name string) (string, bool) {
		raw, ok := h[name]
		if !ok {
			return "", true
		}
		return strictjson.Unquote(raw)
	}
	var ok1, ok2, ok3 bool
	t.alg, ok1 = str("alg")
	t.kid, ok2 = str("kid")
	t.typ, ok3 = str("typ")
	if !ok1 || !ok2 || !ok3 || t.alg == "" {
		return invalid("header_invalid", msgNotJWT)
	}
	switch {
	case strings.EqualFold(t.alg, "none"):
		return invalid("alg_none", msgNotJWT)
	case strings.HasPrefix(strings.ToUpper(t.alg), "HS"):
		return invalid("alg_hmac", msgNotJWT)
	}
	if _, has := h["kid"]; has && !Visible(t.kid, 1, maxKeyID) {
		return invalid("kid_invalid", msgNotJWT)
	}
	return nil
}

// Visible reports whether s is lo to hi bytes of visible ASCII (0x21 to
// 0x7e: no space, no control), as ids in tokens are (kid, jti, state).
func Visible(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// SigningInput returns header.payload, what the signature covers (RFC
// 7515 section 5.1).
func (t *Token) SigningInput() []byte { return slices.Clone(t.input) }

// Issuer is the unverified iss claim, for choosing the provider.
func (t *Token) Issuer() string { return t.issuer }

// String returns a top-level string claim.
func (t *Token) String(name string) (string, bool) {
	raw, ok := t.claims[name]
	if !ok {
		return "", false
	}
	return strictjson.Unquote(raw)
}
