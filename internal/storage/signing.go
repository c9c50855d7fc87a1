package storage

import (
	"context"
	"time"
)

// SigningKey is a key pair that signs the tokens keyless issues as an
// OpenID Connect issuer. Each algorithm has at most one next key
// (published in the key set, signing nothing yet), at most one active key
// (signing), and any number of retired keys (published until the tokens
// they signed have expired). Backends store the private key only sealed
// (package kek); the public key is in the clear.
type SigningKey struct {
	ID        string // the JWK "kid"
	Algorithm string // a JWS "alg": RS256, ES256, ES384
	Public    []byte // PKIX, DER
	Sealed    []byte // PKCS #8, DER, sealed
	// CreatedAt is when the key was stored, and so published.
	CreatedAt time.Time
	// ActivatedAt is when it began to sign; zero for the next key.
	ActivatedAt time.Time
	// RetiredAt is when it stopped signing; zero unless retired.
	RetiredAt time.Time
}

// SigningKeyState is where a key is in its life.
type SigningKeyState string

// States of a signing key.
const (
	SigningKeyNext    SigningKeyState = "next"
	SigningKeyActive  SigningKeyState = "active"
	SigningKeyRetired SigningKeyState = "retired"
)

// State says where k is in its life.
func (k SigningKey) State() SigningKeyState {
	switch {
	case !k.RetiredAt.IsZero():
		return SigningKeyRetired
	case !k.ActivatedAt.IsZero():
		return SigningKeyActive
	}
	return SigningKeyNext
}

// SigningKeys stores the issuer's signing keys. Every change is a
// compare-and-swap, so that nodes rotating at once never leave an
// algorithm with two next or two active keys.
type SigningKeys interface {
	// ListSigningKeys returns every stored key, oldest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey stores k, which must be neither activated nor
	// retired, as its algorithm's next key. ErrConflict if the algorithm
	// has a next key already, or the id is taken.
	AddSigningKey(ctx context.Context, k SigningKey) error
	// ActivateSigningKey makes the next key id the active key of its
	// algorithm at at, retires the algorithm's active key at the same
	// time, and stores next as the algorithm's new next key, all at once,
	// provided the active key's id is wantActive ("": there is none).
	// ErrNotFound if id is absent; ErrConflict if id is not the next key,
	// the active key is not wantActive, next is of another algorithm or
	// not new, or its id is taken.
	ActivateSigningKey(ctx context.Context, id, wantActive string, at time.Time, next SigningKey) error
	// DeleteSigningKey removes a retired key. ErrNotFound if absent;
	// ErrConflict if it is not retired.
	DeleteSigningKey(ctx context.Context, id string) error
	// ResealSigningKey replaces key id's sealed form with sealed, if it
	// is still old. ErrNotFound if absent; ErrConflict if it is no
	// longer old.
	ResealSigningKey(ctx context.Context, id string, old, sealed []byte) error
}
