package embedded_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
	"github.com/keyless-dev/keyless/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	dirs := map[storage.Store]string{}
	openAt := func(t *testing.T, dir string) storage.Store {
		s, err := embedded.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		dirs[s] = dir
		return s
	}
	storagetest.Run(t, storagetest.Backend{
		Open: func(t *testing.T) storage.Store { return openAt(t, t.TempDir()) },
		Reopen: func(t *testing.T, s storage.Store) storage.Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return openAt(t, dirs[s])
		},
	})
}

func TestFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := embedded.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendAudit(context.Background(), []storage.AuditRecord{{JSON: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, embedded.DatabaseFile): 0o600, filepath.Join(dir, embedded.AuditFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}
