package keyring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

var ctx = context.Background()

// testKEK is the key-encryption key of every ring in these tests but
// those about sealing.
var testKEK = must(kek.Ephemeral(rand.Reader))

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func opts(s *memory.Store, c *clock.Fake) keyring.Options {
	return keyring.Options{Store: s, KEK: testKEK, Clock: c, Random: rand.Reader, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Retain: 37 * time.Hour, RotateEvery: 30 * 24 * time.Hour}
}

func seal(t *testing.T, r *keyring.Ring) (uint32, []byte) {
	t.Helper()
	id, a, err := r.Active(keyring.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, a.NonceSize())
	return id, a.Seal(nonce, nonce, []byte("hello"), nil)
}

func open(r *keyring.Ring, id uint32, box []byte) error {
	a, err := r.Lookup(ctx, id, keyring.SessionToken)
	if err != nil {
		return err
	}
	_, err = a.Open(nil, box[:a.NonceSize()], box[a.NonceSize():], nil)
	return err
}

func TestBootstrapRotateRetainPrune(t *testing.T) {
	store := memory.New()
	c := clock.NewFake(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))
	r, err := keyring.Open(ctx, opts(store, c))
	if err != nil {
		t.Fatal(err)
	}
	id1, box1 := seal(t, r)
	if id1 != 1 {
		t.Fatalf("first key id %d", id1)
	}
	// Another node sharing the store sees the same key and opens the box.
	other, err := keyring.Open(ctx, opts(store, c))
	if err != nil {
		t.Fatal(err)
	}
	if err := open(other, id1, box1); err != nil {
		t.Fatalf("other node: %v", err)
	}
	// Rotation on this node; the other node learns the new key when it
	// meets a token sealed under it.
	if _, err := r.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	id2, box2 := seal(t, r)
	if id2 != 2 {
		t.Fatalf("rotated key id %d", id2)
	}
	c.Advance(2 * time.Second)
	if err := open(other, id2, box2); err != nil {
		t.Fatalf("other node, new key: %v", err)
	}
	if err := open(r, id1, box1); err != nil {
		t.Fatalf("retired key must still open: %v", err)
	}
	// Before Retain has passed the old key stays; after, it is deleted.
	c.Advance(36 * time.Hour)
	if err := r.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := open(r, id1, box1); err != nil {
		t.Fatalf("key deleted too early: %v", err)
	}
	c.Advance(2 * time.Hour)
	if err := r.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := open(r, id1, box1); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Fatalf("key past retention: %v", err)
	}
	if err := open(r, id2, box2); err != nil {
		t.Fatal(err)
	}
}

func TestPurposesUseDifferentKeys(t *testing.T) {
	r, err := keyring.Open(ctx, opts(memory.New(), clock.NewFake(time.Unix(0, 0))))
	if err != nil {
		t.Fatal(err)
	}
	id, box := seal(t, r)
	a, err := r.Lookup(ctx, id, keyring.Purpose("other"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Open(nil, box[:a.NonceSize()], box[a.NonceSize():], nil); err == nil {
		t.Fatal("a box sealed for one purpose opened under another")
	}
}

func TestAutomaticRotation(t *testing.T) {
	c := clock.NewFake(time.Unix(1_800_000_000, 0))
	r, err := keyring.Open(ctx, opts(memory.New(), c))
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(29 * 24 * time.Hour)
	if err := r.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := r.Active(keyring.SessionToken); id != 1 {
		t.Fatalf("rotated early: %d", id)
	}
	c.Advance(48 * time.Hour)
	if err := r.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := r.Active(keyring.SessionToken); id != 2 {
		t.Fatalf("not rotated: %d", id)
	}
}

// Nodes rotating at the same moment end up agreeing on one new key.
func TestConcurrentRotation(t *testing.T) {
	store := memory.New()
	c := clock.NewFake(time.Unix(1_800_000_000, 0))
	var rings []*keyring.Ring
	for range 10 {
		r, err := keyring.Open(ctx, opts(store, c))
		if err != nil {
			t.Fatal(err)
		}
		rings = append(rings, r)
	}
	var wg sync.WaitGroup
	ids := make([]uint32, len(rings))
	for i, r := range rings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := r.Rotate(ctx)
			if err != nil {
				t.Error(err)
			}
			ids[i] = k.ID
		}()
	}
	wg.Wait()
	keys, _ := store.ListMasterKeys(ctx)
	active := 0
	for _, k := range keys {
		if k.Active() {
			active++
		}
	}
	if active != 1 {
		t.Fatalf("%d active keys", active)
	}
}

// MAC keys are per key and purpose, the same on every node, and a retired
// key's stays available for what it authenticated.
func TestMACKeys(t *testing.T) {
	store, c := memory.New(), clock.NewFake(time.Unix(0, 0))
	r := must(keyring.Open(ctx, opts(store, c)))
	id, k := mustMAC(t)(r.ActiveMACKey(keyring.LoginRefreshToken))
	if len(k) != 32 {
		t.Fatalf("a %d-byte key", len(k))
	}
	other := must(keyring.Open(ctx, opts(store, c)))
	if k2 := must(other.MACKey(ctx, id, keyring.LoginRefreshToken)); !bytes.Equal(k, k2) {
		t.Error("two nodes derive different MAC keys from one master key")
	}
	if k3 := must(r.MACKey(ctx, id, keyring.SessionToken)); bytes.Equal(k, k3) {
		t.Error("two purposes share a MAC key")
	}
	if _, err := r.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	id2, k4 := mustMAC(t)(r.ActiveMACKey(keyring.LoginRefreshToken))
	if id2 == id || bytes.Equal(k4, k) {
		t.Errorf("after a rotation the active MAC key is %d, as before", id2)
	}
	if k5 := must(r.MACKey(ctx, id, keyring.LoginRefreshToken)); !bytes.Equal(k5, k) {
		t.Error("the retired key's MAC key changed")
	}
	if _, err := r.MACKey(ctx, 999, keyring.LoginRefreshToken); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("an unknown key: %v", err)
	}
}

func mustMAC(t *testing.T) func(uint32, []byte, error) (uint32, []byte) {
	return func(id uint32, k []byte, err error) (uint32, []byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id, k
	}
}
