// Package sqlite is keyless's embedded default storage backend: a single
// SQLite database file in the data directory, through the pure-Go
// modernc.org/sqlite driver (no cgo, no server). It runs the shared SQL of
// package sqlstore in WAL mode with synchronous=FULL, so a committed write
// survives a crash of the process or the machine.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyless-dev/keyless/internal/storage/sqlstore"
)

// FileName is the database file inside the data directory.
const FileName = "keyless.db"

// Open opens (creating if needed) the database in dir. The directory is made
// private to the owner: it holds the master keys.
func Open(ctx context.Context, dir string) (*sqlstore.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
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
	s, err := sqlstore.New(ctx, db, dialect)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

var dialect = sqlstore.Dialect{
	Name:        "sqlite",
	Bytes:       "BLOB",
	Placeholder: func(int) string { return "?" },
	ForUpdate:   "", // BEGIN IMMEDIATE already holds the write lock
	Retryable: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
	},
	WriteTx: func(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
		return db.BeginTx(ctx, nil) // _txlock=immediate
	},
}
