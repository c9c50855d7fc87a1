package embedded

import (
	"context"
	"database/sql"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyless-dev/keyless/internal/storage/sqlstore"
)

var dialect = sqlstore.Dialect{
	Name:        "sqlite",
	Bytes:       "BLOB",
	SeqKey:      "INTEGER PRIMARY KEY", // the rowid
	Placeholder: func(int) string { return "?" },
	ForUpdate:   "", // BEGIN IMMEDIATE already holds the write lock
	Retryable: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED)
	},
	WriteTx: func(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
		return db.BeginTx(ctx, nil) // _txlock=immediate
	},
	OneWriter: true,
}
