package memory

import (
	"bytes"
	"context"

	"github.com/keyless-dev/keyless/internal/storage"
)

// SaveAuditCheckpoint implements storage.AuditCheckpoints.
func (s *Store) SaveAuditCheckpoint(_ context.Context, c storage.AuditCheckpoint) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	switch cur := s.checkpoint; {
	case cur == nil || c.Seq > cur.Seq:
		s.checkpoint = &c
	case c.Seq == cur.Seq && c.Hash != cur.Hash:
		return storage.ErrConflict
	}
	return nil
}

// AuditCheckpoint implements storage.AuditCheckpoints.
func (s *Store) AuditCheckpoint(context.Context) (storage.AuditCheckpoint, error) {
	if err := s.lock(); err != nil {
		return storage.AuditCheckpoint{}, err
	}
	defer s.mu.Unlock()
	if s.checkpoint == nil {
		return storage.AuditCheckpoint{}, storage.ErrNotFound
	}
	return *s.checkpoint, nil
}

// AddAuditDigest implements storage.AuditDigests.
func (s *Store) AddAuditDigest(_ context.Context, d storage.AuditDigest) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if d.Seq != int64(len(s.digests))+1 {
		return storage.ErrConflict
	}
	s.digests = append(s.digests, storage.AuditDigest{Seq: d.Seq, Body: bytes.Clone(d.Body), Signature: bytes.Clone(d.Signature)})
	return nil
}

// ListAuditDigests implements storage.AuditDigests.
func (s *Store) ListAuditDigests(ctx context.Context, fn func(storage.AuditDigest) error) error {
	if err := s.lock(); err != nil {
		return err
	}
	ds := s.digests[:len(s.digests):len(s.digests)]
	s.mu.Unlock()
	for _, d := range ds {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// ClaimSealedKey implements storage.SealedKeys.
func (s *Store) ClaimSealedKey(_ context.Context, name string, proposed storage.SealedKey) (storage.SealedKey, error) {
	if err := s.lock(); err != nil {
		return storage.SealedKey{}, err
	}
	defer s.mu.Unlock()
	if k, ok := s.sealed[name]; ok {
		return k, nil
	}
	k := storage.SealedKey{Public: bytes.Clone(proposed.Public), Sealed: bytes.Clone(proposed.Sealed)}
	s.sealed[name] = k
	return k, nil
}

// SealedKey implements storage.SealedKeys.
func (s *Store) SealedKey(_ context.Context, name string) (storage.SealedKey, error) {
	if err := s.lock(); err != nil {
		return storage.SealedKey{}, err
	}
	defer s.mu.Unlock()
	k, ok := s.sealed[name]
	if !ok {
		return storage.SealedKey{}, storage.ErrNotFound
	}
	return k, nil
}

// ResealKey implements storage.SealedKeys.
func (s *Store) ResealKey(_ context.Context, name string, old, sealed []byte) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return reseal(s.sealed, name, old, sealed, func(k *storage.SealedKey) *[]byte { return &k.Sealed })
}
