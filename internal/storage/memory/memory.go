package memory

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// Store keeps everything in maps behind one mutex.
type Store struct {
	mu       sync.Mutex
	keys     map[uint32]storage.MasterKey
	steps    map[string]int64
	attempts map[string]map[int64]int // by key, then window start (µs)
	ids      map[string]string
	revoked  map[string]time.Time
	once     map[string]time.Time
	sweepAt  int // UseOnce drops expired records when once reaches this size
	audit    []storage.AuditRecord
	head     [32]byte
	// checkpoint, digests and sealed are the audit trail's evidence
	// outside the log (trail.go).
	checkpoint   *storage.AuditCheckpoint
	digests      []storage.AuditDigest
	sealed       map[string]storage.SealedKey
	signing      map[string]storage.SigningKey
	integrations map[string]storage.IntegrationState
	records      map[string]storage.Record // by kind, NUL, id
	recordsSweep int                       // PutRecord drops expired records when records reaches this size
	closed       bool
}

var _ storage.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		keys:         map[uint32]storage.MasterKey{},
		steps:        map[string]int64{},
		attempts:     map[string]map[int64]int{},
		ids:          map[string]string{},
		revoked:      map[string]time.Time{},
		once:         map[string]time.Time{},
		sweepAt:      4096,
		sealed:       map[string]storage.SealedKey{},
		signing:      map[string]storage.SigningKey{},
		integrations: map[string]storage.IntegrationState{},
		records:      map[string]storage.Record{},
		recordsSweep: 1024,
	}
}

func (s *Store) lock() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return storage.ErrClosed
	}
	return nil
}

// ListMasterKeys implements storage.MasterKeys.
func (s *Store) ListMasterKeys(context.Context) ([]storage.MasterKey, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]storage.MasterKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// RotateMasterKey implements storage.MasterKeys.
func (s *Store) RotateMasterKey(_ context.Context, k storage.MasterKey, wantActive uint32) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	var active uint32
	for id, old := range s.keys {
		if old.Active() {
			active = id
		}
	}
	if _, exists := s.keys[k.ID]; exists || active != wantActive {
		return storage.ErrConflict
	}
	if active != 0 {
		old := s.keys[active]
		old.RetiredAt = k.CreatedAt
		s.keys[active] = old
	}
	k.RetiredAt = time.Time{}
	k.Sealed = bytes.Clone(k.Sealed)
	s.keys[k.ID] = k
	return nil
}

// DeleteMasterKey implements storage.MasterKeys.
func (s *Store) DeleteMasterKey(_ context.Context, id uint32) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	switch {
	case !ok:
		return storage.ErrNotFound
	case k.Active():
		return storage.ErrConflict
	}
	delete(s.keys, id)
	return nil
}

// ResealMasterKey implements storage.MasterKeys.
func (s *Store) ResealMasterKey(_ context.Context, id uint32, old, sealed []byte) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return reseal(s.keys, id, old, sealed, func(k *storage.MasterKey) *[]byte { return &k.Sealed })
}

// reseal replaces the sealed bytes of m[key] if they are still old (a
// compare-and-swap, so that two nodes re-sealing at once cannot lose a
// key): ErrNotFound without it, ErrConflict if it changed.
func reseal[K comparable, V any](m map[K]V, key K, old, sealed []byte, bytesOf func(*V) *[]byte) error {
	v, ok := m[key]
	if !ok {
		return storage.ErrNotFound
	}
	b := bytesOf(&v)
	if !bytes.Equal(*b, old) {
		return storage.ErrConflict
	}
	*b = bytes.Clone(sealed)
	m[key] = v
	return nil
}

// UseTOTPStep implements storage.MFA.
func (s *Store) UseTOTPStep(_ context.Context, serial string, step int64) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if last, ok := s.steps[serial]; ok && step <= last {
		return storage.ErrConflict
	}
	s.steps[serial] = step
	return nil
}

