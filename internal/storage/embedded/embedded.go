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
	"syscall"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/auditfile"
	"github.com/keyless-dev/keyless/internal/storage/sqlstore"
)

// Files inside the data directory.
const (
	DatabaseFile = "keyless.db"
	// AuditDir holds the audit log's segments (package auditfile).
	AuditDir = "audit"
	// AuditFile is the single audit file of earlier versions, read as
	// the log's first segment until it is compressed into AuditDir.
	AuditFile = "audit.log"
)

// Options tune the embedded backend.
type Options struct {
	// MustExist refuses a data directory that does not exist yet, or
	// holds no keyless.db, instead of creating it: offline commands
	// (keyless audit, keys, sessions) must never create an empty one in
	// the wrong place.
	MustExist bool
	// AuditInDatabase keeps audit events in keyless.db's audit table
	// instead of the audit directory (the shared SQL a SQL backend uses).
	AuditInDatabase bool
	// AuditSegmentMaxBytes and AuditSegmentMaxAge bound the audit log's
	// open segment (auditfile.Options); 0: no bound.
	AuditSegmentMaxBytes int64
	AuditSegmentMaxAge   time.Duration
	// Init creates keyless.db even though the directory holds an audit
	// trail: an operator's deliberate choice to start a new store after
	// losing the old one (serve --init). Without it, that state is refused.
	Init bool
}

// ErrInconsistent is returned when the data directory's files do not
// belong together: something was lost, and starting anyway would silently
// recreate it.
var ErrInconsistent = errors.New("the data directory's state is inconsistent")

// Store is the embedded backend.
type Store struct {
	*sqlstore.Store
	file *auditfile.Log // nil when audit events are in the database
	dir  string
	// files are the directory and files as opened: Ping reports any that
	// was removed or replaced since.
	files []opened
	// reinit is what Options.Init started anew despite (nil: nothing).
	reinit error
}

// opened is a file as Open found it.
type opened struct {
	path string
	info os.FileInfo
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
	var reinit error
	if !o.MustExist {
		reinit = consistent(dir)
		switch {
		case errors.Is(reinit, ErrInconsistent) && !o.Init:
			return nil, fmt.Errorf("%w. Restore %s from the backup that goes with the audit trail; or, to start a new store beside "+
				"the old trail, start once with --init (sessions issued before are then invalid, and users and roles get new unique ids)",
				reinit, DatabaseFile)
		case reinit != nil && !errors.Is(reinit, ErrInconsistent):
			return nil, reinit
		}
	}
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
	s := &Store{Store: tables, dir: dir, reinit: reinit}
	watch := []string{dir, path}
	if !o.AuditInDatabase {
		s.file, err = auditfile.Open(filepath.Join(dir, AuditDir), auditfile.Options{
			SegmentMaxBytes: o.AuditSegmentMaxBytes, SegmentMaxAge: o.AuditSegmentMaxAge, Legacy: filepath.Join(dir, AuditFile)})
		if err != nil {
			tables.Close()
			return nil, err
		}
		watch = append(watch, s.file.Dir())
	}
	for _, p := range watch {
		fi, err := os.Stat(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.files = append(s.files, opened{p, fi})
	}
	return s, nil
}

// consistent refuses a directory whose database is missing or empty while
// its audit trail holds events: the master keys, MFA state and unique ids
// are gone, and a new database would hide that.
func consistent(dir string) error {
	db, err := os.Stat(filepath.Join(dir, DatabaseFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err == nil && db.Size() > 0 {
		return nil
	}
	trail, err := trailBytes(dir)
	if err != nil {
		return err
	}
	if trail == 0 {
		return nil // a new data directory
	}
	return fmt.Errorf("%w: %s holds an audit trail (%s, %d bytes) but %s is missing or empty, so the master keys, MFA state and "+
		"unique ids are gone", ErrInconsistent, dir, AuditDir, trail, DatabaseFile)
}

// Reinitialized is the inconsistency Options.Init started a new store
// despite, or nil when the directory's state was consistent and Init
// changed nothing.
func (s *Store) Reinitialized() error { return s.reinit }

// Start implements storage.Starter: the audit log is locked and its last
// record read as the server starts.
func (s *Store) Start(ctx context.Context) error {
	if s.file == nil {
		return nil
	}
	if err := s.file.Start(ctx); err != nil {
		return fmt.Errorf("audit trail in %s: %w", s.file.Dir(), err)
	}
	return nil
}

// Ping implements storage.Store: the directory and its files are the
// ones opened (not removed, not replaced), and the database takes writes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.intact(); err != nil {
		return err
	}
	return s.Store.Ping(ctx)
}

// intact reports a directory or file removed or replaced since Open, the
// open audit segment included.
func (s *Store) intact() error {
	if err := s.unmoved(); err != nil {
		return err
	}
	if s.file != nil {
		return s.file.Intact() // the open audit segment, which rotation replaces
	}
	return nil
}

// unmoved reports the data directory, keyless.db or the audit directory
// removed or replaced since Open.
func (s *Store) unmoved() error {
	for _, f := range s.files {
		fi, err := os.Stat(f.path)
		if err != nil {
			return fmt.Errorf("%s: %w (removed while keyless ran)", f.path, err)
		}
		if !os.SameFile(fi, f.info) {
			return fmt.Errorf("%s was replaced while keyless ran", f.path)
		}
	}
	return nil
}

// FreeBytes implements storage.Disk: the space left to an unprivileged
// writer on the data directory's filesystem.
func (s *Store) FreeBytes() (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// AppendAudit implements storage.AuditLog in the audit directory, or in the
// database with Options.AuditInDatabase.
func (s *Store) AppendAudit(ctx context.Context, recs []storage.AuditRecord) error {
	// Checked before every group commit (a few stat calls beside an
	// fsync): events written into a removed directory would be lost with
	// it, and the requests they record must be refused instead.
	// (The open segment is checked by the log's own append.)
	if err := s.unmoved(); err != nil {
		return err
	}
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
