package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// Store is the embedded backend.
type Store struct {
	*sqlstore.Store
	*auditfile.Log
}

var _ storage.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
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
	log, err := auditfile.Open(filepath.Join(dir, AuditFile))
	if err != nil {
		tables.Close()
		return nil, err
	}
	return &Store{Store: tables, Log: log}, nil
}

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error { return s.Store.Ping(ctx) }

// Close implements storage.Store.
func (s *Store) Close() error { return errors.Join(s.Log.Close(), s.Store.Close()) }
