package idtoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/keyless-dev/keyless/internal/strictjson"
)

// Key is a provider's public verification key.
type Key struct {
	ID string
	// Alg is the key's "alg" member, if it had one: the key may then be
	// used with that algorithm only (RFC 7517 section 4.4).
	Alg    string
	Public crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// Key set limits (security.md F-07, JWT-12).
const (
	MaxKeySetBytes = 1 << 20
	MaxKeys        = 100
	minRSABits     = 2048
	maxRSABits     = 8192
	maxKeyID       = 256
)

// jwk is a JSON Web Key (RFC 7517 section 4, RFC 7518 section 6).
type jwk struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Kid    string   `json:"kid"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	// Private and symmetric members: a key carrying any is never used.
	D   string          `json:"d"`
	P   string          `json:"p"`
	Q   string          `json:"q"`
	DP  string          `json:"dp"`
	DQ  string          `json:"dq"`
	QI  string          `json:"qi"`
	K   string          `json:"k"`
	Oth json.RawMessage `json:"oth"`
}

// ParseKeySet parses a JWK Set (RFC 7517 section 5). Entries that are not
// public signature keys keyless accepts (symmetric or private keys, RSA
// outside 2048-8192 bits or with an exponent other than 65537, unknown
// curves, keys for encryption) are left out and described in skipped. A
// set that is not JSON, or holds more than MaxKeys entries, is an error.
func ParseKeySet(b []byte) (keys []Key, skipped []string, err error) {
	if len(b) > MaxKeySetBytes {
		return nil, nil, fmt.Errorf("key set larger than %d bytes", MaxKeySetBytes)
	}
	if err := strictjson.Check(b); err != nil {
		return nil, nil, errors.New("key set is not a strict JSON object")
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil || set.Keys == nil {
		return nil, nil, errors.New(`key set has no "keys" array`)
	}
	if len(set.Keys) > MaxKeys {
		return nil, nil, fmt.Errorf("key set has %d keys, more than %d", len(set.Keys), MaxKeys)
	}
	for i, raw := range set.Keys {
		k, err := parseKey(raw)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d: %v", i, err))
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

func parseKey(raw json.RawMessage) (Key, error) {
	var j jwk
	if err := json.Unmarshal(raw, &j); err != nil {
		return Key{}, errors.New("not a JSON Web Key")
	}
	if j.D != "" || j.P != "" || j.Q != "" || j.DP != "" || j.DQ != "" || j.QI != "" || j.K != "" || j.Oth != nil || j.Kty == "oct" {
		return Key{}, errors.New("private or symmetric key")
	}
	if j.Use != "" && j.Use != "sig" {
		return Key{}, fmt.Errorf("use %q is not sig", j.Use)
	}
	if j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return Key{}, errors.New("key_ops does not include verify")
	}
	if len(j.Kid) > maxKeyID {
		return Key{}, errors.New("kid too long")
	}
	k := Key{ID: j.Kid, Alg: j.Alg}
	var err error
	switch j.Kty {
	case "RSA":
		k.Public, err = rsaKey(j.N, j.E)
	case "EC":
		k.Public, err = ecKey(j.Crv, j.X, j.Y)
	case "OKP":
		k.Public, err = okpKey(j.Crv, j.X)
	default:
		return Key{}, fmt.Errorf("unsupported kty %q", j.Kty)
	}
	if err != nil {
		return Key{}, err
	}
	if k.Alg != "" && !fits(k.Alg, k.Public) {
		return Key{}, fmt.Errorf("alg %q does not fit the key", k.Alg)
	}
	return k, nil
}

// b64 decodes base64url without padding, canonically (RFC 7515 section 2).
func b64(s string) ([]byte, error) { return base64.RawURLEncoding.Strict().DecodeString(s) }

func rsaKey(n64, e64 string) (*rsa.PublicKey, error) {
	n, err := b64(n64)
	if err != nil || len(n) == 0 || n[0] == 0 {
		return nil, errors.New("malformed RSA modulus")
	}
	e, err := b64(e64)
	if err != nil || string(e) != "\x01\x00\x01" {
		return nil, errors.New("RSA exponent is not 65537")
	}
	bits := len(n) * 8
	if bits < minRSABits || bits > maxRSABits || n[len(n)-1]&1 == 0 {
		return nil, fmt.Errorf("RSA modulus of %d bits (or even) refused", bits)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}, nil
}

func ecKey(crv, x64, y64 string) (*ecdsa.PublicKey, error) {
	var curve elliptic.Curve
	switch crv {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	case "P-521":
		curve = elliptic.P521()
	default:
		return nil, fmt.Errorf("unsupported curve %q", crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, errX := b64(x64)
	y, errY := b64(y64)
	if errX != nil || errY != nil || len(x) != size || len(y) != size {
		return nil, errors.New("malformed EC point")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, errors.New("EC point not on the curve")
	}
	return pub, nil
}

func okpKey(crv, x64 string) (ed25519.PublicKey, error) {
	x, err := b64(x64)
	if crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
		return nil, errors.New("unsupported or malformed OKP key")
	}
	return ed25519.PublicKey(x), nil
}

// fits reports whether a key can verify signatures of alg.
func fits(alg string, pub crypto.PublicKey) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return slices.Contains([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}, alg)
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// Algorithms are the signature algorithms a provider may allow (RFC 7518
// section 3.1; RFC 8037 for EdDSA). HMAC and "none" are never allowed.
var Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// DefaultAlgorithms are allowed when a provider names none (security.md
// V-11).
var DefaultAlgorithms = []string{"RS256", "ES256"}
