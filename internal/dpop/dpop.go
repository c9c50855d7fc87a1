package dpop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/signing"
	"github.com/keyless-dev/keyless/internal/strictjson"
)

// MaxLen bounds a proof before it is decoded. The clients' proofs are
// about 500 bytes.
const MaxLen = 4096

// MaxSkew is how far a proof's iat may be from the server's clock, either
// way (RFC 9449 section 11.1 leaves the window to the server).
const MaxSkew = 5 * time.Minute

// maxJTI bounds the jti; the clients send a UUID.
const maxJTI = 128

// Proof is what a verified proof says.
type Proof struct {
	// JKT is the RFC 7638 thumbprint of the proof's public key (RFC 9449
	// section 6.1, the cnf claim's jkt).
	JKT string
	// JTI is the proof's unique id, printable ASCII.
	JTI      string
	IssuedAt time.Time
}

// Error is a refused proof. Msg says what is wrong for the client; it
// quotes nothing from the proof.
type Error struct {
	Reason string // stable, for the audit event and metrics
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func refuse(reason, msg string) *Error {
	return &Error{Reason: reason, Msg: "The DPoP proof is not valid: " + msg}
}

// refusedHeader are header parameters that would point at a key
// elsewhere, or change how the proof is processed (RFC 8725 section 3.1).
var refusedHeader = []string{"jku", "x5u", "x5c", "x5t", "x5t#S256", "kid", "crit", "b64", "zip", "enc", "cty"}

// privateMembers are the JWK members of private or symmetric key
// material (RFC 7518 section 6): a proof carries a public key only (RFC
// 9449 section 4.3, check 7).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// Verify checks proof for a request with method sent to target, the
// absolute URL the client was given for this endpoint (its query and
// fragment are not compared), at now: RFC 9449 section 4.3's checks but
// the nonce and ath, which these clients never send.
func Verify(proof, method, target string, now time.Time) (Proof, error) {
	if proof == "" {
		return Proof{}, refuse("dpop_missing", "a DPoP header is required.")
	}
	hb, pb, sig, input, reason := idtoken.DecodeCompact(proof, MaxLen)
	if reason != "" {
		return Proof{}, refuse("dpop_"+reason, "it is not a compact JWS.")
	}
	h, err := strictjson.ParseObject(hb)
	if err != nil {
		return Proof{}, refuse("dpop_header_not_strict_json", "its header is not a JSON object.")
	}
	for _, p := range refusedHeader {
		if _, ok := h[p]; ok {
			return Proof{}, refuse("dpop_header_"+p+"_refused", "its header has a "+p+" parameter.")
		}
	}
	if typ, ok := str(h, "typ"); !ok || typ != "dpop+jwt" {
		return Proof{}, refuse("dpop_typ", "its typ is not dpop+jwt.")
	}
	alg, ok := str(h, "alg")
	switch {
	case !ok:
		return Proof{}, refuse("dpop_alg", "its alg is missing.")
	case strings.EqualFold(alg, "none"):
		return Proof{}, refuse("dpop_alg_none", "it is unsigned (alg none).")
	case strings.HasPrefix(strings.ToUpper(alg), "HS"):
		return Proof{}, refuse("dpop_alg_hmac", "a DPoP proof is signed with an asymmetric key, not an HMAC.")
	case alg != "ES256":
		return Proof{}, refuse("dpop_alg_unsupported", "its alg must be ES256.")
	}
	raw, ok := h["jwk"]
	if !ok {
		return Proof{}, refuse("dpop_jwk_missing", "its header has no jwk.")
	}
	jwk, err := strictjson.ParseObject(raw)
	if err != nil {
		return Proof{}, refuse("dpop_jwk_invalid", "its jwk is not a JSON object.")
	}
	for _, m := range privateMembers {
		if _, ok := jwk[m]; ok {
			return Proof{}, refuse("dpop_jwk_private", "its jwk holds private key material.")
		}
	}
	kty, okT := str(jwk, "kty")
	crv, okC := str(jwk, "crv")
	x, okX := str(jwk, "x")
	y, okY := str(jwk, "y")
	if !okT || !okC || !okX || !okY || kty != "EC" || crv != "P-256" {
		return Proof{}, refuse("dpop_jwk_invalid", "its jwk is not a P-256 public key.")
	}
	pub, x, y, err := p256(x, y)
	if err != nil {
		return Proof{}, refuse("dpop_jwk_invalid", "its jwk is not a P-256 public key.")
	}
	if !idtoken.VerifySignature(alg, pub, input, sig) {
		return Proof{}, refuse("dpop_signature", "its signature does not verify with its jwk.")
	}
	claims, err := strictjson.ParseObject(pb)
	if err != nil {
		return Proof{}, refuse("dpop_claims_not_strict_json", "its claims are not a JSON object.")
	}
	if htm, ok := str(claims, "htm"); !ok || htm != method {
		return Proof{}, refuse("dpop_htm", "its htm is not "+method+".")
	}
	htu, ok := str(claims, "htu")
	if !ok || !sameURL(htu, target) {
		return Proof{}, refuse("dpop_htu", "its htu is not "+target+".")
	}
	iat, ok := seconds(claims["iat"])
	if !ok {
		return Proof{}, refuse("dpop_iat", "its iat is not a time in seconds.")
	}
	issued := time.Unix(iat, 0).UTC()
	if d := now.Sub(issued); d > MaxSkew || d < -MaxSkew {
		return Proof{}, refuse("dpop_iat_skew", "it was made more than 5 minutes from now (iat); check the client's clock.")
	}
	jti, ok := str(claims, "jti")
	if !ok || !idtoken.Visible(jti, 1, maxJTI) {
		return Proof{}, refuse("dpop_jti", "its jti is missing or not 1 to 128 printable characters.")
	}
	return Proof{JKT: signing.JWK{Kty: kty, Crv: crv, X: x, Y: y}.Thumbprint(), JTI: jti, IssuedAt: issued}, nil
}

// p256 reads a P-256 public key's coordinates. RFC 7518 section 6.2.1.2
// wants each the full 32 bytes, but aws-sdk-go-v2's login provider
// writes big.Int.Bytes(), which drops leading zero bytes (about one key
// in 128): a shorter coordinate is padded (docs/compatibility.md). The
// coordinates are returned re-encoded at full size, so that one key has
// one thumbprint however a client wrote it (RFC 7638 section 3.2).
func p256(x64, y64 string) (*ecdsa.PublicKey, string, string, error) {
	pad := func(s string) ([]byte, error) {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil || len(b) == 0 || len(b) > 32 {
			return nil, errors.New("malformed coordinate")
		}
		return append(make([]byte, 32-len(b), 32), b...), nil
	}
	x, errX := pad(x64)
	y, errY := pad(y64)
	if errX != nil || errY != nil {
		return nil, "", "", errors.New("malformed EC point")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, "", "", errors.New("EC point not on the curve")
	}
	return pub, base64.RawURLEncoding.EncodeToString(x), base64.RawURLEncoding.EncodeToString(y), nil
}

// str returns a member that is a JSON string.
func str(m map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := m[name]
	if !ok {
		return "", false
	}
	return strictjson.Unquote(raw)
}

// seconds reads a JSON integer (NumericDate, RFC 7519 section 2, as the
// clients write it: whole seconds).
func seconds(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 || len(raw) > 12 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil && n > 0
}

// sameURL compares two absolute http(s) URLs as RFC 9449 section 4.3
// check 9 asks, without their query and fragment: scheme and host
// case-insensitively, a default port the same as none, and the path
// exactly ("" the same as "/").
func sameURL(a, b string) bool {
	na, okA := normalURL(a)
	nb, okB := normalURL(b)
	return okA && okB && na == nb
}

func normalURL(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.User != nil || u.Opaque != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" || u.Host == "" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	} else {
		port = ":" + port
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + port + path, true
}
