package exchange

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func dryRun(ctx context.Context) context.Context { return context.WithValue(ctx, dryRunKey{}, true) }

// SingleUse: a dry run records nothing but refuses a used value; a real
// use records it until its time; store failures are not conflicts.
func TestSingleUse(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	c := clock.NewFake(t0)
	once := SingleUse(store, c)

	for range 2 {
		if err := once(dryRun(ctx), "k", t0.Add(time.Minute)); err != nil {
			t.Fatalf("dry run of a new value: %v", err)
		}
	}
	if used, err := store.Used(ctx, "k", c.Now()); used || err != nil {
		t.Fatalf("a dry run recorded the value: %v %v", used, err)
	}
	if err := once(ctx, "k", t0.Add(time.Minute)); err != nil {
		t.Fatalf("first use after dry runs: %v", err)
	}
	for name, ctx := range map[string]context.Context{"dry run": dryRun(ctx), "real": ctx} {
		if err := once(ctx, "k", t0.Add(time.Minute)); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("%s of a used value: %v, want ErrConflict", name, err)
		}
	}
	c.Advance(time.Minute) // the record's time has passed
	if err := once(dryRun(ctx), "k", t0.Add(2*time.Minute)); err != nil {
		t.Errorf("dry run after the record's time: %v", err)
	}

	store.Close()
	for name, ctx := range map[string]context.Context{"dry run": dryRun(ctx), "real": ctx} {
		if err := once(ctx, "other", t0.Add(time.Hour)); err == nil || errors.Is(err, storage.ErrConflict) {
			t.Errorf("%s with the store closed: %v, want a failure that is not a conflict", name, err)
		}
	}
}

// In a dry run a challenge is checked, not consumed, and a used one is
// refused (GCIX-11), so explain reports it as the exchange would.
func TestChallengeDryRun(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	c := clock.NewFake(t0)
	kekSet, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Open(ctx, keyring.Options{KEK: kekSet, Store: store, Clock: c, Random: rand.Reader,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Retain: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ch := NewChallenges(ring, c, rand.Reader, SingleUse(store, c))
	v, _, err := ch.Issue("aud")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := ch.CheckChallenge(dryRun(ctx), v, "aud"); err != nil {
			t.Fatalf("dry run of a new challenge: %v", err)
		}
	}
	if err := ch.CheckChallenge(ctx, v, "aud"); err != nil {
		t.Fatalf("the challenge after dry runs: %v", err)
	}
	for name, ctx := range map[string]context.Context{"dry run": dryRun(ctx), "real": ctx} {
		if err := ch.CheckChallenge(ctx, v, "aud"); !errors.Is(err, ErrChallenge) {
			t.Errorf("%s of a used challenge: %v, want ErrChallenge", name, err)
		}
	}
}
