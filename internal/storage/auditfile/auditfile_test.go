package auditfile_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/auditfile"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
)

func rec(i int) storage.AuditRecord {
	return storage.AuditRecord{Time: t0.Add(time.Duration(i) * time.Microsecond), EventName: "GetCallerIdentity", AccessKeyID: "AKIA",
		PrincipalARN: "arn:aws:iam::111122223333:user/we\tird\\path\n/x", JSON: fmt.Appendf(nil, `{"n":%d}`, i)}
}

// recAt is record i at t0 + d.
func recAt(i int, d time.Duration) storage.AuditRecord {
	r := rec(i)
	r.Time = t0.Add(d)
	return r
}

func open(t *testing.T, dir string, o auditfile.Options) *auditfile.Log {
	t.Helper()
	l, err := auditfile.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func appendAll(t *testing.T, l *auditfile.Log, recs ...storage.AuditRecord) {
	t.Helper()
	if err := l.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
}

func query(t *testing.T, l *auditfile.Log, f storage.AuditFilter) []storage.AuditRecord {
	t.Helper()
	var out []storage.AuditRecord
	if err := l.QueryAudit(ctx, f, func(r storage.AuditRecord) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func all(t *testing.T, l *auditfile.Log) []storage.AuditRecord {
	return query(t, l, storage.AuditFilter{})
}

// files lists the directory's segment files.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "audit-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// intact checks seqs 1..n and the chain.
func intact(t *testing.T, l *auditfile.Log, n int) {
	t.Helper()
	got := all(t, l)
	if len(got) != n {
		t.Fatalf("%d records, want %d", len(got), n)
	}
	if m, err := audit.VerifyChain(ctx, l); err != nil || m != int64(n) {
		t.Fatalf("chain: %d %v", m, err)
	}
}

func TestFieldsRoundTrip(t *testing.T) {
	l := open(t, t.TempDir(), auditfile.Options{})
	recs := []storage.AuditRecord{rec(1)}
	appendAll(t, l, recs...)
	if recs[0].Seq != 1 || recs[0].Hash != storage.ChainHash([32]byte{}, recs[0]) {
		t.Errorf("AppendAudit did not set seq and hash: %+v", recs[0])
	}
	got := all(t, l)
	if len(got) != 1 || got[0].PrincipalARN != rec(1).PrincipalARN || string(got[0].JSON) != `{"n":1}` || !got[0].Time.Equal(rec(1).Time) ||
		got[0].Hash != recs[0].Hash {
		t.Fatalf("%+v", got)
	}
}

// A crash in the middle of a write leaves a torn line in the newest
// segment: readers ignore it, and the next writer cuts it off and
// continues the chain.
func TestTornLastLine(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, auditfile.Options{SegmentMaxBytes: 1})
	appendAll(t, l, rec(1))
	appendAll(t, l, rec(2)) // a second segment
	l.Close()
	fs := files(t, dir)
	if len(fs) != 2 {
		t.Fatalf("segments %v", fs)
	}
	f, _ := os.OpenFile(filepath.Join(dir, fs[1]), os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString("3\t3\tdeadbeef\tGetCall") // no newline
	f.Close()

	l = open(t, dir, auditfile.Options{SegmentMaxBytes: 1 << 20})
	if got := all(t, l); len(got) != 2 {
		t.Fatalf("reader saw %d records", len(got))
	}
	appendAll(t, l, rec(3))
	intact(t, l, 3)
	if fs := files(t, dir); len(fs) != 2 {
		t.Errorf("the torn segment was not continued: %v", fs)
	}
}

// Two processes appending would fork the chain; the second is refused.
func TestSingleAppender(t *testing.T) {
	dir := t.TempDir()
	a := open(t, dir, auditfile.Options{})
	b := open(t, dir, auditfile.Options{})
	appendAll(t, a, rec(1))
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
	intact(t, b, 2)
}

func TestCorruptLastLineRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "audit-000000000001.log"), []byte("not a record\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := open(t, dir, auditfile.Options{})
	if err := l.AppendAudit(ctx, []storage.AuditRecord{rec(1)}); err == nil {
		t.Fatal("appended after a corrupt record")
	}
}

// The open segment is closed by size and by age; the chain continues
// across segments, and closed ones are compressed in place.
func TestRotationAndCompression(t *testing.T) {
	// The size of two records' lines, from a scratch log.
	scratch := t.TempDir()
	appendAll(t, open(t, scratch, auditfile.Options{}), recAt(1, 0), recAt(2, 0))
	fi, err := os.Stat(filepath.Join(scratch, "audit-000000000001.log"))
	if err != nil {
		t.Fatal(err)
	}
	o := auditfile.Options{SegmentMaxBytes: fi.Size() + 1, SegmentMaxAge: time.Hour}

	dir := t.TempDir()
	l := open(t, dir, o)
	appendAll(t, l, recAt(1, 0), recAt(2, 0)) // segment 1, just under its size
	appendAll(t, l, recAt(3, 30*time.Minute)) // still segment 1, over its size now
	appendAll(t, l, recAt(4, 31*time.Minute)) // by size: segment 4
	appendAll(t, l, recAt(5, 95*time.Minute)) // by age (over an hour after record 4): segment 5
	appendAll(t, l, recAt(6, 96*time.Minute)) // segment 5
	want := []string{"audit-000000000001.log", "audit-000000000004.log", "audit-000000000005.log"}
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Fatalf("segments %v, want %v", got, want)
	}
	intact(t, l, 6)

	segs, total, err := l.AuditSegments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 || segs[0].FirstSeq != 1 || segs[0].LastSeq != 3 || segs[1].FirstSeq != 4 || segs[1].LastSeq != 4 ||
		!segs[0].Closed.Equal(t0.Add(31*time.Minute)) || !segs[1].Closed.Equal(t0.Add(95*time.Minute)) {
		t.Errorf("closed segments: %+v", segs)
	}
	if total <= segs[0].Bytes+segs[1].Bytes {
		t.Errorf("total %d does not count the open segment", total)
	}

	// A stopping server cancels a compression: nothing changes, and the
	// next run does it.
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.CompressAuditSegments(stopped); err == nil {
		t.Fatal("a cancelled compression reported success")
	}
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Fatalf("after a cancelled compression: %v, want %v", got, want)
	}
	intact(t, l, 6)
	if err := l.CompressAuditSegments(ctx); err != nil {
		t.Fatal(err)
	}
	want = []string{"audit-000000000001.log.gz", "audit-000000000004.log.gz", "audit-000000000005.log"}
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Fatalf("after compressing: %v, want %v", got, want)
	}
	intact(t, l, 6)
	appendAll(t, l, recAt(7, 97*time.Minute))
	intact(t, l, 7)

	// A reopened log continues from the newest segment.
	l.Close()
	l = open(t, dir, o)
	appendAll(t, l, recAt(8, 98*time.Minute))
	intact(t, l, 8)
}