// UseOnce implements storage.SingleUse; expired records are dropped when
// the map has grown to twice its size after the last sweep.
func (s *Store) UseOnce(_ context.Context, key string, until, now time.Time) error {
	if len(key) == 0 || len(key) > storage.MaxSingleUseKey {
		return fmt.Errorf("single-use key of %d bytes", len(key))
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if t, ok := s.once[key]; ok && t.After(now) {
		return storage.ErrConflict
	}
	if len(s.once) >= s.sweepAt {
		for k, t := range s.once {
			if !t.After(now) {
				delete(s.once, k)
			}
		}
		// Amortized: the next sweep waits until the map has doubled.
		s.sweepAt = max(4096, 2*len(s.once))
	}
	s.once[key] = until
	return nil
}

// Used implements storage.SingleUse.
func (s *Store) Used(_ context.Context, key string, now time.Time) (bool, error) {
	if len(key) == 0 || len(key) > storage.MaxSingleUseKey {
		return false, fmt.Errorf("single-use key of %d bytes", len(key))
	}
	if err := s.lock(); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	t, ok := s.once[key]
	return ok && t.After(now), nil
}

// TakeAttempt implements storage.Attempts; the key's earlier windows are
// dropped.
func (s *Store) TakeAttempt(_ context.Context, key string, window time.Time) (int, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	w := window.UnixMicro()
	counts := s.attempts[key]
	if counts == nil {
		counts = map[int64]int{}
		s.attempts[key] = counts
	}
	for old := range counts {
		if old < w {
			delete(counts, old)
		}
	}
	counts[w]++
	return counts[w], nil
}

// ReturnAttempt implements storage.Attempts; a count that reaches zero is
// dropped.
func (s *Store) ReturnAttempt(_ context.Context, key string, window time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	w := window.UnixMicro()
	counts := s.attempts[key]
	if counts[w] > 1 {
		counts[w]--
		return nil
	}
	delete(counts, w)
	if len(counts) == 0 {
		delete(s.attempts, key)
	}
	return nil
}

// ClaimID implements storage.IDs.
func (s *Store) ClaimID(_ context.Context, key, proposed string) (string, error) {
	if err := s.lock(); err != nil {
		return "", err
	}
	defer s.mu.Unlock()
	if id, ok := s.ids[key]; ok {
		return id, nil
	}
	s.ids[key] = proposed
	return proposed, nil
}

// RevokeSessions implements storage.Revocations.
func (s *Store) RevokeSessions(_ context.Context, principal string, before time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if before.After(s.revoked[principal]) {
		s.revoked[principal] = before.UTC()
	}
	return nil
}

// SessionRevocations implements storage.Revocations.
func (s *Store) SessionRevocations(context.Context) (map[string]time.Time, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(s.revoked))
	for k, v := range s.revoked {
		out[k] = v
	}
	return out, nil
}

// ReleaseID implements storage.IDs.
func (s *Store) ReleaseID(_ context.Context, key string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.ids, key)
	return nil
}

// ListIDs implements storage.IDs.
func (s *Store) ListIDs(_ context.Context, prefix string) (map[string]string, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.ids {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out, nil
}

// AppendAudit implements storage.AuditLog.
func (s *Store) AppendAudit(_ context.Context, recs []storage.AuditRecord) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for i := range recs {
		r := &recs[i]
		r.Seq = int64(len(s.audit)) + 1
		r.Hash = storage.ChainHash(s.head, *r)
		s.head = r.Hash
		stored := *r
		stored.JSON = bytes.Clone(r.JSON)
		s.audit = append(s.audit, stored)
	}
	return nil
}

// QueryAudit implements storage.AuditLog.
func (s *Store) QueryAudit(ctx context.Context, f storage.AuditFilter, fn func(storage.AuditRecord) error) error {
	if err := s.lock(); err != nil {
		return err
	}
	var matched []storage.AuditRecord
	for _, r := range s.audit {
		if storage.Matches(f, r) {
			matched = append(matched, r)
			if f.Limit > 0 && len(matched) == f.Limit {
				break
			}
		}
	}
	s.mu.Unlock()
	for _, r := range matched {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Ping implements storage.Store.
func (s *Store) Ping(context.Context) error {
	if err := s.lock(); err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

// Close implements storage.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}
