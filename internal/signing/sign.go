package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"strings"
)

// ErrNoKey means an algorithm has no active key.
var ErrNoKey = errors.New("signing: no active key for the algorithm")

// Sign returns the compact JWS (RFC 7515 section 7.1) of payload, a JSON
// claims set, under alg's active key: header {"alg","kid","typ":"JWT"}.
func (k *Keys) Sign(alg Algorithm, payload []byte) (string, error) {
	e := k.cur.Load().active[alg]
	if e == nil {
		return "", ErrNoKey
	}
	var b strings.Builder
	b.Grow(len(e.header) + b64.EncodedLen(len(payload)) + 1 + 2*b64.EncodedLen(256))
	b.WriteString(e.header)
	b.WriteString(b64.EncodeToString(payload))
	sig, err := signature(e, []byte(b.String()))
	if err != nil {
		return "", err
	}
	b.WriteByte('.')
	b.WriteString(b64.EncodeToString(sig))
	return b.String(), nil
}

// signature signs input as RFC 7518 section 3 says: RSASSA-PKCS1-v1_5
// with SHA-256 for RS256; for ES256 and ES384, ECDSA with SHA-256 or
// SHA-384 and the signature as R || S, each the curve's size.
func signature(e *key, input []byte) ([]byte, error) {
	switch e.alg {
	case RS256:
		sum := sha256.Sum256(input)
		return e.signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	case ES256, ES384:
		var digest []byte
		if e.alg == ES256 {
			sum := sha256.Sum256(input)
			digest = sum[:]
		} else {
			sum := sha512.Sum384(input)
			digest = sum[:]
		}
		priv, ok := e.signer.(*ecdsa.PrivateKey)
		if !ok {
			return nil, ErrTampered
		}
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest)
		if err != nil {
			return nil, err
		}
		_, size := e.alg.curve()
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	}
	return nil, ErrNoKey
}
