package e2e

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// auditSegments lists the audit log's segment files in dataDir, oldest
// first (data_dir/audit/audit-SEQ.log, .log.gz once closed).
func auditSegments(t *testing.T, dataDir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, "audit", "audit-*.log*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatalf("no audit segment in %s", dataDir)
	}
	return files
}

// auditText is the audit log's bytes, every segment decompressed.
func auditText(t *testing.T, dataDir string) string {
	t.Helper()
	var b bytes.Buffer
	for _, f := range auditSegments(t, dataDir) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if raw, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		b.Write(raw)
	}
	return b.String()
}
