package auditfile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/auditfile"
)

var ctx = context.Background()

func rec(i int) storage.AuditRecord {
	return storage.AuditRecord{Time: time.UnixMicro(int64(i)).UTC(), EventName: "GetCallerIdentity", AccessKeyID: "AKIA",
		PrincipalARN: "arn:aws:iam::111122223333:user/we\tird\\path\n/x", JSON: []byte(`{"n":` + string(rune('0'+i)) + `}`)}
}

func all(t *testing.T, l *auditfile.Log) []storage.AuditRecord {
	t.Helper()
	var out []storage.AuditRecord
	if err := l.QueryAudit(ctx, storage.AuditFilter{}, func(r storage.AuditRecord) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFieldsRoundTrip(t *testing.T) {
	l, err := auditfile.Open(filepath.Join(t.TempDir(), "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.AppendAudit(ctx, []storage.AuditRecord{rec(1)}); err != nil {
		t.Fatal(err)
	}
	got := all(t, l)
	if len(got) != 1 || got[0].PrincipalARN != rec(1).PrincipalARN || string(got[0].JSON) != `{"n":1}` || !got[0].Time.Equal(rec(1).Time) {
		t.Fatalf("%+v", got)
	}
}

// A crash in the middle of a write leaves a torn line: readers ignore it,
// and the next writer cuts it off and continues the chain.
func TestTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, _ := auditfile.Open(path)
	if err := l.AppendAudit(ctx, []storage.AuditRecord{rec(1), rec(2)}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString("3\t3\tdeadbeef\tGetCall") // no newline
	f.Close()

	l, _ = auditfile.Open(path)
	defer l.Close()
	if got := all(t, l); len(got) != 2 {
		t.Fatalf("reader saw %d records", len(got))
	}
	if err := l.AppendAudit(ctx, []storage.AuditRecord{rec(3)}); err != nil {
		t.Fatal(err)
	}
	got := all(t, l)
	if len(got) != 3 || got[2].Seq != 3 {
		t.Fatalf("after recovery: %+v", got)
	}
	var prev [32]byte
	for _, r := range got {
		if storage.ChainHash(prev, r.Seq, r.JSON) != r.Hash {
			t.Fatalf("chain broken at %d", r.Seq)
		}
		prev = r.Hash
	}
}

// Two processes appending would fork the chain; the second is refused.
func TestSingleAppender(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, _ := auditfile.Open(path)
	b, _ := auditfile.Open(path)
	defer a.Close()
	defer b.Close()
	if err := a.AppendAudit(ctx, []storage.AuditRecord{rec(1)}); err != nil {
		t.Fatal(err)
	}
	if err := b.AppendAudit(ctx, []storage.AuditRecord{rec(2)}); !errors.Is(err, auditfile.ErrLocked) {
		t.Fatalf("second appender: %v", err)
	}
	if got := all(t, b); len(got) != 1 {
		t.Fatalf("a reader needs no lock: %d", len(got))
	}
	a.Close()
	if err := b.AppendAudit(ctx, []storage.AuditRecord{rec(2)}); err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
}

func TestCorruptLastLineRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte("not a record\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, _ := auditfile.Open(path)
	defer l.Close()
	if err := l.AppendAudit(ctx, []storage.AuditRecord{rec(1)}); err == nil {
		t.Fatal("appended after a corrupt record")
	}
}
