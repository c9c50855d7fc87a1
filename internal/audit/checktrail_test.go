package audit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

// appendAt stores one record at t and returns it with its seq and hash.
func appendAt(t *testing.T, s *memory.Store, at time.Time) storage.AuditRecord {
	t.Helper()
	recs := []storage.AuditRecord{{Time: at, EventName: "GetSessionToken", JSON: []byte(`{}`)}}
	if err := s.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	return recs[0]
}

// What a server checks before it appends to a trail: the record its
// checkpoint names is there and unchanged, and the trail does not go on
// long after the checkpoint (a store restored from an older backup).
func TestCheckTrail(t *testing.T) {
	s := memory.New()
	if err := audit.CheckTrail(ctx, s); err != nil {
		t.Fatalf("no checkpoint yet: %v", err)
	}
	var last storage.AuditRecord
	for i := range 5 {
		last = appendAt(t, s, t0.Add(time.Duration(i)*time.Second))
	}
	if err := s.SaveAuditCheckpoint(ctx, storage.AuditCheckpoint{Seq: last.Seq, Hash: last.Hash, Time: t0.Add(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := audit.CheckTrail(ctx, s); err != nil {
		t.Fatalf("a trail that matches: %v", err)
	}
	// A kill -9 loses at most the last second's checkpoint.
	appendAt(t, s, t0.Add(6*time.Second))
	if err := audit.CheckTrail(ctx, s); err != nil {
		t.Fatalf("a trail a second past its checkpoint: %v", err)
	}
	// A store older than the trail: the trail went on for an hour after
	// the checkpoint was taken.
	appendAt(t, s, t0.Add(time.Hour))
	stale := memory.New()
	for i := range 5 {
		appendAt(t, stale, t0.Add(time.Duration(i)*time.Second))
	}
	appendAt(t, stale, t0.Add(time.Hour))
	if err := stale.SaveAuditCheckpoint(ctx, storage.AuditCheckpoint{Seq: last.Seq, Hash: last.Hash, Time: t0.Add(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := audit.CheckTrail(ctx, stale); !errors.Is(err, audit.ErrStaleStore) {
		t.Fatalf("a store older than its trail: %v", err)
	}
	// A checkpoint naming a record the trail no longer holds, or another
	// record in its place.
	short := memory.New()
	for i := range 3 {
		appendAt(t, short, t0.Add(time.Duration(i)*time.Second))
	}
	if err := short.SaveAuditCheckpoint(ctx, storage.AuditCheckpoint{Seq: last.Seq, Hash: last.Hash, Time: t0}); err != nil {
		t.Fatal(err)
	}
	if err := audit.CheckTrail(ctx, short); !errors.Is(err, audit.ErrTrailMismatch) {
		t.Fatalf("a trail cut short: %v", err)
	}
	other := memory.New()
	for i := range 5 {
		appendAt(t, other, t0.Add(time.Duration(i)*time.Minute))
	}
	if err := other.SaveAuditCheckpoint(ctx, storage.AuditCheckpoint{Seq: last.Seq, Hash: last.Hash, Time: t0}); err != nil {
		t.Fatal(err)
	}
	if err := audit.CheckTrail(ctx, other); !errors.Is(err, audit.ErrTrailMismatch) {
		t.Fatalf("a rewritten trail: %v", err)
	}
}
