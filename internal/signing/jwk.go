package signing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
)

// JWK is a published public key (RFC 7517 section 4, RFC 7518 section 6).
// It has no member for private or symmetric key material.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	// RSA (RFC 7518 section 6.3.1).
	N string `json:"n,omitempty"`
	E string `json:"e,omitempty"`
	// EC (RFC 7518 section 6.2.1).
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWKS is a JSON Web Key Set (RFC 7517 section 5).
type JWKS struct {
	Keys []JWK `json:"keys"`
}

var b64 = base64.RawURLEncoding

// publicJWK describes pub, whose algorithm is alg, without a kid.
func publicJWK(alg Algorithm, pub any) (JWK, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg != RS256 {
			return JWK{}, errors.New("an RSA key for " + string(alg))
		}
		return JWK{Kty: "RSA", Use: "sig", Alg: string(alg), N: b64.EncodeToString(k.N.Bytes()),
			E: b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		crv, size := alg.curve()
		if crv == nil || k.Curve != crv {
			return JWK{}, errors.New("an EC key on the wrong curve for " + string(alg))
		}
		point, err := k.Bytes() // 0x04 || X || Y, each size bytes (SEC 1 section 2.3.3)
		if err != nil {
			return JWK{}, err
		}
		return JWK{Kty: "EC", Use: "sig", Alg: string(alg), Crv: crv.Params().Name,
			X: b64.EncodeToString(point[1 : 1+size]), Y: b64.EncodeToString(point[1+size:])}, nil
	}
	return JWK{}, errors.New("unsupported public key type")
}

// Thumbprint is the RFC 7638 JWK thumbprint of j: SHA-256 over the
// required members in lexicographic order, base64url. keyless uses it as
// the kid, so a kid names exactly one key.
func (j JWK) Thumbprint() string {
	var canon []byte
	switch j.Kty {
	case "RSA":
		canon, _ = json.Marshal(struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{j.E, j.Kty, j.N})
	default:
		canon, _ = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Crv, j.Kty, j.X, j.Y})
	}
	sum := sha256.Sum256(canon)
	return b64.EncodeToString(sum[:])
}

// curve is the curve and coordinate size of an EC algorithm.
func (a Algorithm) curve() (elliptic.Curve, int) {
	switch a {
	case ES256:
		return elliptic.P256(), 32
	case ES384:
		return elliptic.P384(), 48
	}
	return nil, 0
}
