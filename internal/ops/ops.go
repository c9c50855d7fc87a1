package ops

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/identity"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/signing"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Options wire a Service.
type Options struct {
	Store storage.Store
	// KEK seals master keys; only RotateKey and SealKeys need it.
	KEK    *kek.Set
	Clock  clock.Clock
	Random io.Reader
	Logger *slog.Logger
	// SigningPublish and SigningRetain are the signing keys' publication
	// periods (signing.Options), from the configuration's issuer.
	SigningPublish, SigningRetain time.Duration
}

// Service carries out operations on one deployment's state.
type Service struct{ o Options }

// New returns a Service.
func New(o Options) *Service { return &Service{o: o} }

// Revocation is a revocation done.
type Revocation struct {
	ARN      string
	UniqueID string
	// Before is the time before which the principal's sessions are
	// refused (aws:TokenIssueTime, aws-sts.md section 5.11).
	Before time.Time
	// Within is how long running servers take to honour it.
	Within time.Duration
}

// RevokeSessions revokes every current session of the role or user named
// by principalARN: those issued before now are refused from then on, by
// every server. identity.ErrUnknownPrincipal if no such principal was ever
// served from this store.
func (s *Service) RevokeSessions(ctx context.Context, principalARN string) (Revocation, error) {
	// Not rounded: a session issued in this second, before now, is
	// revoked (IssuedAt is whole seconds).
	now := s.o.Clock.Now().UTC()
	id, err := identity.Revoke(ctx, s.o.Store, principalARN, now)
	if err != nil {
		return Revocation{}, err
	}
	return Revocation{ARN: principalARN, UniqueID: id, Before: now, Within: identity.RevocationDelay}, nil
}

// Key is a master key as an operator sees it: never its material.
type Key struct {
	ID        uint32
	Active    bool
	CreatedAt time.Time
	RetiredAt time.Time // zero while active
}

// Keys lists the master keys, oldest first.
func (s *Service) Keys(ctx context.Context) ([]Key, error) {
	keys, err := s.o.Store.ListMasterKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Key, len(keys))
	for i, k := range keys {
		out[i] = Key{ID: k.ID, Active: k.Active(), CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt}
	}
	return out, nil
}

// RotateKey makes a new active master key. Running servers adopt it within
// keyring's refresh interval; tokens sealed under earlier keys keep
// working until they expire.
func (s *Service) RotateKey(ctx context.Context) (Key, error) {
	if s.o.KEK == nil {
		return Key{}, errNoKEK
	}
	ring, err := keyring.Open(ctx, keyring.Options{Store: s.o.Store, KEK: s.o.KEK, Clock: s.o.Clock, Random: s.o.Random, Logger: s.o.Logger})
	if err != nil {
		return Key{}, err
	}
	k, err := ring.Rotate(ctx)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: k.ID, Active: true, CreatedAt: k.CreatedAt}, nil
}

var errNoKEK = errors.New("ops: no key-encryption key")

// RotateSigningKeys rotates the issuer's signing key of every algorithm:
// each next key, published long enough, becomes the active one, and a new
// next key is published. Running servers sign with the new keys within
// their refresh interval; tokens signed before keep verifying until they
// expire. An algorithm whose next key is too young is reported as a
// *signing.TooSoonError and the others still rotate.
func (s *Service) RotateSigningKeys(ctx context.Context) ([]signing.Rotation, error) {
	if s.o.KEK == nil {
		return nil, errNoKEK
	}
	keys, err := signing.Open(ctx, signing.Options{Store: s.o.Store, KEK: s.o.KEK, Clock: s.o.Clock, Random: s.o.Random,
		Logger: s.o.Logger, Publish: s.o.SigningPublish, Retain: s.o.SigningRetain})
	if err != nil {
		return nil, err
	}
	var done []signing.Rotation
	var errs []error
	for _, alg := range signing.Algorithms {
		r, err := keys.Rotate(ctx, alg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, r)
	}
	return done, errors.Join(errs...)
}

// SigningKeys lists the issuer's signing keys, public halves only.
func (s *Service) SigningKeys(ctx context.Context) ([]signing.Key, error) {
	stored, err := s.o.Store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	return signing.Describe(stored, s.o.SigningRetain), nil
}

// SealKeys seals the master keys that a keyless predating sealing stored
// in the clear, under the current key-encryption key, and returns how
// many. Servers refuse such keys until then.
func (s *Service) SealKeys(ctx context.Context) (int, error) {
	if s.o.KEK == nil {
		return 0, errNoKEK
	}
	return keyring.SealClearKeys(ctx, s.o.Store, s.o.KEK, s.o.Random)
}

// Audit calls fn for each stored audit record that f matches, in order.
func (s *Service) Audit(ctx context.Context, f storage.AuditFilter, fn func(storage.AuditRecord) error) error {
	return s.o.Store.QueryAudit(ctx, f, fn)
}

// VerifyAudit checks the audit trail (audit.Verify): the hash chain, the
// checkpoint kept outside the log, and the signed digests, with pub if
// given, else the public key stored beside the log. It returns what was
// checked, and the first missing or altered record.
func (s *Service) VerifyAudit(ctx context.Context, pub ed25519.PublicKey) (audit.Report, error) {
	return audit.Verify(ctx, s.o.Store, audit.VerifyOptions{PublicKey: pub})
}

// AuditPublicKey is the public key that verifies the audit digests, as
// stored: it needs no key-encryption key. storage.ErrNotFound if no server
// made one yet.
func (s *Service) AuditPublicKey(ctx context.Context) (ed25519.PublicKey, error) {
	return audit.StoredPublicKey(ctx, s.o.Store)
}
