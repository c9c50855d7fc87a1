package ops_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/identity"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/ops"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

var ctx = context.Background()

func newService(t *testing.T) (*ops.Service, *memory.Store, *clock.Fake) {
	t.Helper()
	store := memory.New()
	c := clock.NewFake(time.Date(2026, 12, 7, 12, 0, 0, 500, time.UTC))
	set, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ops.New(ops.Options{Store: store, KEK: set, Clock: c, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler)}), store, c
}

func TestRevokeSessions(t *testing.T) {
	s, store, c := newService(t)
	id, err := store.ClaimID(ctx, identity.RoleKey("111122223333", "Demo"), "AROAEXAMPLEEXAMPLE123")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.RevokeSessions(ctx, "arn:aws:iam::111122223333:role/Demo")
	if err != nil || rev.UniqueID != id || !rev.Before.Equal(c.Now().UTC()) || rev.Within <= 0 {
		t.Fatalf("%+v, %v", rev, err)
	}
	got, err := store.SessionRevocations(ctx)
	if err != nil || !got[id].Equal(rev.Before) {
		t.Errorf("stored %v, %v", got, err)
	}
	if _, err := s.RevokeSessions(ctx, "arn:aws:iam::111122223333:user/nobody"); !errors.Is(err, identity.ErrUnknownPrincipal) {
		t.Errorf("unknown user: %v", err)
	}
}

func TestKeys(t *testing.T) {
	s, _, c := newService(t)
	first, err := s.RotateKey(ctx) // the ring's first key, then a rotation
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	second, err := s.RotateKey(ctx)
	if err != nil || second.ID == first.ID {
		t.Fatalf("%+v, %v", second, err)
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, k := range keys {
		if k.Active {
			active++
			if k.ID != second.ID {
				t.Errorf("active key %d, want %d", k.ID, second.ID)
			}
		} else if k.RetiredAt.IsZero() {
			t.Errorf("retired key %d without a retirement time", k.ID)
		}
	}
	if active != 1 || len(keys) != 3 {
		t.Errorf("%d keys, %d active: %+v", len(keys), active, keys)
	}
}

func TestAudit(t *testing.T) {
	s, store, _ := newService(t)
	recs := []storage.AuditRecord{{EventName: "A", JSON: []byte(`{"a":1}`)}, {EventName: "B", JSON: []byte(`{"b":2}`)}}
	if err := store.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := s.Audit(ctx, storage.AuditFilter{EventName: "B"}, func(r storage.AuditRecord) error {
		names = append(names, r.EventName)
		return nil
	}); err != nil || len(names) != 1 {
		t.Errorf("%v, %v", names, err)
	}
	if rep, err := s.VerifyAudit(ctx, nil); rep.Records != 2 || err != nil {
		t.Errorf("VerifyAudit: %+v, %v", rep, err)
	}
}
