package keyring_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

func newKEK(t *testing.T) *kek.Set {
	t.Helper()
	s, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// What storage holds opens nothing without the key-encryption key: it is
// not the key, and a ring with another key-encryption key refuses to load.
func TestKeysSealedAtRest(t *testing.T) {
	store := memory.New()
	c := clock.NewFake(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	o := opts(store, c)
	o.KEK = newKEK(t)
	r, err := keyring.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	id, box := seal(t, r)
	stored, err := store.ListMasterKeys(ctx)
	if err != nil || len(stored) != 1 {
		t.Fatalf("%v %v", stored, err)
	}
	if sealedID, _, err := kek.SealedWith(stored[0].Sealed); err != nil || sealedID != o.KEK.Current.ID() {
		t.Errorf("stored key sealed with %q, %v; want %q", sealedID, err, o.KEK.Current.ID())
	}
	// The stored bytes, taken for the key, open no token.
	clear := memory.New()
	if err := clear.RotateMasterKey(ctx, storage.MasterKey{ID: id, Sealed: stored[0].Sealed[len(stored[0].Sealed)-32:], CreatedAt: c.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.SealClearKeys(ctx, clear, o.KEK, rand.Reader); err != nil {
		t.Fatal(err)
	}
	thief, err := keyring.Open(ctx, keyring.Options{Store: clear, KEK: o.KEK, Clock: c, Random: rand.Reader, Logger: o.Logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := open(thief, id, box); err == nil {
		t.Fatal("the stored bytes opened a token")
	}
	// Another key-encryption key: the ring does not load at all.
	o2 := o
	o2.KEK = newKEK(t)
	if _, err := keyring.Open(ctx, o2); !errors.Is(err, kek.ErrUnknownKEK) {
		t.Fatalf("open with another key-encryption key: %v", err)
	}
	// A sealed key altered by one bit does not load either.
	altered := bytes.Clone(stored[0].Sealed)
	altered[len(altered)-1] ^= 1
	if err := store.ResealMasterKey(ctx, id, stored[0].Sealed, altered); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Open(ctx, o); err == nil {
		t.Fatal("an altered sealed key loaded")
	}
}

// A key stored in the clear (by a keyless before sealing) is refused until
// an operator seals it; then it opens what it sealed before.
func TestClearKeysRefusedUntilSealed(t *testing.T) {
	store := memory.New()
	c := clock.NewFake(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	material := bytes.Repeat([]byte{9}, 32)
	if err := store.RotateMasterKey(ctx, storage.MasterKey{ID: 1, Sealed: material, CreatedAt: c.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Open(ctx, opts(store, c)); !errors.Is(err, keyring.ErrClearKey) {
		t.Fatalf("clear key: %v", err)
	}
	n, err := keyring.SealClearKeys(ctx, store, testKEK, rand.Reader)
	if err != nil || n != 1 {
		t.Fatalf("sealed %d: %v", n, err)
	}
	if n, err := keyring.SealClearKeys(ctx, store, testKEK, rand.Reader); err != nil || n != 0 {
		t.Fatalf("sealing again sealed %d: %v", n, err)
	}
	r, err := keyring.Open(ctx, opts(store, c))
	if err != nil {
		t.Fatal(err)
	}
	if id, _, err := r.Active(keyring.SessionToken); err != nil || id != 1 {
		t.Fatalf("active %d: %v", id, err)
	}
	// A clear key planted beside sealed ones (by someone with write access
	// to the database, who knows it) is never adopted (found in review).
	if err := store.RotateMasterKey(ctx, storage.MasterKey{ID: 2, Sealed: bytes.Repeat([]byte{7}, 32), CreatedAt: c.Now()}, 1); err != nil {
		t.Fatal(err)
	}
	if n, err := keyring.SealClearKeys(ctx, store, testKEK, rand.Reader); err == nil || n != 0 {
		t.Fatalf("a planted clear key was sealed: %d %v", n, err)
	}
	if err := r.Refresh(ctx); !errors.Is(err, keyring.ErrClearKey) {
		t.Fatalf("a ring meeting the planted key: %v", err)
	}
}

// Rotating the key-encryption key: with the new one current and the old
// one previous, every stored key is re-sealed under the new one and every
// token sealed before still opens; then the old one can go.
func TestKEKRotationReseals(t *testing.T) {
	store := memory.New()
	c := clock.NewFake(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	oldKEK, newKEK := newKEK(t), newKEK(t)
	o := opts(store, c)
	o.KEK = oldKEK
	r, err := keyring.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	id1, box1 := seal(t, r)
	if _, err := r.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	id2, box2 := seal(t, r)

	// A running ring moves without a restart (a reload).
	both := &kek.Set{Current: newKEK.Current, Previous: []kek.Wrapper{oldKEK.Current}}
	if err := r.UseKEK(ctx, &kek.Set{Current: newKEK.Current}); err == nil {
		t.Fatal("a set without the key-encryption key that sealed the keys was taken")
	}
	if err := open(r, id1, box1); err != nil {
		t.Fatalf("after a refused switch: %v", err)
	}
	if err := r.UseKEK(ctx, both); err != nil {
		t.Fatal(err)
	}
	stored, err := store.ListMasterKeys(ctx)
	if err != nil || len(stored) != 2 {
		t.Fatal(stored, err)
	}
	for _, k := range stored {
		if id, _, _ := kek.SealedWith(k.Sealed); id != newKEK.Current.ID() {
			t.Errorf("key %d still sealed with %s", k.ID, id)
		}
	}
	for id, box := range map[uint32][]byte{id1: box1, id2: box2} {
		if err := open(r, id, box); err != nil {
			t.Errorf("token under key %d after the switch: %v", id, err)
		}
	}
	// The old key-encryption key is no longer needed.
	o.KEK = &kek.Set{Current: newKEK.Current}
	fresh, err := keyring.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := open(fresh, id1, box1); err != nil {
		t.Errorf("a new ring with only the new key-encryption key: %v", err)
	}
}

// Another node started with the new set re-seals on open; a node with
// both sets sees the re-sealed keys on its next maintenance.
func TestKEKRotationAcrossNodes(t *testing.T) {
	store := memory.New()
	c := clock.NewFake(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	oldKEK, newKEK := newKEK(t), newKEK(t)
	o := opts(store, c)
	o.KEK = &kek.Set{Current: oldKEK.Current, Previous: []kek.Wrapper{newKEK.Current}}
	a, err := keyring.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	id, box := seal(t, a)
	o.KEK = &kek.Set{Current: newKEK.Current, Previous: []kek.Wrapper{oldKEK.Current}}
	if _, err := keyring.Open(ctx, o); err != nil {
		t.Fatal(err)
	}
	stored, _ := store.ListMasterKeys(ctx)
	if sid, _, _ := kek.SealedWith(stored[0].Sealed); sid != newKEK.Current.ID() {
		t.Fatalf("not re-sealed: %s", sid)
	}
	if err := a.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := open(a, id, box); err != nil {
		t.Fatal(err)
	}
	// a, whose current key is the old one, does not re-seal back.
	stored, _ = store.ListMasterKeys(ctx)
	if sid, _, _ := kek.SealedWith(stored[0].Sealed); sid != newKEK.Current.ID() {
		t.Fatalf("re-sealed back to %s", sid)
	}
}
