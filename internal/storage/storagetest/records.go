package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

func testRecords(t *testing.T, b Backend) {
	s := open(t, b)
	r := storage.Record{Kind: "k", ID: "r1", Owner: "browser-1", Data: []byte(`{"a":1}`), Expires: t0.Add(time.Hour), Version: 1}
	if err := s.PutRecord(ctx, r, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRecord(ctx, r, t0); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("creating it twice: %v", err)
	}
	next := r
	next.Version, next.Data = 2, []byte(`{"a":2}`)
	if wins := race(t, 20, func(int) error { return s.PutRecord(ctx, next, t0) }); wins != 1 {
		t.Errorf("%d concurrent updates of one version won, want 1", wins)
	}
	stale := r
	stale.Version = 2
	stale.Data = []byte(`{"a":"stale"}`)
	if err := s.PutRecord(ctx, stale, t0); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("an update from a stale version: %v", err)
	}
	// Same id, another kind; same owner, another record; another owner.
	for _, o := range []storage.Record{
		{Kind: "other", ID: "r1", Owner: "browser-1", Data: []byte("x"), Expires: t0.Add(time.Hour), Version: 1},
		{Kind: "k", ID: "r0", Owner: "browser-1", Data: []byte("y"), Expires: t0.Add(2 * time.Hour), Version: 1},
		{Kind: "k", ID: "r2", Owner: "browser-2", Data: []byte("z"), Expires: t0.Add(time.Hour), Version: 1},
		{Kind: "k", ID: "short", Owner: "browser-1", Data: []byte("w"), Expires: t0.Add(time.Minute), Version: 1},
	} {
		if err := s.PutRecord(ctx, o, t0); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		got, err := s.GetRecord(ctx, "k", "r1", t0)
		if err != nil || string(got.Data) != `{"a":2}` || got.Version != 2 || got.Owner != "browser-1" || !got.Expires.Equal(r.Expires) ||
			got.Kind != "k" || got.ID != "r1" {
			t.Errorf("%s: %+v %v", when, got, err)
		}
		list, err := s.ListRecords(ctx, "k", "browser-1", t0)
		if err != nil || len(list) != 3 || list[0].ID != "r0" || list[1].ID != "r1" || list[2].ID != "short" || string(list[0].Data) != "y" {
			t.Errorf("%s: list %+v %v", when, list, err)
		}
		// Past its expiry a record is neither got nor listed.
		if _, err := s.GetRecord(ctx, "k", "short", t0.Add(time.Minute)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: an expired record: %v", when, err)
		}
		if list, err := s.ListRecords(ctx, "k", "browser-1", t0.Add(time.Minute)); err != nil || len(list) != 2 {
			t.Errorf("%s: list with one expired: %+v %v", when, list, err)
		}
	}
	check("stored")
	if b.Reopen != nil {
		s = b.Reopen(t, s)
		t.Cleanup(func() { _ = s.Close() })
		check("after reopen")
	}
	// An expired record's id is free again, from version 1.
	later := t0.Add(2 * time.Minute)
	if err := s.PutRecord(ctx, storage.Record{Kind: "k", ID: "short", Owner: "browser-3", Data: []byte("new"), Expires: later.Add(time.Hour), Version: 1}, later); err != nil {
		t.Errorf("reusing an expired record's id: %v", err)
	}
	if got, err := s.GetRecord(ctx, "k", "short", later); err != nil || string(got.Data) != "new" || got.Owner != "browser-3" {
		t.Errorf("the new record: %+v %v", got, err)
	}
	if err := s.DeleteRecord(ctx, "k", "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRecord(ctx, "k", "r1", t0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a deleted record: %v", err)
	}
	if err := s.DeleteRecord(ctx, "k", "never"); err != nil {
		t.Errorf("deleting nothing: %v", err)
	}
	if _, err := s.GetRecord(ctx, "other", "r1", t0); err != nil {
		t.Errorf("deleting one kind's record deleted another's: %v", err)
	}
	for name, bad := range map[string]storage.Record{
		"no kind":    {ID: "x", Expires: t0.Add(time.Hour), Version: 1},
		"no id":      {Kind: "k", Expires: t0.Add(time.Hour), Version: 1},
		"long id":    {Kind: "k", ID: strings.Repeat("i", storage.MaxRecordKey+1), Expires: t0.Add(time.Hour), Version: 1},
		"long owner": {Kind: "k", ID: "x", Owner: strings.Repeat("o", storage.MaxRecordKey+1), Expires: t0.Add(time.Hour), Version: 1},
		"large data": {Kind: "k", ID: "x", Data: make([]byte, storage.MaxRecordData+1), Expires: t0.Add(time.Hour), Version: 1},
	} {
		if err := s.PutRecord(ctx, bad, t0); !errors.Is(err, storage.ErrRecordTooLarge) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// testRecordsCancelled: writers whose callers gave up, among writers that
// did not, fail only themselves (a backend that commits writes together
// must not let one caller's cancelled context fail the others').
func testRecordsCancelled(t *testing.T, b Backend) {
	s := open(t, b)
	gone, cancel := context.WithCancel(ctx)
	cancel()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 200 {
		wg.Go(func() {
			c := ctx
			if i%2 == 1 {
				c = gone
			}
			r := storage.Record{Kind: "k", ID: fmt.Sprint("r", i), Owner: "o", Data: []byte(`{}`), Expires: t0.Add(time.Hour), Version: 1}
			if err := s.PutRecord(c, r, t0); err != nil && c == ctx {
				failed.Add(1)
				t.Errorf("record %d, its caller still waiting: %v", i, err)
			}
			if err := s.UseOnce(c, fmt.Sprint("use-", i), t0.Add(time.Hour), t0); err != nil && c == ctx {
				failed.Add(1)
				t.Errorf("use %d, its caller still waiting: %v", i, err)
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("%d writes failed because other callers gave up", failed.Load())
	}
}
