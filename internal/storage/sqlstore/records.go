package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// PutRecord implements storage.Records. One put in 256 also deletes the
// records that have expired.
func (s *Store) PutRecord(ctx context.Context, r storage.Record, now time.Time) error {
	if err := storage.CheckRecord(r); err != nil {
		return err
	}
	prune := s.puts.Add(1)%256 == 0
	// Group-committed: a refresh writes its session's record each time,
	// and many refreshes share one commit.
	return s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) (error, error) {
		if prune {
			if _, err := tx.ExecContext(ctx, s.query("pruneRecords"), micros(now)); err != nil {
				return nil, err
			}
		}
		var version, expires int64
		get, err := s.prepared(ctx, s.query("recordVersion")+s.d.ForUpdate)
		if err != nil {
			return nil, err
		}
		err = tx.StmtContext(ctx, get).QueryRowContext(ctx, r.Kind, r.ID).Scan(&version, &expires)
		exists := err == nil
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, err
		}
		stored := version
		if !exists || expires <= micros(now) {
			stored = 0
		}
		if stored != r.Version-1 {
			return storage.ErrConflict, nil
		}
		if exists {
			err = s.execPrepared(ctx, tx, "replaceRecord", r.Owner, r.Version, micros(r.Expires), r.Data, r.Kind, r.ID)
		} else {
			err = s.execPrepared(ctx, tx, "insertRecord", r.Kind, r.ID, r.Owner, r.Version, micros(r.Expires), r.Data)
		}
		return nil, err
	})
}

// GetRecord implements storage.Records.
func (s *Store) GetRecord(ctx context.Context, kind, id string, now time.Time) (storage.Record, error) {
	r := storage.Record{Kind: kind, ID: id}
	var expires int64
	get, err := s.prepared(ctx, s.query("getRecord"))
	if err != nil {
		return storage.Record{}, err
	}
	err = get.QueryRowContext(ctx, kind, id, micros(now)).Scan(&r.Owner, &r.Version, &expires, &r.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Record{}, storage.ErrNotFound
	}
	if err != nil {
		return storage.Record{}, err
	}
	r.Expires = fromMicros(expires)
	return r, nil
}

// ListRecords implements storage.Records.
func (s *Store) ListRecords(ctx context.Context, kind, owner string, now time.Time) ([]storage.Record, error) {
	rows, err := s.db.QueryContext(ctx, s.query("listRecords"), kind, owner, micros(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Record
	for rows.Next() {
		r := storage.Record{Kind: kind, Owner: owner}
		var expires int64
		if err := rows.Scan(&r.ID, &r.Version, &expires, &r.Data); err != nil {
			return nil, err
		}
		r.Expires = fromMicros(expires)
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteRecord implements storage.Records.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.query("deleteRecord"), kind, id)
		return err
	})
}

// execPrepared runs the named statement, prepared once, in tx.
func (s *Store) execPrepared(ctx context.Context, tx *sql.Tx, name string, args ...any) error {
	st, err := s.prepared(ctx, s.query(name))
	if err != nil {
		return err
	}
	_, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	return err
}
