package memory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

func recordKey(kind, id string) string { return kind + "\x00" + id }

// PutRecord implements storage.Records.
func (s *Store) PutRecord(_ context.Context, r storage.Record, now time.Time) error {
	if err := storage.CheckRecord(r); err != nil {
		return err
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	k := recordKey(r.Kind, r.ID)
	var stored int64
	if old, ok := s.records[k]; ok && old.Expires.After(now) {
		stored = old.Version
	}
	if stored != r.Version-1 {
		return storage.ErrConflict
	}
	r.Data = slices.Clone(r.Data)
	s.records[k] = r
	if len(s.records) >= s.recordsSweep {
		for k, old := range s.records {
			if !old.Expires.After(now) {
				delete(s.records, k)
			}
		}
		s.recordsSweep = max(1024, 2*len(s.records))
	}
	return nil
}

// GetRecord implements storage.Records.
func (s *Store) GetRecord(_ context.Context, kind, id string, now time.Time) (storage.Record, error) {
	if err := s.lock(); err != nil {
		return storage.Record{}, err
	}
	defer s.mu.Unlock()
	r, ok := s.records[recordKey(kind, id)]
	if !ok || !r.Expires.After(now) {
		return storage.Record{}, storage.ErrNotFound
	}
	r.Data = slices.Clone(r.Data)
	return r, nil
}

// ListRecords implements storage.Records.
func (s *Store) ListRecords(_ context.Context, kind, owner string, now time.Time) ([]storage.Record, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []storage.Record
	for _, r := range s.records {
		if r.Kind == kind && r.Owner == owner && r.Expires.After(now) {
			r.Data = slices.Clone(r.Data)
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b storage.Record) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteRecord implements storage.Records.
func (s *Store) DeleteRecord(_ context.Context, kind, id string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.records, recordKey(kind, id))
	return nil
}
