package fault

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openSegment is the audit trail's open segment in a data directory.
func openSegment(t *testing.T, dir string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "audit", "audit-*.log"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no open audit segment in %s: %v", dir, err)
	}
	return m[len(m)-1]
}

// An audit trail edited, cut short or deleted while keyless is stopped:
// `keyless audit verify` names the first altered or missing record and
// exits 1; a server does not start on a trail that lost what its
// checkpoint (in keyless.db) names; nothing is silently accepted.
func TestAuditTrailTampered(t *testing.T) {
	setup := func(t *testing.T) *node {
		n := newNode(t, quickstart)
		n.start()
		for range 20 {
			if _, err := n.session(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		n.stop()
		if out, errOut, code := keyless(t, "audit", "verify", "--data-dir", n.dataDir); code != 0 {
			t.Fatalf("verify of an untouched trail: %d %s %s", code, out, errOut)
		}
		return n
	}
	verify := func(t *testing.T, n *node, want string) {
		t.Helper()
		out, errOut, code := keyless(t, "audit", "verify", "--data-dir", n.dataDir)
		if code != 1 || !strings.Contains(out+errOut, want) {
			t.Fatalf("verify: exit %d, want 1 and %q:\n%s%s", code, want, out, errOut)
		}
	}

	t.Run("an issued key id edited", func(t *testing.T) {
		n := setup(t)
		seg := openSegment(t, n.dataDir)
		b, _ := os.ReadFile(seg)
		lines := bytes.Split(b, []byte("\n"))
		var edited bool
		for i, l := range lines {
			f := bytes.Split(l, []byte("\t"))
			if len(f) > 5 && bytes.HasPrefix(f[5], []byte("ASIA")) {
				f[5] = []byte("ASIAEDITEDEDITEDEDIT")
				lines[i] = bytes.Join(f, []byte("\t"))
				edited = true
				break
			}
		}
		if !edited {
			t.Fatal("no issuance in the open segment")
		}
		if err := os.WriteFile(seg, bytes.Join(lines, []byte("\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		verify(t, n, "altered")
	})

	t.Run("the tail cut off", func(t *testing.T) {
		n := setup(t)
		seg := openSegment(t, n.dataDir)
		b, _ := os.ReadFile(seg)
		cut := bytes.LastIndexByte(b[:len(b)-1], '\n')
		cut = bytes.LastIndexByte(b[:cut], '\n')
		if err := os.WriteFile(seg, b[:cut+1], 0o600); err != nil {
			t.Fatal(err)
		}
		verify(t, n, "missing")
		if err := n.tryStart(); err == nil || !strings.Contains(err.Error(), "does not match its checkpoint") {
			t.Fatalf("a server on a cut trail: %v", err)
		}
	})

	t.Run("the trail deleted", func(t *testing.T) {
		n := setup(t)
		if err := os.RemoveAll(filepath.Join(n.dataDir, "audit")); err != nil {
			t.Fatal(err)
		}
		verify(t, n, "missing")
		err := n.tryStart()
		if err == nil || !strings.Contains(err.Error(), "no longer holds") {
			t.Fatalf("a server on a deleted trail: %v", err)
		}
	})

	t.Run("the last record malformed", func(t *testing.T) {
		n := setup(t)
		seg := openSegment(t, n.dataDir)
		f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("not a record\n")
		f.Close()
		verify(t, n, "")
		if err := n.tryStart(); err == nil || !strings.Contains(err.Error(), "audit trail in") {
			t.Fatalf("a server on a trail whose last line is malformed: %v", err)
		}
	})
}
