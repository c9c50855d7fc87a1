package drivers_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyless-dev/keyless/internal/storage/drivers"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	// Offline, a missing data directory is refused and not created.
	if _, err := drivers.Open(ctx, "embedded", drivers.Options{DataDir: dir, Offline: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("offline open of a missing directory: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the offline open created %s", dir)
	}
	s, err := drivers.Open(ctx, "embedded", drivers.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = drivers.Open(ctx, "embedded", drivers.Options{DataDir: dir, Offline: true})
	if err != nil {
		t.Fatalf("offline open of a served directory: %v", err)
	}
	s.Close()

	if s, err := drivers.Open(ctx, "memory", drivers.Options{}); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}
	if _, err := drivers.Open(ctx, "memory", drivers.Options{Offline: true}); err == nil {
		t.Error("an offline command opened the memory driver")
	}
	if _, err := drivers.Open(ctx, "postgres", drivers.Options{}); err == nil {
		t.Error("an unknown driver opened")
	}
	if d, ok := drivers.Lookup(drivers.Default); !ok || !d.Persistent {
		t.Errorf("the default driver %q: %+v", drivers.Default, d)
	}
}
