package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

func signingKey(id, alg string, at time.Time) storage.SigningKey {
	return storage.SigningKey{ID: id, Algorithm: alg, Public: []byte("pub-" + id), Sealed: []byte("sealed-" + id), CreatedAt: at}
}

// states is each stored key's state, by id.
func states(t *testing.T, s storage.Store) map[string]storage.SigningKeyState {
	t.Helper()
	keys, err := s.ListSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storage.SigningKeyState{}
	for _, k := range keys {
		out[k.ID] = k.State()
	}
	return out
}

// A signing key's life: added as next (one per algorithm), activated by
// compare-and-swap on the active key, which retires that key and stores
// the new next key in the same step; deleted only once retired;
// re-sealed by compare-and-swap.
func testSigningKeys(t *testing.T, b Backend) {
	s := open(t, b)
	if keys, err := s.ListSigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("empty store: %v %v", keys, err)
	}
	if err := s.AddSigningKey(ctx, signingKey("r1", "RS256", t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSigningKey(ctx, signingKey("r9", "RS256", t0)); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("a second next key of one algorithm: %v", err)
	}
	if err := s.AddSigningKey(ctx, signingKey("r1", "ES384", t0)); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("a taken id: %v", err)
	}
	active := signingKey("x", "ES384", t0)
	active.ActivatedAt = t0
	if err := s.AddSigningKey(ctx, active); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("adding an active key: %v", err)
	}
	if err := s.AddSigningKey(ctx, signingKey("e1", "ES384", t0.Add(time.Second))); err != nil {
		t.Errorf("another algorithm's next key: %v", err)
	}
	t1 := t0.Add(time.Hour)
	r2 := signingKey("r2", "RS256", t1)
	refused := []struct {
		name     string
		id, want string
		next     storage.SigningKey
		notFound bool
	}{
		{"expecting a missing active key", "r1", "somebody", r2, false},
		{"a missing key", "nope", "", r2, true},
		{"a new next key of another algorithm", "r1", "", signingKey("e9", "ES384", t1), false},
		{"a new next key whose id is taken", "r1", "", signingKey("e1", "RS256", t1), false},
		{"a new next key that is active", "r1", "", active, false},
	}
	for _, tc := range refused {
		err := s.ActivateSigningKey(ctx, tc.id, tc.want, t1, tc.next)
		if want := storage.ErrConflict; tc.notFound && !errors.Is(err, storage.ErrNotFound) || !tc.notFound && !errors.Is(err, want) {
			t.Errorf("activation with %s: %v", tc.name, err)
		}
	}
	if got, want := states(t, s), map[string]storage.SigningKeyState{"r1": storage.SigningKeyNext, "e1": storage.SigningKeyNext}; !maps.Equal(got, want) {
		t.Fatalf("refused activations changed the keys: %v", got)
	}
	if err := s.ActivateSigningKey(ctx, "r1", "", t1, r2); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSigningKey(ctx, "r1", "", t1, signingKey("r3", "RS256", t1)); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("activating the active key again: %v", err)
	}
	if err := s.DeleteSigningKey(ctx, "r1"); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("deleting the active key: %v", err)
	}
	if err := s.DeleteSigningKey(ctx, "r2"); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("deleting the next key: %v", err)
	}
	t2 := t1.Add(time.Hour)
	if err := s.ActivateSigningKey(ctx, "r2", "", t2, signingKey("r3", "RS256", t2)); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("activation ignoring the active key: %v", err)
	}
	if err := s.ActivateSigningKey(ctx, "r2", "r1", t2, signingKey("r3", "RS256", t2)); err != nil {
		t.Fatal(err)
	}
	want := map[string]storage.SigningKeyState{"r1": storage.SigningKeyRetired, "r2": storage.SigningKeyActive,
		"r3": storage.SigningKeyNext, "e1": storage.SigningKeyNext}
	if got := states(t, s); !maps.Equal(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	keys, err := s.ListSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, k := range keys {
		ids = append(ids, k.ID)
		switch k.ID {
		case "r1":
			if !k.ActivatedAt.Equal(t1) || !k.RetiredAt.Equal(t2) || !k.CreatedAt.Equal(t0) {
				t.Errorf("r1's times: %+v", k)
			}
		case "r2":
			if !k.ActivatedAt.Equal(t2) || !k.RetiredAt.IsZero() || !k.CreatedAt.Equal(t1) {
				t.Errorf("r2's times: %+v", k)
			}
		}
		if !bytes.Equal(k.Public, []byte("pub-"+k.ID)) || !bytes.Equal(k.Sealed, []byte("sealed-"+k.ID)) || k.Algorithm == "" {
			t.Errorf("key %s read back as %+v", k.ID, k)
		}
	}
	if !slices.Equal(ids, []string{"r1", "e1", "r2", "r3"}) {
		t.Errorf("listed %v, want oldest first", ids)
	}

	if err := s.ResealSigningKey(ctx, "r2", []byte("stale"), []byte("new")); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("reseal from a stale form: %v", err)
	}
	if err := s.ResealSigningKey(ctx, "gone", []byte("sealed-r2"), []byte("new")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("reseal of a missing key: %v", err)
	}
	if wins := race(t, 20, func(i int) error { return s.ResealSigningKey(ctx, "r2", []byte("sealed-r2"), []byte{'n', byte(i)}) }); wins != 1 {
		t.Errorf("%d concurrent reseals won, want 1", wins)
	}
	if err := s.DeleteSigningKey(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSigningKey(ctx, "r1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleting a deleted key: %v", err)
	}
	if b.Reopen != nil {
		s = b.Reopen(t, s)
		t.Cleanup(func() { _ = s.Close() })
		want = map[string]storage.SigningKeyState{"r2": storage.SigningKeyActive, "r3": storage.SigningKeyNext, "e1": storage.SigningKeyNext}
		if got := states(t, s); !maps.Equal(got, want) {
			t.Errorf("after reopen: %v, want %v", got, want)
		}
	}
}

