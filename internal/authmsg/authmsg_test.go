package authmsg_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/authmsg"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

func TestSealOpen(t *testing.T) {
	ctx := context.Background()
	kekSet, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Open(ctx, keyring.Options{KEK: kekSet, Store: memory.New(), Clock: clock.NewFake(time.Unix(1_800_000_000, 0)),
		Random: rand.Reader, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Retain: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s := authmsg.NewMessageSealer(ring, rand.Reader)
	short, _ := s.Seal("111122223333", []byte(`{"allowed":false}`))
	long, _ := s.Seal("111122223333", []byte(`{"allowed":false,"context":"`+strings.Repeat("x", 200)+`"}`))
	if len(short) != len(long) {
		t.Errorf("lengths differ within one padding block: %d and %d", len(short), len(long))
	}
	got, err := s.Open(ctx, "111122223333", short)
	if err != nil || string(got) != `{"allowed":false}` {
		t.Fatalf("open: %q %v", got, err)
	}
	flipped := []byte(short)
	flipped[len(flipped)-5] ^= 1
	for name, in := range map[string][2]string{
		"other account": {"444455556666", short},
		"altered":       {"111122223333", string(flipped)},
		"line-broken":   {"111122223333", short[:40] + "\n" + short[40:]},
		"too long":      {"111122223333", strings.Repeat("A", authmsg.MaxEncoded+1)},
		"empty":         {"111122223333", ""},
		"not base64":    {"111122223333", strings.Repeat("*", 80)},
	} {
		if _, err := s.Open(ctx, in[0], in[1]); !errors.Is(err, authmsg.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