// Queries read every segment, compressed or not, in order; AfterSeq
// starts at the segment that holds the next record.
func TestQueryAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, auditfile.Options{SegmentMaxBytes: 1})
	for i := 1; i <= 9; i++ {
		r := rec(i)
		if i%3 == 0 {
			r.IssuedKeyID = "ASIA3"
		}
		appendAll(t, l, r)
	}
	if err := l.CompressAuditSegments(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(files(t, dir)); n != 9 {
		t.Fatalf("%d segments", n)
	}
	seqs := func(recs []storage.AuditRecord) []int64 {
		var out []int64
		for _, r := range recs {
			out = append(out, r.Seq)
		}
		return out
	}
	for _, c := range []struct {
		f    storage.AuditFilter
		want []int64
	}{
		{storage.AuditFilter{}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{storage.AuditFilter{AccessKeyID: "ASIA3"}, []int64{3, 6, 9}},
		{storage.AuditFilter{AfterSeq: 4, Limit: 2}, []int64{5, 6}},
		{storage.AuditFilter{AfterSeq: 8}, []int64{9}},
		{storage.AuditFilter{AfterSeq: 9}, nil},
		{storage.AuditFilter{AccessKeyID: "ASIA3", AfterSeq: 3, Limit: 1}, []int64{6}},
	} {
		if got := seqs(query(t, l, c.f)); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.f, got, c.want)
		}
	}
}

// Retention deletes whole closed segments, never the open one.
func TestDeleteSegments(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, auditfile.Options{SegmentMaxBytes: 1})
	for i := 1; i <= 4; i++ {
		appendAll(t, l, rec(i))
	}
	if err := l.CompressAuditSegments(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteAuditSegments(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); !slices.Equal(got, []string{"audit-000000000003.log.gz", "audit-000000000004.log"}) {
		t.Fatalf("after deleting through 2: %v", got)
	}
	if err := l.DeleteAuditSegments(ctx, 100); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); !slices.Equal(got, []string{"audit-000000000004.log"}) {
		t.Fatalf("the open segment must stay: %v", got)
	}
	if got := all(t, l); len(got) != 1 || got[0].Seq != 4 {
		t.Fatalf("%+v", got)
	}
	appendAll(t, l, rec(5))
	if got := all(t, l); len(got) != 2 || got[1].Seq != 5 || got[1].Hash != storage.ChainHash(got[0].Hash, got[1]) {
		t.Fatalf("after retention the chain goes on: %+v", got)
	}
}