// Nodes rotating at once: one next key is added and one activation wins.
func testSigningKeysConcurrent(t *testing.T, b Backend) {
	s := open(t, b)
	if wins := race(t, 30, func(i int) error {
		return s.AddSigningKey(ctx, signingKey(string(rune('a'+i)), "RS256", t0))
	}); wins != 1 {
		t.Fatalf("%d next keys added at once, want 1", wins)
	}
	var next string
	for id := range states(t, s) {
		next = id
	}
	if wins := race(t, 30, func(i int) error {
		return s.ActivateSigningKey(ctx, next, "", t0, signingKey(fmt.Sprint("y", i), "RS256", t0))
	}); wins != 1 {
		t.Fatalf("%d activations won, want 1", wins)
	}
	var second string
	for id, st := range states(t, s) {
		if st == storage.SigningKeyNext {
			second = id
		}
	}
	if wins := race(t, 30, func(i int) error {
		return s.ActivateSigningKey(ctx, second, next, t0.Add(time.Hour), signingKey(fmt.Sprint("z", i), "RS256", t0.Add(time.Hour)))
	}); wins != 1 {
		t.Fatalf("%d second activations won, want 1", wins)
	}
	count := map[storage.SigningKeyState]int{}
	for _, st := range states(t, s) {
		count[st]++
	}
	if count[storage.SigningKeyRetired] != 1 || count[storage.SigningKeyActive] != 1 || count[storage.SigningKeyNext] != 1 {
		t.Fatalf("after concurrent activations: %v", states(t, s))
	}
	want := map[string]storage.SigningKeyState{next: storage.SigningKeyRetired, second: storage.SigningKeyActive}
	delete(want, "")
	for id, st := range want {
		if states(t, s)[id] != st {
			t.Fatalf("key %s is %s, want %s", id, states(t, s)[id], st)
		}
	}
}

// Integration states: created once, replaced by compare-and-swap on the
// version, kept across a reopen.
func testIntegrationStates(t *testing.T, b Backend) {
	s := open(t, b)
	st := storage.IntegrationState{ID: "i1", ARN: "arn:aws:keyless::111122223333:integration/team/scan", Status: "configuring",
		DeclaredAt: t0, Version: 1}
	if err := s.PutIntegrationState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := s.PutIntegrationState(ctx, st); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("creating it twice: %v", err)
	}
	next := st
	next.Version, next.Status, next.CheckedAt, next.SucceededAt, next.AssumedARN = 2, "active", t0.Add(time.Minute), t0.Add(time.Minute), "arn:aws:sts::210987654321:assumed-role/R/s"
	if wins := race(t, 20, func(int) error { return s.PutIntegrationState(ctx, next) }); wins != 1 {
		t.Errorf("%d concurrent updates of one version won, want 1", wins)
	}
	stale := st
	stale.Version = 2
	stale.Status = "error"
	if err := s.PutIntegrationState(ctx, stale); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("an update from a stale version: %v", err)
	}
	if err := s.PutIntegrationState(ctx, storage.IntegrationState{ID: "i0", Status: "deleted", Version: 1}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		list, err := s.ListIntegrationStates(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "i0" || list[1].ID != "i1" {
			t.Fatalf("%s: %+v %v", when, list, err)
		}
		got := list[1]
		if got.Status != "active" || got.Version != 2 || !got.SucceededAt.Equal(next.SucceededAt) || got.AssumedARN != next.AssumedARN ||
			!got.DeclaredAt.Equal(t0) || got.ARN != st.ARN {
			t.Errorf("%s: %+v", when, got)
		}
	}
	check("stored")
	if b.Reopen != nil {
		s = b.Reopen(t, s)
		t.Cleanup(func() { _ = s.Close() })
		check("after reopen")
	}
}
