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
	// Other trails checked against that checkpoint: a store older than
	// the trail (which went on for an hour after the checkpoint), a trail
	// cut short, and another trail in its place.
	for name, c := range map[string]struct {
		times []time.Time
		want  error
	}{
		"a store older than its trail": {[]time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second), t0.Add(3 * time.Second),
			t0.Add(4 * time.Second), t0.Add(time.Hour)}, audit.ErrStaleStore},
		"a trail cut short": {[]time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second)}, audit.ErrTrailMismatch},
		"a rewritten trail": {[]time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute), t0.Add(3 * time.Minute),
			t0.Add(4 * time.Minute)}, audit.ErrTrailMismatch},
	} {
		other := memory.New()
		for _, at := range c.times {
			appendAt(t, other, at)
		}
		if err := other.SaveAuditCheckpoint(ctx, storage.AuditCheckpoint{Seq: last.Seq, Hash: last.Hash, Time: t0.Add(5 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if err := audit.CheckTrail(ctx, other); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}
