package idtoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"math/big"
)

// VerifySignature checks a JWS signature (RFC 7515 section 5.2) over input
// with pub for alg, as RFC 7518 section 3 defines each algorithm: RSASSA
// PKCS #1 v1.5 (RS*), RSASSA-PSS with a salt as long as the hash (PS*),
// ECDSA with the fixed-length R||S encoding (ES*; a DER signature is
// refused), and Ed25519 (RFC 8037). The caller has matched alg to the key
// type (fits).
func VerifySignature(alg string, pub crypto.PublicKey, input, sig []byte) bool {
	if k, ok := pub.(ed25519.PublicKey); ok {
		return alg == "EdDSA" && ed25519.Verify(k, input, sig)
	}
	var h crypto.Hash
	var digest []byte
	switch alg[2:] {
	case "256":
		d := sha256.Sum256(input)
		h, digest = crypto.SHA256, d[:]
	case "384":
		d := sha512.Sum384(input)
		h, digest = crypto.SHA384, d[:]
	case "512":
		d := sha512.Sum512(input)
		h, digest = crypto.SHA512, d[:]
	default:
		return false
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch alg[:2] {
		case "RS":
			return rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
		case "PS":
			return rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}) == nil
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if alg[:2] != "ES" || len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest, r, s) // refuses r, s outside [1, n-1]
	}
	return false
}
