package exchange_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

// Challenges are sealed for one audience, expire, and are accepted once
// (security.md GCIX-11); a store outage is not a bad challenge.
func TestChallenges(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	c := clock.NewFake(now)
	kekSet, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Open(ctx, keyring.Options{KEK: kekSet, Store: store, Clock: c, Random: rand.Reader,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Retain: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	down := false
	ch := exchange.NewChallenges(ring, c, rand.Reader, func(ctx context.Context, key string, until time.Time) error {
		if down {
			return errors.New("store down")
		}
		return store.UseOnce(ctx, key, until, c.Now())
	})
	issue := func() string {
		v, exp, err := ch.Issue(audience)
		if err != nil || !exp.Equal(c.Now().Add(exchange.ChallengeTTL)) {
			t.Fatalf("Issue: %v, expires %v", err, exp)
		}
		return v
	}

	v := issue()
	if err := ch.CheckChallenge(ctx, v, "other-audience"); !errors.Is(err, exchange.ErrChallenge) {
		t.Errorf("another audience: %v", err)
	}
	if err := ch.CheckChallenge(ctx, v, audience); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := ch.CheckChallenge(ctx, v, audience); !errors.Is(err, exchange.ErrChallenge) {
		t.Errorf("reuse: %v", err)
	}
	tampered := []byte(issue())
	tampered[len(tampered)-1] ^= 1
	for _, bad := range []string{"", "x", string(tampered), v + "A"} {
		if err := ch.CheckChallenge(ctx, bad, audience); !errors.Is(err, exchange.ErrChallenge) {
			t.Errorf("challenge %q: %v", bad, err)
		}
	}

	late := issue()
	c.Advance(exchange.ChallengeTTL)
	if err := ch.CheckChallenge(ctx, late, audience); !errors.Is(err, exchange.ErrChallenge) {
		t.Errorf("expired: %v", err)
	}

	down = true
	err = ch.CheckChallenge(ctx, issue(), audience)
	u, ok := err.(interface{ Unavailable() bool })
	if errors.Is(err, exchange.ErrChallenge) || !ok || !u.Unavailable() {
		t.Errorf("store down: %v, want an Unavailable error", err)
	}
}
