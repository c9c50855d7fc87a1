package embedded_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
	"github.com/keyless-dev/keyless/internal/storage/storagetest"
)

var ctx = context.Background()

// TestConformance runs the suite with the audit trail in the audit
// directory (one segment, and many small ones) and in keyless.db.
func TestConformance(t *testing.T) {
	for name, o := range map[string]embedded.Options{
		"AuditFile":         {},
		"AuditFileSegments": {AuditSegmentMaxBytes: 16 << 10},
		"AuditInDatabase":   {AuditInDatabase: true},
	} {
		t.Run(name, func(t *testing.T) {
			var (
				mu   sync.Mutex
				dirs = map[storage.Store]string{}
			)
			openAt := func(t *testing.T, dir string) storage.Store {
				s, err := embedded.Open(ctx, dir, o)
				if err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				dirs[s] = dir
				mu.Unlock()
				return s
			}
			storagetest.Run(t, storagetest.Backend{
				Open: func(t *testing.T) storage.Store { return openAt(t, t.TempDir()) },
				Reopen: func(t *testing.T, s storage.Store) storage.Store {
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					mu.Lock()
					dir := dirs[s]
					mu.Unlock()
					return openAt(t, dir)
				},
			})
		})
	}
}

func TestFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := embedded.Open(ctx, dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendAudit(ctx, []storage.AuditRecord{{JSON: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, embedded.DatabaseFile): 0o600,
		filepath.Join(dir, embedded.AuditDir): 0o700, filepath.Join(dir, embedded.AuditDir, "audit-000000000001.log"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

// MustExist refuses a missing data directory and creates nothing.
func TestMustExistCreatesNothing(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	for _, o := range []embedded.Options{{MustExist: true}, {MustExist: true, AuditInDatabase: true}} {
		s, err := embedded.Open(ctx, dir, o)
		if err == nil {
			s.Close()
			t.Fatalf("%+v: opened a missing directory", o)
		}
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%+v: %v, want fs.ErrNotExist naming %s", o, err, dir)
		}
		if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
			t.Fatalf("%+v: created %v (%v)", o, entries, err)
		}
	}
	file := filepath.Join(parent, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := embedded.Open(ctx, file, embedded.Options{MustExist: true}); err == nil {
		s.Close()
		t.Fatal("opened a file as the data directory")
	}

	// A directory that holds no keyless.db (the wrong ./data) is refused
	// and stays as it was.
	empty := filepath.Join(parent, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if s, err := embedded.Open(ctx, empty, embedded.Options{MustExist: true}); err == nil || !errors.Is(err, fs.ErrNotExist) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("an empty directory: %v", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("created %v in an empty directory", entries)
	}

	// An existing directory opens, with what it holds.
	s, err := embedded.Open(ctx, dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimID(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = embedded.Open(ctx, dir, embedded.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if id, err := s.ClaimID(ctx, "k", "other"); err != nil || id != "v" {
		t.Errorf("existing directory: %q %v", id, err)
	}
}

// AuditInDatabase keeps events in keyless.db and creates no audit.log; the
// two places are separate chains.
func TestAuditInDatabase(t *testing.T) {
	dir := t.TempDir()
	rec := func(name string) storage.AuditRecord {
		return storage.AuditRecord{Time: time.Unix(1, 0), EventName: name, JSON: []byte(`{"eventName":"` + name + `"}`)}
	}
	s, err := embedded.Open(ctx, dir, embedded.Options{AuditInDatabase: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, []storage.AuditRecord{rec("A"), rec("B")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, embedded.AuditFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("audit.log: %v, want none", err)
	}

	s, err = embedded.Open(ctx, dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := audit.VerifyChain(ctx, s); err != nil || n != 0 {
		t.Fatalf("audit.log holds %d records (%v), want 0", n, err)
	}
	if err := s.AppendAudit(ctx, []storage.AuditRecord{rec("C")}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = embedded.Open(ctx, dir, embedded.Options{AuditInDatabase: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var names []string
	if err := s.QueryAudit(ctx, storage.AuditFilter{}, func(r storage.AuditRecord) error {
		names = append(names, r.EventName)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "A,B" {
		t.Errorf("database holds %v, want A,B", names)
	}
	if n, err := audit.VerifyChain(ctx, s); err != nil || n != 2 {
		t.Errorf("VerifyChain: %d %v", n, err)
	}
}

// BenchmarkAppendAudit appends group-commit-sized batches.
func BenchmarkAppendAudit(b *testing.B) {
	for name, o := range map[string]embedded.Options{"AuditFile": {}, "AuditInDatabase": {AuditInDatabase: true}} {
		b.Run(name, func(b *testing.B) {
			s, err := embedded.Open(ctx, b.TempDir(), o)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := make([]storage.AuditRecord, 64)
			for i := range batch {
				batch[i] = storage.AuditRecord{Time: time.Now(), EventName: "GetCallerIdentity", AccessKeyID: "AKIAEXAMPLE",
					PrincipalARN: "arn:aws:iam::111122223333:user/alice", JSON: make([]byte, 1200)}
			}
			for b.Loop() {
				if err := s.AppendAudit(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// Two stores on one keyless.db (as two processes would be) append at once:
// the database's write lock, not this process's mutex, keeps one chain.
func TestAuditInDatabaseTwoWriters(t *testing.T) {
	dir := t.TempDir()
	var stores [2]*embedded.Store
	for i := range stores {
		s, err := embedded.Open(ctx, dir, embedded.Options{AuditInDatabase: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]storage.AuditRecord, 5)
			for i := range batch {
				batch[i] = storage.AuditRecord{Time: time.Unix(int64(g), 0), EventName: "E", JSON: []byte(`{"g":` + strconv.Itoa(g) + `}`)}
			}
			if err := stores[g%2].AppendAudit(ctx, batch); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, s := range stores {
		if n, err := audit.VerifyChain(ctx, s); err != nil || n != 100 {
			t.Errorf("VerifyChain: %d %v, want 100", n, err)
		}
	}
}
