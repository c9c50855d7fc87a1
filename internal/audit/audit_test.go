package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func event(ua string) *audit.Event {
	return &audit.Event{EventVersion: audit.EventVersion, EventName: "GetCallerIdentity", UserAgent: ua,
		UserIdentity:      audit.UserIdentity{Type: "IAMUser", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", ARN: "arn:aws:iam::111122223333:user/alice"},
		RequestParameters: map[string]any{"roleSessionName": ua}}
}

// AUD-02: hostile strings never break the one-line, escaped JSON record,
// and the record decodes back to what was given.
func TestEncodeHostileStrings(t *testing.T) {
	hostile := []string{
		"a\nb", "a\rb", "a\u2028b", "a\u2029b", "\x1b[31mred", "\u202eevil", "nul\x00byte", "bad\xff\xfeutf8",
		"\U000e0001tag", "\u0085nel", "<script>&", strings.Repeat("x", 1<<20),
	}
	for _, h := range hostile {
		line := audit.Encode(event(h))
		if bytes.ContainsAny(line, "\n\r\x00\x1b") || bytes.Contains(line, []byte("\u2028")) || bytes.Contains(line, []byte("\u202e")) ||
			bytes.Contains(line, []byte("\u0085")) || bytes.Contains(line, []byte("\U000e0001")) {
			t.Errorf("%q: unsafe bytes in %q", h[:min(len(h), 20)], line[:min(len(line), 200)])
		}
		var back audit.Event
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatalf("%q: not JSON: %v", h[:min(len(h), 20)], err)
		}
		want := validUTF8(h)
		if len(h) > audit.MaxField {
			want = h[:audit.MaxField]
			if back.AdditionalEventData["truncated"] != "true" {
				t.Error("truncation not marked")
			}
		}
		if back.UserAgent != want {
			t.Errorf("round trip of %q gave %q", h[:min(len(h), 20)], back.UserAgent[:min(len(back.UserAgent), 20)])
		}
		if len(line) > 8*audit.MaxField {
			t.Errorf("record of %d bytes", len(line))
		}
	}
}

// validUTF8 replaces each invalid byte with U+FFFD, as encoding/json does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte
		i += n
	}
	return b.String()
}

func FuzzEncodeRoundTrip(f *testing.F) {
	for _, s := range []string{"", "plain", "a\nb", "\u202e", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := audit.Encode(event(s))
		if bytes.IndexByte(line, '\n') >= 0 {
			t.Fatal("newline in record")
		}
		var back audit.Event
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatal(err)
		}
		if len(s) <= audit.MaxField && back.UserAgent != validUTF8(s) {
			t.Fatalf("%q -> %q", s, back.UserAgent)
		}
	})
}

func TestWriterGroupCommit(t *testing.T) {
	store := memory.New()
	w := audit.NewWriter(audit.WriterOptions{Trail: store, Logger: quiet})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Record(context.Background(), event("client"), time.Unix(int64(i), 0), false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	w.Close()
	if err := w.Record(context.Background(), event("late"), time.Now(), false); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("record after close: %v", err)
	}
	n, err := audit.VerifyChain(context.Background(), store)
	if err != nil || n != 200 {
		t.Fatalf("chain: %d %v", n, err)
	}
}

type failingLog struct{ *memory.Store }

func (failingLog) AppendAudit(context.Context, []storage.AuditRecord) error {
	return errors.New("disk full")
}

// AUD-04: when the audit store fails, Record fails, so the caller refuses
// the request.
func TestWriterFailure(t *testing.T) {
	w := audit.NewWriter(audit.WriterOptions{Trail: failingLog{memory.New()}, Logger: quiet})
	defer w.Close()
	if err := w.Record(context.Background(), event("x"), time.Now(), false); err == nil {
		t.Fatal("a failed write reported success")
	}
}

// tamperLog lets a test delete or edit stored records.
type tamperLog struct {
	recs []storage.AuditRecord
}

func (l *tamperLog) AppendAudit(context.Context, []storage.AuditRecord) error { return nil }
func (l *tamperLog) QueryAudit(_ context.Context, _ storage.AuditFilter, fn func(storage.AuditRecord) error) error {
	for _, r := range l.recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// AUD-05: deleting or editing a middle record is detected.
func TestVerifyChainDetectsTampering(t *testing.T) {
	store := memory.New()
	w := audit.NewWriter(audit.WriterOptions{Trail: store, Logger: quiet})
	for i := range 5 {
		if err := w.Record(context.Background(), event("c"), time.Unix(int64(i), 0), false); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	var recs []storage.AuditRecord
	_ = store.QueryAudit(context.Background(), storage.AuditFilter{}, func(r storage.AuditRecord) error { recs = append(recs, r); return nil })

	deleted := &tamperLog{recs: append(append([]storage.AuditRecord(nil), recs[:2]...), recs[3:]...)}
	if _, err := audit.VerifyChain(context.Background(), deleted); err == nil || !strings.Contains(err.Error(), "record 3 is missing") {
		t.Errorf("deletion: %v", err)
	}
	edited := &tamperLog{recs: append([]storage.AuditRecord(nil), recs...)}
	edited.recs[2].JSON = bytes.Replace(edited.recs[2].JSON, []byte("alice"), []byte("mallory"), 1)
	if _, err := audit.VerifyChain(context.Background(), edited); err == nil || !strings.Contains(err.Error(), "record 3 was altered") {
		t.Errorf("edit: %v", err)
	}
	if n, err := audit.VerifyChain(context.Background(), &tamperLog{recs: recs}); err != nil || n != 5 {
		t.Errorf("untouched: %d %v", n, err)
	}
}

// The hand-written encoder and encoding/json must agree on what an event
// means: encode both ways and compare the decoded values.
func FuzzEncodeMatchesEncodingJSON(f *testing.F) {
	f.Add("ua", "param", "arn:aws:iam::111122223333:user/a\"b\\c", int64(900))
	f.Add("\u2028", "\xff", "\x00\x1f\x7f", int64(-1))
	f.Fuzz(func(t *testing.T, ua, param, arn string, n int64) {
		if len(ua) > audit.MaxField || len(param) > audit.MaxField || len(arn) > audit.MaxField {
			return
		}
		ev := &audit.Event{EventVersion: "1.09", EventName: "GetSessionToken", UserAgent: ua,
			UserIdentity: audit.UserIdentity{Type: "AssumedRole", ARN: arn, SessionContext: &audit.SessionContext{
				SessionIssuer: &audit.SessionIssuer{Type: "Role", PrincipalID: param, ARN: arn, AccountID: "1", UserName: ua},
				Attributes:    audit.SessionAttributes{CreationDate: "d", MFAAuthenticated: "true"}, SourceIdentity: param}},
			RequestParameters: map[string]any{"serialNumber": param, "durationSeconds": n, param: param,
				"tags": []map[string]string{{"key": param, "value": ua}}, "transitiveTagKeys": []string{param}, "list": []any{param, n, true}},
			ResponseElements:    map[string]any{"credentials": map[string]string{"accessKeyId": "ASIA", "expiration": param}},
			AdditionalEventData: map[string]string{"reason": param},
			ReadOnly:            true, ManagementEvent: true}
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(audit.Encode(ev), &a); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("encoders disagree:\n ours %s\n json %s", audit.Encode(ev), want)
		}
	})
}
