package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
)

// auditDir makes a data directory holding n events, written the way the
// server writes them (the audit writer on the embedded store), and returns
// it.
func auditDir(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s, err := embedded.Open(context.Background(), dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(audit.WriterOptions{Trail: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		ev := &audit.Event{EventVersion: audit.EventVersion, EventName: "GetSessionToken", EventTime: t0.Format(time.RFC3339),
			UserIdentity: audit.UserIdentity{Type: "IAMUser", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", ARN: "arn:aws:iam::111122223333:user/alice"},
			IssuedKeyID:  fmt.Sprintf("ASIA%016d", i)}
		if err := w.Record(context.Background(), ev, t0.Add(time.Duration(i)*time.Second), false); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// logFiles are the files of the audit log in dir, oldest first.
func logFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "audit", "audit-*.log*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if _, err := os.Stat(filepath.Join(dir, "audit.log")); err == nil {
		files = append([]string{filepath.Join(dir, "audit.log")}, files...)
	}
	return files
}

// editLines rewrites the newest (uncompressed) log file's lines with fn.
func editLines(t *testing.T, dir string, fn func(lines [][]byte) [][]byte) {
	t.Helper()
	files := logFiles(t, dir)
	path := files[len(files)-1]
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if err := os.WriteFile(path, bytes.Join(fn(lines), nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

// setField sets tab-separated field i of a log line.
func setField(line []byte, i int, v string) []byte {
	f := bytes.Split(bytes.TrimSuffix(line, []byte("\n")), []byte("\t"))
	f[i] = []byte(v)
	return append(bytes.Join(f, []byte("\t")), '\n')
}

// rechain recomputes every line's hash from the first, as an attacker
// with write access to the file can.
func rechain(lines [][]byte) [][]byte {
	var prev [32]byte
	for i, l := range lines {
		f := bytes.Split(bytes.TrimSuffix(l, []byte("\n")), []byte("\t"))
		r := storage.AuditRecord{Seq: int64(i + 1), EventName: string(f[3]), AccessKeyID: string(f[4]), IssuedKeyID: string(f[5]),
			PrincipalARN: string(f[6]), ErrorCode: string(f[7]), JSON: f[8]}
		var us int64
		fmt.Sscan(string(f[1]), &us)
		r.Time = time.UnixMicro(us).UTC()
		prev = storage.ChainHash(prev, r)
		lines[i] = setField(l, 2, hex.EncodeToString(prev[:]))
	}
	return lines
}

// Issue 15: `keyless audit verify` must fail, naming the record, on every
// edit of what is stored, and on every loss the checkpoint outside the log
// can see.
func TestAuditVerifyTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string
	}{
		{"indexed field edited", func(t *testing.T, dir string) {
			// The issued key id is what `keyless audit --access-key-id`
			// finds an issuance by.
			editLines(t, dir, func(l [][]byte) [][]byte { l[2] = setField(l[2], 5, "ASIAEDITED"); return l })
		}, "record 3 was altered"},
		{"event name edited", func(t *testing.T, dir string) {
			editLines(t, dir, func(l [][]byte) [][]byte { l[2] = setField(l[2], 3, "GetCallerIdentity"); return l })
		}, "record 3 was altered"},
		{"time edited", func(t *testing.T, dir string) {
			editLines(t, dir, func(l [][]byte) [][]byte { l[2] = setField(l[2], 1, "1"); return l })
		}, "record 3 was altered"},
		{"event edited", func(t *testing.T, dir string) {
			editLines(t, dir, func(l [][]byte) [][]byte {
				l[2] = bytes.Replace(l[2], []byte(`user/alice"`), []byte(`user/mallory"`), 1)
				return l
			})
		}, "record 3 was altered"},
		{"middle record deleted", func(t *testing.T, dir string) {
			editLines(t, dir, func(l [][]byte) [][]byte { return append(l[:2], l[3:]...) })
		}, "record 3 is missing"},
		{"middle record replaced and the chain recomputed", func(t *testing.T, dir string) {
			editLines(t, dir, func(l [][]byte) [][]byte { l[2] = setField(l[2], 5, "ASIAEDITED"); return rechain(l) })
		}, "record 5 was altered"},
		{"tail cut", func(t *testing.T, dir string) {
			editLines(t, dir, func(l [][]byte) [][]byte { return l[:3] })
		}, "records 4 to 5 are missing"},
		{"log emptied", func(t *testing.T, dir string) {
			editLines(t, dir, func([][]byte) [][]byte { return nil })
		}, "records 1 to 5 are missing"},
		{"log deleted", func(t *testing.T, dir string) {
			for _, f := range logFiles(t, dir) {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
		}, "records 1 to 5 are missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := auditDir(t, 5)
			if code, out, errOut := runCLI(t, nil, "audit", "verify", "--data-dir", dir); code != 0 || !strings.Contains(out, "audit log intact: 5 events") {
				t.Fatalf("before tampering: %d %q %q", code, out, errOut)
			}
			c.tamper(t, dir)
			code, out, errOut := runCLI(t, nil, "audit", "verify", "--data-dir", dir)
			if code != 1 || !strings.Contains(errOut, c.want) {
				t.Errorf("verify after tampering: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, c.want)
			}
		})
	}
}

// An auditor with the public key printed by `keyless audit public-key`
// and a copy of the data directory checks the signed digests.
func TestAuditPublicKeyAndDigests(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, nil, "audit", "public-key", "--data-dir", dir); code != 1 || !strings.Contains(errOut, "no keyless data directory") {
		t.Errorf("public-key of nothing: %d %q", code, errOut)
	}
	s, err := embedded.Open(context.Background(), dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	set, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, nil, "audit", "public-key", "--data-dir", dir); code != 1 || !strings.Contains(errOut, "no audit digest key yet") {
		t.Errorf("public-key before a server made one: %d %q", code, errOut)
	}
	key, err := audit.OpenDigestKey(context.Background(), s, set, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(audit.WriterOptions{Trail: s, Logger: slog.New(slog.DiscardHandler), Key: key})
	for range 4 {
		if err := w.Record(context.Background(), &audit.Event{EventName: "GetCallerIdentity"}, time.Now(), false); err != nil {
			t.Fatal(err)
		}
	}
	w.Close() // signs a digest
	s.Close()

	code, pemOut, errOut := runCLI(t, nil, "audit", "public-key", "--data-dir", dir)
	if code != 0 || !strings.HasPrefix(pemOut, "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("public-key: %d %q %q", code, pemOut, errOut)
	}
	keyFile := filepath.Join(t.TempDir(), "audit.pub")
	if err := os.WriteFile(keyFile, []byte(pemOut), 0o600); err != nil {
		t.Fatal(err)
	}
	// The auditor's copy, somewhere else.
	cp := t.TempDir()
	if err := os.CopyFS(cp, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, nil, "audit", "verify", "--data-dir", cp, "--public-key", keyFile)
	if code != 0 || !strings.Contains(out, "audit log intact: 4 events") || !strings.Contains(out, "signed digests verified: 1, covering records up to 4") ||
		strings.Contains(out, "stored beside the log") {
		t.Fatalf("verify with the public key: %d %q %q", code, out, errOut)
	}

	// Another key does not verify them.
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	otherFile := filepath.Join(t.TempDir(), "other.pub")
	if err := os.WriteFile(otherFile, audit.EncodePublicKey(other), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, nil, "audit", "verify", "--data-dir", cp, "--public-key", otherFile); code != 1 || !strings.Contains(errOut, "audit digest 1 is not signed by the public key") {
		t.Errorf("verify with another key: %d %q", code, errOut)
	}
	// An event altered and the chain recomputed: the digest still names
	// the original.
	editLines(t, cp, func(l [][]byte) [][]byte { l[1] = setField(l[1], 3, "AssumeRole"); return rechain(l) })
	if code, _, errOut := runCLI(t, nil, "audit", "verify", "--data-dir", cp, "--public-key", keyFile); code != 1 || !strings.Contains(errOut, "audit record 4 was altered") {
		t.Errorf("verify after rewriting: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "audit", "verify", "--data-dir", cp, "--public-key", filepath.Join(cp, "nope")); code != 2 || !strings.Contains(errOut, "--public-key") {
		t.Errorf("a missing key file: %d %q", code, errOut)
	}
}

// A data directory of an earlier version: its audit.log, chained with the
// earlier hash, is the first segment, and the chain goes on from it.
func TestAuditVerifyLegacyLog(t *testing.T) {
	dir := t.TempDir()
	s, err := embedded.Open(context.Background(), dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	var (
		b    bytes.Buffer
		prev [32]byte
	)
	for i := int64(1); i <= 3; i++ {
		event := fmt.Sprintf(`{"eventName":"GetCallerIdentity","n":%d}`, i)
		prev = storage.LegacyChainHash(prev, i, []byte(event))
		fmt.Fprintf(&b, "%d\t%d\t%s\tGetCallerIdentity\tAKIA\t\tarn:aws:iam::111122223333:user/alice\t\t%s\n", i, i, hex.EncodeToString(prev[:]), event)
	}
	if err := os.WriteFile(filepath.Join(dir, "audit.log"), b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = embedded.Open(context.Background(), dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(audit.WriterOptions{Trail: s, Logger: slog.New(slog.DiscardHandler)})
	for range 2 {
		if err := w.Record(context.Background(), &audit.Event{EventName: "GetSessionToken"}, time.Now(), false); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	s.Close()
	code, out, errOut := runCLI(t, nil, "audit", "verify", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "audit log intact: 5 events") || !strings.Contains(out, "3 chained with the earlier hash") {
		t.Fatalf("verify: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, nil, "audit", "--data-dir", dir, "--principal-arn", "arn:aws:iam::111122223333:user/alice")
	if code != 0 || strings.Count(out, "\n") != 3 {
		t.Errorf("the legacy events by principal: %d %q", code, out)
	}
}
