package memory

import (
	"bytes"
	"context"
	"sort"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// ListSigningKeys implements storage.SigningKeys.
func (s *Store) ListSigningKeys(context.Context) ([]storage.SigningKey, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]storage.SigningKey, 0, len(s.signing))
	for _, k := range s.signing {
		k.Public, k.Sealed = bytes.Clone(k.Public), bytes.Clone(k.Sealed)
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// inState returns the id of alg's key in state st, "" if none.
func (s *Store) inState(alg string, st storage.SigningKeyState) string {
	for id, k := range s.signing {
		if k.Algorithm == alg && k.State() == st {
			return id
		}
	}
	return ""
}

// AddSigningKey implements storage.SigningKeys.
func (s *Store) AddSigningKey(_ context.Context, k storage.SigningKey) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, taken := s.signing[k.ID]; taken || k.State() != storage.SigningKeyNext || s.inState(k.Algorithm, storage.SigningKeyNext) != "" {
		return storage.ErrConflict
	}
	k.Public, k.Sealed = bytes.Clone(k.Public), bytes.Clone(k.Sealed)
	k.CreatedAt = k.CreatedAt.UTC()
	s.signing[k.ID] = k
	return nil
}

// ActivateSigningKey implements storage.SigningKeys.
func (s *Store) ActivateSigningKey(_ context.Context, id, wantActive string, at time.Time, next storage.SigningKey) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	k, ok := s.signing[id]
	if !ok {
		return storage.ErrNotFound
	}
	active := s.inState(k.Algorithm, storage.SigningKeyActive)
	_, taken := s.signing[next.ID]
	if k.State() != storage.SigningKeyNext || active != wantActive || taken ||
		next.Algorithm != k.Algorithm || next.State() != storage.SigningKeyNext {
		return storage.ErrConflict
	}
	at = at.UTC()
	if active != "" {
		old := s.signing[active]
		old.RetiredAt = at
		s.signing[active] = old
	}
	k.ActivatedAt = at
	s.signing[id] = k
	next.Public, next.Sealed = bytes.Clone(next.Public), bytes.Clone(next.Sealed)
	next.CreatedAt = next.CreatedAt.UTC()
	s.signing[next.ID] = next
	return nil
}

// DeleteSigningKey implements storage.SigningKeys.
func (s *Store) DeleteSigningKey(_ context.Context, id string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	k, ok := s.signing[id]
	switch {
	case !ok:
		return storage.ErrNotFound
	case k.State() != storage.SigningKeyRetired:
		return storage.ErrConflict
	}
	delete(s.signing, id)
	return nil
}

// ResealSigningKey implements storage.SigningKeys.
func (s *Store) ResealSigningKey(_ context.Context, id string, old, sealed []byte) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return reseal(s.signing, id, old, sealed, func(k *storage.SigningKey) *[]byte { return &k.Sealed })
}

// ListIntegrationStates implements storage.IntegrationStates.
func (s *Store) ListIntegrationStates(context.Context) ([]storage.IntegrationState, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]storage.IntegrationState, 0, len(s.integrations))
	for _, st := range s.integrations {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PutIntegrationState implements storage.IntegrationStates.
func (s *Store) PutIntegrationState(_ context.Context, st storage.IntegrationState) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.integrations[st.ID].Version != st.Version-1 {
		return storage.ErrConflict
	}
	s.integrations[st.ID] = st
	return nil
}