// A process that does not append sees no closed segment and changes
// nothing.
func TestReaderManagesNothing(t *testing.T) {
	dir := t.TempDir()
	w := open(t, dir, auditfile.Options{SegmentMaxBytes: 1})
	appendAll(t, w, rec(1))
	appendAll(t, w, rec(2))
	r := open(t, dir, auditfile.Options{})
	if segs, _, err := r.AuditSegments(ctx); err != nil || segs != nil {
		t.Errorf("reader's segments: %v %v", segs, err)
	}
	if err := r.DeleteAuditSegments(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if err := r.CompressAuditSegments(ctx); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 2 || strings.HasSuffix(got[0], ".gz") {
		t.Errorf("a reader changed the segments: %v", got)
	}
}

// What a crash in the middle of compressing leaves is cleaned up by the
// next appender, and read right meanwhile.
func TestCompressionCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, auditfile.Options{SegmentMaxBytes: 1})
	appendAll(t, l, rec(1))
	appendAll(t, l, rec(2))
	plain, err := os.ReadFile(filepath.Join(dir, "audit-000000000001.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.CompressAuditSegments(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// Crashed after the rename, before removing the original; and an
	// earlier attempt's temporary file.
	if err := os.WriteFile(filepath.Join(dir, "audit-000000000001.log"), plain, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "audit-000000000001.log.gz.tmp"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	l = open(t, dir, auditfile.Options{SegmentMaxBytes: 1})
	intact(t, l, 2)
	appendAll(t, l, rec(3))
	intact(t, l, 3)
	if got := files(t, dir); !slices.Equal(got, []string{"audit-000000000001.log.gz", "audit-000000000002.log", "audit-000000000003.log"}) {
		t.Errorf("after recovery: %v", got)
	}
}

// legacyLine is a line of the single-file log of earlier versions, chained
// with the hash of the time.
func legacyLine(prev [32]byte, r storage.AuditRecord) ([]byte, [32]byte) {
	h := storage.LegacyChainHash(prev, r.Seq, r.JSON)
	return fmt.Appendf(nil, "%d\t%d\t%s\t%s\t%s\t\t%s\t\t%s\n", r.Seq, r.Time.UnixMicro(), hex.EncodeToString(h[:]), r.EventName,
		r.AccessKeyID, "arn:aws:iam::111122223333:user/alice", r.JSON), h
}

// The audit.log of an earlier version is the first segment: read as it
// is, then compressed into the directory; the chain goes on from it.
func TestLegacyFile(t *testing.T) {
	data := t.TempDir()
	legacy := filepath.Join(data, "audit.log")
	var (
		b    bytes.Buffer
		prev [32]byte
	)
	for i := 1; i <= 3; i++ {
		r := rec(i)
		r.Seq = int64(i)
		var line []byte
		line, prev = legacyLine(prev, r)
		b.Write(line)
	}
	b.WriteString("4\t4\ttorn") // the earlier version crashed mid-write
	if err := os.WriteFile(legacy, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(data, "audit")
	o := auditfile.Options{Legacy: legacy}
	l := open(t, dir, o)
	if got := all(t, l); len(got) != 3 || got[2].Seq != 3 {
		t.Fatalf("legacy records: %+v", got)
	}

	// An earlier keyless still appending to audit.log holds its lock
	// (taken here through another descriptor, which flock treats as
	// another process): no appending beside it.
	old, err := os.OpenFile(legacy, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(old.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if err := l.AppendAudit(ctx, []storage.AuditRecord{rec(4)}); !errors.Is(err, auditfile.ErrLocked) {
		t.Fatalf("appending beside an earlier keyless: %v", err)
	}
	old.Close()
	appendAll(t, l, rec(4))
	if got := files(t, dir); !slices.Equal(got, []string{"audit-000000000004.log"}) {
		t.Fatalf("new records go to a new segment: %v", got)
	}
	intact(t, l, 4)
	if err := l.CompressAuditSegments(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(legacy); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("audit.log after compression: %v", err)
	}
	if got := files(t, dir); !slices.Equal(got, []string{"audit-000000000001.log.gz", "audit-000000000004.log"}) {
		t.Fatalf("after compressing the legacy file: %v", got)
	}
	intact(t, l, 4)
	if got := all(t, l); got[0].PrincipalARN != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("legacy fields: %+v", got[0])
	}
}

// An edit of any field of a line is an alteration of the record: the
// chain covers every field a query reads.
func TestEveryFieldChained(t *testing.T) {
	for field := 1; field <= 8; field++ {
		dir := t.TempDir()
		l := open(t, dir, auditfile.Options{})
		appendAll(t, l, rec(1), rec(2), rec(3))
		l.Close()
		path := filepath.Join(dir, "audit-000000000001.log")
		raw, _ := os.ReadFile(path)
		lines := bytes.SplitAfter(raw, []byte("\n"))
		f := bytes.Split(bytes.TrimSuffix(lines[1], []byte("\n")), []byte("\t"))
		if field == 2 {
			continue // the hash itself
		}
		f[field] = append(f[field], '7')
		lines[1] = append(bytes.Join(f, []byte("\t")), '\n')
		if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
			t.Fatal(err)
		}
		r := open(t, dir, auditfile.Options{})
		if _, err := audit.VerifyChain(ctx, r); err == nil || !strings.Contains(err.Error(), "record 2 was altered") {
			t.Errorf("field %d edited: %v", field, err)
		}
	}
}
