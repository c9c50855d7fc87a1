package embedded

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/keyless-dev/keyless/internal/storage"
)

var _ storage.AuditSegments = (*Store)(nil)

// AuditSegments implements storage.AuditSegments for the audit directory;
// with Options.AuditInDatabase there are no segments.
func (s *Store) AuditSegments(ctx context.Context) ([]storage.AuditSegment, int64, error) {
	if s.file == nil {
		return nil, 0, nil
	}
	return s.file.AuditSegments(ctx)
}

// CompressAuditSegments implements storage.AuditSegments.
func (s *Store) CompressAuditSegments(ctx context.Context) error {
	if s.file == nil {
		return nil
	}
	return s.file.CompressAuditSegments(ctx)
}

// DeleteAuditSegments implements storage.AuditSegments.
func (s *Store) DeleteAuditSegments(ctx context.Context, through int64) error {
	if s.file == nil {
		return nil
	}
	return s.file.DeleteAuditSegments(ctx, through)
}

// trailBytes is the size of the audit trail in dir: the segments in
// AuditDir and the legacy AuditFile.
func trailBytes(dir string) (int64, error) {
	var n int64
	entries, err := os.ReadDir(filepath.Join(dir, AuditDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	paths := []string{filepath.Join(dir, AuditFile)}
	for _, e := range entries {
		if e.Type().IsRegular() {
			paths = append(paths, filepath.Join(dir, AuditDir, e.Name()))
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}
