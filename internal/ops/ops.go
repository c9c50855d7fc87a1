package ops

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/identity"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Options wire a Service.
type Options struct {
	Store  storage.Store
	Clock  clock.Clock
	Random io.Reader
	Logger *slog.Logger
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
	ring, err := keyring.Open(ctx, keyring.Options{Store: s.o.Store, Clock: s.o.Clock, Random: s.o.Random, Logger: s.o.Logger})
	if err != nil {
		return Key{}, err
	}
	k, err := ring.Rotate(ctx)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: k.ID, Active: true, CreatedAt: k.CreatedAt}, nil
}

// Audit calls fn for each stored audit record that f matches, in order.
func (s *Service) Audit(ctx context.Context, f storage.AuditFilter, fn func(storage.AuditRecord) error) error {
	return s.o.Store.QueryAudit(ctx, f, fn)
}

// VerifyAudit walks the hash chain and returns the number of intact
// records, or the first missing or altered one.
func (s *Service) VerifyAudit(ctx context.Context) (int64, error) {
	return audit.VerifyChain(ctx, s.o.Store)
}
