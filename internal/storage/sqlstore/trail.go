package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/keyless-dev/keyless/internal/storage"
)

// SaveAuditCheckpoint implements storage.AuditCheckpoints: the row moves
// only forward, in one write transaction.
func (s *Store) SaveAuditCheckpoint(ctx context.Context, c storage.AuditCheckpoint) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		cur, err := scanCheckpoint(tx.QueryRowContext(ctx, s.query("checkpoint")+s.d.ForUpdate))
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return err
		case c.Seq < cur.Seq:
			return nil
		case c.Seq == cur.Seq && c.Hash != cur.Hash:
			return storage.ErrConflict
		case c.Seq == cur.Seq:
			return nil
		}
		_, err = tx.ExecContext(ctx, s.query("saveCheck"), c.Seq, c.Hash[:], micros(c.Time))
		return err
	})
}

// AuditCheckpoint implements storage.AuditCheckpoints.
func (s *Store) AuditCheckpoint(ctx context.Context) (storage.AuditCheckpoint, error) {
	return scanCheckpoint(s.db.QueryRowContext(ctx, s.query("checkpoint")))
}

func scanCheckpoint(row *sql.Row) (storage.AuditCheckpoint, error) {
	var (
		c    storage.AuditCheckpoint
		hash []byte
		us   int64
	)
	err := row.Scan(&c.Seq, &hash, &us)
	if errors.Is(err, sql.ErrNoRows) {
		return c, storage.ErrNotFound
	}
	if err != nil {
		return c, err
	}
	if len(hash) != len(c.Hash) {
		return c, errors.New("audit checkpoint: malformed hash")
	}
	copy(c.Hash[:], hash)
	c.Time = fromMicros(us)
	return c, nil
}

// AddAuditDigest implements storage.AuditDigests.
func (s *Store) AddAuditDigest(ctx context.Context, d storage.AuditDigest) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var last int64
		if err := tx.QueryRowContext(ctx, s.query("lastDigest")).Scan(&last); err != nil {
			return err
		}
		if d.Seq != last+1 {
			return storage.ErrConflict
		}
		_, err := tx.ExecContext(ctx, s.query("addDigest"), d.Seq, nonNil(d.Body), nonNil(d.Signature))
		return err
	})
}

// ListAuditDigests implements storage.AuditDigests, a page at a time so
// that no read stays open while fn runs.
func (s *Store) ListAuditDigests(ctx context.Context, fn func(storage.AuditDigest) error) error {
	var after int64
	for {
		page, err := s.digestPage(ctx, after)
		if err != nil {
			return err
		}
		for _, d := range page {
			if err := fn(d); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

func (s *Store) digestPage(ctx context.Context, after int64) ([]storage.AuditDigest, error) {
	rows, err := s.db.QueryContext(ctx, s.query("digests"), after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.AuditDigest
	for rows.Next() {
		var d storage.AuditDigest
		if err := rows.Scan(&d.Seq, &d.Body, &d.Signature); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimSealedKey implements storage.SealedKeys: insert unless present,
// then read what is stored, in one write transaction.
func (s *Store) ClaimSealedKey(ctx context.Context, name string, proposed storage.SealedKey) (storage.SealedKey, error) {
	var k storage.SealedKey
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.query("claimKey"), name, nonNil(proposed.Public), nonNil(proposed.Sealed)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.query("sealedKey"), name).Scan(&k.Public, &k.Sealed)
	})
	return k, err
}

// SealedKey implements storage.SealedKeys.
func (s *Store) SealedKey(ctx context.Context, name string) (storage.SealedKey, error) {
	var k storage.SealedKey
	err := s.db.QueryRowContext(ctx, s.query("sealedKey"), name).Scan(&k.Public, &k.Sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return k, storage.ErrNotFound
	}
	return k, err
}

// ResealKey implements storage.SealedKeys.
func (s *Store) ResealKey(ctx context.Context, name string, old, sealed []byte) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.query("resealNamed"), nonNil(sealed), name, old)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var k storage.SealedKey
		err = tx.QueryRowContext(ctx, s.query("sealedKey"), name).Scan(&k.Public, &k.Sealed)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("sealed key %s: %w", name, err)
		}
		return storage.ErrConflict
	})
}

// nonNil keeps a NOT NULL bytes column from binding nil as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
