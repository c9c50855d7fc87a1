// Package idtokentest signs tokens for tests: well-formed ID tokens and,
// through Raw, any header and payload, so that hostile inputs can be built.
package idtokentest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
)

// Signer is a test identity provider's signing key.
type Signer struct {
	KID string
	Alg string // RS256, PS256, ES256 or EdDSA
	key crypto.Signer
}

// NewRSA returns an RS256 signer with a 2048-bit key.
func NewRSA(kid string) *Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return &Signer{KID: kid, Alg: "RS256", key: k}
}

// NewEC returns an ES256 signer.
func NewEC(kid string) *Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Signer{KID: kid, Alg: "ES256", key: k}
}

// NewEd25519 returns an EdDSA signer.
func NewEd25519(kid string) *Signer {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Signer{KID: kid, Alg: "EdDSA", key: k}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// JWK is the signer's public key as a JSON Web Key.
func (s *Signer) JWK() map[string]any {
	m := map[string]any{"kid": s.KID, "use": "sig", "alg": s.Alg}
	switch k := s.key.Public().(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		b, _ := k.Bytes()
		m["kty"], m["crv"], m["x"], m["y"] = "EC", "P-256", b64(b[1:33]), b64(b[33:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64(k)
	}
	return m
}

// JWKS is a key set of these signers' public keys.
func JWKS(signers ...*Signer) []byte {
	keys := []any{}
	for _, s := range signers {
		keys = append(keys, s.JWK())
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// Sign signs claims with a header {"alg", "kid", "typ": "JWT"}.
func (s *Signer) Sign(claims map[string]any) string {
	h, _ := json.Marshal(map[string]any{"alg": s.Alg, "kid": s.KID, "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return s.Raw(h, p)
}

// Raw signs exactly this header and payload JSON with the signer's key and
// algorithm (whatever alg the header claims).
func (s *Signer) Raw(header, payload []byte) string {
	input := b64(header) + "." + b64(payload)
	return input + "." + b64(s.signature([]byte(input)))
}

func (s *Signer) signature(input []byte) []byte {
	sum := sha256.Sum256(input)
	var sig []byte
	var err error
	switch k := s.key.(type) {
	case *rsa.PrivateKey:
		if s.Alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, k, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) // RFC 7518 section 3.5
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
		}
	case *ecdsa.PrivateKey:
		var r, ss *big.Int
		if r, ss, err = ecdsa.Sign(rand.Reader, k, sum[:]); err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			ss.FillBytes(sig[32:])
		}
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, input)
	}
	if err != nil {
		panic(err)
	}
	return sig
}
