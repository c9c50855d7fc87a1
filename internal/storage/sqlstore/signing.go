package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// ListSigningKeys implements storage.SigningKeys.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, s.query("listSigning"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.SigningKey
	for rows.Next() {
		var (
			k                  storage.SigningKey
			created            int64
			activated, retired sql.NullInt64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Public, &k.Sealed, &created, &activated, &retired); err != nil {
			return nil, err
		}
		k.CreatedAt = fromMicros(created)
		if activated.Valid {
			k.ActivatedAt = fromMicros(activated.Int64)
		}
		if retired.Valid {
			k.RetiredAt = fromMicros(retired.Int64)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// signingIn returns the id of alg's key in state st, "" if none, locking
// the row where the dialect can.
func (s *Store) signingIn(ctx context.Context, tx *sql.Tx, alg string, st storage.SigningKeyState) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, s.query("signingIn")+s.d.ForUpdate, alg, string(st)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// AddSigningKey implements storage.SigningKeys.
func (s *Store) AddSigningKey(ctx context.Context, k storage.SigningKey) error {
	if k.State() != storage.SigningKeyNext {
		return storage.ErrConflict
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		next, err := s.signingIn(ctx, tx, k.Algorithm, storage.SigningKeyNext)
		if err != nil {
			return err
		}
		var alg, st string
		err = tx.QueryRowContext(ctx, s.query("signingState"), k.ID).Scan(&alg, &st)
		switch {
		case err == nil || next != "":
			return storage.ErrConflict
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, s.query("addSigning"), k.ID, k.Algorithm, nonNil(k.Public), nonNil(k.Sealed), micros(k.CreatedAt))
		return err
	})
}

// ActivateSigningKey implements storage.SigningKeys.
func (s *Store) ActivateSigningKey(ctx context.Context, id, wantActive string, at time.Time, next storage.SigningKey) error {
	if next.State() != storage.SigningKeyNext {
		return storage.ErrConflict
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var alg, st string
		err := tx.QueryRowContext(ctx, s.query("signingState")+s.d.ForUpdate, id).Scan(&alg, &st)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return storage.ErrNotFound
		case err != nil:
			return err
		case st != string(storage.SigningKeyNext) || next.Algorithm != alg:
			return storage.ErrConflict
		}
		var a2, s2 string
		switch err := tx.QueryRowContext(ctx, s.query("signingState"), next.ID).Scan(&a2, &s2); {
		case err == nil:
			return storage.ErrConflict
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		active, err := s.signingIn(ctx, tx, alg, storage.SigningKeyActive)
		if err != nil {
			return err
		}
		if active != wantActive {
			return storage.ErrConflict
		}
		if active != "" {
			if _, err := tx.ExecContext(ctx, s.query("retireSigning"), micros(at), active); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.query("activateSigning"), micros(at), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.query("addSigning"), next.ID, next.Algorithm, nonNil(next.Public), nonNil(next.Sealed), micros(next.CreatedAt))
		return err
	})
}

// DeleteSigningKey implements storage.SigningKeys.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var alg, st string
		err := tx.QueryRowContext(ctx, s.query("signingState"), id).Scan(&alg, &st)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return storage.ErrNotFound
		case err != nil:
			return err
		case st != string(storage.SigningKeyRetired):
			return storage.ErrConflict
		}
		_, err = tx.ExecContext(ctx, s.query("deleteSigning"), id)
		return err
	})
}

// ResealSigningKey implements storage.SigningKeys.
func (s *Store) ResealSigningKey(ctx context.Context, id string, old, sealed []byte) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.query("resealSigning"), nonNil(sealed), id, old)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var alg, st string
		err = tx.QueryRowContext(ctx, s.query("signingState"), id).Scan(&alg, &st)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		return storage.ErrConflict
	})
}
