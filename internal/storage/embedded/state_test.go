package embedded_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
)

func appendOne(t *testing.T, s *embedded.Store) error {
	t.Helper()
	return s.AppendAudit(ctx, []storage.AuditRecord{{Time: time.Now(), EventName: "GetCallerIdentity", JSON: []byte(`{}`)}})
}

// A database lost beside an audit trail that holds events is refused, not
// silently recreated (with a new master key, lost MFA state and new
// unique ids); --init (Options.Init) starts a new one deliberately.
func TestMissingDatabaseRefused(t *testing.T) {
	for name, lose := range map[string]func(path string) error{
		"deleted": os.Remove,
		"emptied": func(path string) error { return os.Truncate(path, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := embedded.Open(ctx, dir, embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := appendOne(t, s); err != nil {
				t.Fatal(err)
			}
			s.Close()
			for _, f := range []string{embedded.DatabaseFile, embedded.DatabaseFile + "-wal", embedded.DatabaseFile + "-shm"} {
				if f == embedded.DatabaseFile {
					if err := lose(filepath.Join(dir, f)); err != nil {
						t.Fatal(err)
					}
				} else {
					os.Remove(filepath.Join(dir, f))
				}
			}
			_, err = embedded.Open(ctx, dir, embedded.Options{})
			if !errors.Is(err, embedded.ErrInconsistent) || !strings.Contains(err.Error(), "--init") {
				t.Fatalf("open without the database: %v", err)
			}
			s, err = embedded.Open(ctx, dir, embedded.Options{Init: true})
			if err != nil {
				t.Fatalf("open with Init: %v", err)
			}
			// What Init started anew despite, for serve's audit event.
			if r := s.Reinitialized(); !errors.Is(r, embedded.ErrInconsistent) || !strings.Contains(r.Error(), "missing or empty") {
				t.Errorf("Reinitialized: %v", r)
			}
			s.Close()
			// Once a database is there again, Init is not needed, and
			// given anyway it changes nothing (serve refuses it).
			for _, init := range []bool{false, true} {
				s, err = embedded.Open(ctx, dir, embedded.Options{Init: init})
				if err != nil {
					t.Fatal(err)
				}
				if r := s.Reinitialized(); r != nil {
					t.Errorf("Init %v on a consistent directory: Reinitialized %v", init, r)
				}
				s.Close()
			}
		})
	}
	// A new directory, or one with an empty audit trail, is no loss.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, embedded.AuditFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := embedded.Open(ctx, dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// A data directory or file removed or replaced while the store is open is
// noticed before the next audit commit and by Ping: nothing is written
// into files that are gone.
func TestRemovedWhileOpen(t *testing.T) {
	for name, c := range map[string]struct {
		audit bool
		lose  func(dir string) error
	}{
		"directory removed":       {false, os.RemoveAll},
		"database removed":        {false, func(dir string) error { return os.Remove(filepath.Join(dir, embedded.DatabaseFile)) }},
		"audit log removed":       {false, func(dir string) error { return os.Remove(openSegment(dir)) }},
		"audit log replaced":      {false, func(dir string) error { return replace(openSegment(dir)) }},
		"audit directory removed": {false, func(dir string) error { return os.RemoveAll(filepath.Join(dir, embedded.AuditDir)) }},
		"database replaced":       {true, func(dir string) error { return replace(filepath.Join(dir, embedded.DatabaseFile)) }},
		"directory moved aside":   {true, func(dir string) error { return os.Rename(dir, dir+".old") }},
		"directory removed (db)":  {true, os.RemoveAll},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			s, err := embedded.Open(ctx, dir, embedded.Options{AuditInDatabase: c.audit})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := appendOne(t, s); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.lose(dir); err != nil {
				t.Fatal(err)
			}
			if err := appendOne(t, s); err == nil {
				t.Error("an audit commit after the loss succeeded")
			}
			if err := s.Ping(ctx); err == nil {
				t.Error("Ping after the loss succeeded")
			}
		})
	}
}

// openSegment is the audit log's first segment, open after one append.
func openSegment(dir string) string {
	return filepath.Join(dir, embedded.AuditDir, "audit-000000000001.log")
}

// replace puts a copy of path in its place: same content, another file.
func replace(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".new", b, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".new", path)
}

// FreeBytes reports the data directory's filesystem.
func TestFreeBytes(t *testing.T) {
	s, err := embedded.Open(ctx, t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	free, err := s.FreeBytes()
	if err != nil || free == 0 {
		t.Fatalf("%d %v", free, err)
	}
}
