package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/auditfile"
	"github.com/keyless-dev/keyless/internal/storage/sqlstore"
)

// Files inside the data directory.
const (
	DatabaseFile = "keyless.db"
	AuditFile    = "audit.log"
)

// Options tune the embedded backend.
type Options struct {
	// MustExist refuses a data directory that does not exist yet, or
	// holds no keyless.db, instead of creating it: offline commands
	// (keyless audit, keys, sessions) must never create an empty one in
	// the wrong place.
	MustExist bool
	// AuditInDatabase keeps audit events in keyless.db's audit table
	// instead of audit.log (the shared SQL a SQL backend uses).
	AuditInDatabase bool
}

// Store is the embedded backend.
type Store struct {
	*sqlstore.Store
	file *auditfile.Log // nil when audit events are in the database
}

var _ storage.Store = (*Store)(nil)

// Open opens the store in dir, creating the directory unless o.MustExist.
func Open(ctx context.Context, dir string, o Options) (*Store, error) {
	if o.MustExist {
		fi, err := os.Stat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data directory %s does not exist: %w", dir, fs.ErrNotExist)
		}
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("data directory %s is not a directory", dir)
		}
		if _, err := os.Stat(filepath.Join(dir, DatabaseFile)); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data directory %s has no %s; no keyless server has used it: %w", dir, DatabaseFile, fs.ErrNotExist)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, DatabaseFile)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	tables, err := sqlstore.New(ctx, db, dialect)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{Store: tables}
	if !o.AuditInDatabase {
		if s.file, err = auditfile.Open(filepath.Join(dir, AuditFile)); err != nil {
			tables.Close()
			return nil, err
		}
	}
	return s, nil
}

// AppendAudit implements storage.AuditLog in audit.log, or in the database
// with Options.AuditInDatabase.
func (s *Store) AppendAudit(ctx context.Context, recs []storage.AuditRecord) error {
	if s.file != nil {
		return s.file.AppendAudit(ctx, recs)
	}
	return s.Store.AppendAudit(ctx, recs)
}

// QueryAudit implements storage.AuditLog where AppendAudit stores.
func (s *Store) QueryAudit(ctx context.Context, f storage.AuditFilter, fn func(storage.AuditRecord) error) error {
	if s.file != nil {
		return s.file.QueryAudit(ctx, f, fn)
	}
	return s.Store.QueryAudit(ctx, f, fn)
}

// Close implements storage.Store.
func (s *Store) Close() error {
	var err error
	if s.file != nil {
		err = s.file.Close()
	}
	return errors.Join(err, s.Store.Close())
}
