package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Checkpoints only move forward; one at the same seq with another hash is
// a fork; of 50 concurrent saves the highest stays.
func testAuditCheckpoints(t *testing.T, b Backend) {
	s := open(t, b)
	if _, err := s.AuditCheckpoint(ctx); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("no checkpoint yet: %v", err)
	}
	h := func(n byte) [32]byte { return [32]byte{n, 1, 2, 3} }
	save := func(seq int64, hash [32]byte) error {
		return s.SaveAuditCheckpoint(ctx, storage.AuditCheckpoint{Seq: seq, Hash: hash, Time: t0.Add(time.Duration(seq) * time.Second)})
	}
	want := func(seq int64, hash [32]byte) {
		t.Helper()
		c, err := s.AuditCheckpoint(ctx)
		if err != nil || c.Seq != seq || c.Hash != hash || !c.Time.Equal(t0.Add(time.Duration(seq)*time.Second)) {
			t.Fatalf("checkpoint %+v %v, want seq %d", c, err, seq)
		}
	}
	if err := save(5, h(5)); err != nil {
		t.Fatal(err)
	}
	want(5, h(5))
	if err := save(3, h(3)); err != nil {
		t.Fatalf("an earlier checkpoint: %v", err)
	}
	want(5, h(5))
	if err := save(5, h(5)); err != nil {
		t.Fatalf("the same checkpoint again: %v", err)
	}
	if err := save(5, h(9)); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("another hash at the same seq: %v", err)
	}
	want(5, h(5))
	if err := save(7, h(7)); err != nil {
		t.Fatal(err)
	}
	want(7, h(7))

	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := save(int64(10+i), h(byte(10+i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	want(59, h(59))
	if b.Reopen != nil {
		s = b.Reopen(t, s)
		t.Cleanup(func() { _ = s.Close() })
		want(59, h(59))
	}
}

// Digests are numbered without gaps; of 50 concurrent adds of the next
// one, exactly one is stored; they come back as stored, in order.
func testAuditDigests(t *testing.T, b Backend) {
	s := open(t, b)
	d := func(seq int64, i int) storage.AuditDigest {
		return storage.AuditDigest{Seq: seq, Body: fmt.Appendf(nil, `{"digest":%d,"by":%d}`, seq, i), Signature: bytes.Repeat([]byte{byte(i)}, 64)}
	}
	if err := s.AddAuditDigest(ctx, d(2, 0)); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("digest 2 first: %v", err)
	}
	if err := s.AddAuditDigest(ctx, d(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAuditDigest(ctx, d(1, 1)); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("digest 1 again: %v", err)
	}
	wins := race(t, 50, func(i int) error { return s.AddAuditDigest(ctx, d(2, i)) })
	if wins != 1 {
		t.Fatalf("%d concurrent adds of digest 2 won, want 1", wins)
	}
	for i := int64(3); i <= 600; i++ { // more than a backend reads at once
		if err := s.AddAuditDigest(ctx, d(i, 7)); err != nil {
			t.Fatal(err)
		}
	}
	var got []storage.AuditDigest
	if err := s.ListAuditDigests(ctx, func(d storage.AuditDigest) error { got = append(got, d); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 600 {
		t.Fatalf("%d digests", len(got))
	}
	for i, g := range got {
		if g.Seq != int64(i+1) {
			t.Fatalf("digest %d listed as %d", i+1, g.Seq)
		}
	}
	if want := d(1, 0); !bytes.Equal(got[0].Body, want.Body) || !bytes.Equal(got[0].Signature, want.Signature) {
		t.Errorf("digest 1 round trip: %+v", got[0])
	}
}

// A named key is created once: of 50 concurrent claims, every one returns
// the first stored; re-sealing is a compare-and-swap.
func testSealedKeys(t *testing.T, b Backend) {
	s := open(t, b)
	const name = "audit-digest-ed25519"
	if _, err := s.SealedKey(ctx, name); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("no key yet: %v", err)
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[string]int{}
	)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := s.ClaimSealedKey(ctx, name, storage.SealedKey{Public: []byte{byte(i)}, Sealed: bytes.Repeat([]byte{byte(i)}, 48)})
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(k.Sealed, bytes.Repeat(k.Public, 48)) {
				t.Errorf("claim returned a mixed key: %+v", k)
			}
			mu.Lock()
			got[string(k.Public)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(got) != 1 {
		t.Fatalf("concurrent claims returned %d different keys", len(got))
	}
	stored, err := s.SealedKey(ctx, name)
	if err != nil || got[string(stored.Public)] != 50 {
		t.Fatalf("stored %+v %v, claims saw %v", stored, err, got)
	}
	if k, err := s.ClaimSealedKey(ctx, "other", storage.SealedKey{Public: []byte("p"), Sealed: []byte("s")}); err != nil || string(k.Sealed) != "s" {
		t.Errorf("a second name: %+v %v", k, err)
	}

	if err := s.ResealKey(ctx, name, []byte("stale"), []byte("new")); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("reseal from a stale form: %v", err)
	}
	if err := s.ResealKey(ctx, "missing", stored.Sealed, []byte("new")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("reseal of a missing key: %v", err)
	}
	wins := race(t, 50, func(i int) error { return s.ResealKey(ctx, name, stored.Sealed, []byte{'r', byte(i)}) })
	if wins != 1 {
		t.Errorf("%d concurrent reseals won, want 1", wins)
	}
	k, err := s.SealedKey(ctx, name)
	if err != nil || !bytes.Equal(k.Public, stored.Public) || len(k.Sealed) != 2 || k.Sealed[0] != 'r' {
		t.Errorf("after reseal: %+v %v", k, err)
	}
	if b.Reopen != nil {
		s = b.Reopen(t, s)
		t.Cleanup(func() { _ = s.Close() })
		if again, err := s.SealedKey(ctx, name); err != nil || !bytes.Equal(again.Sealed, k.Sealed) {
			t.Errorf("after reopen: %+v %v", again, err)
		}
	}
}

// A log kept in segments chains across them, reads them all in order,
// compressed or not, and loses to retention only whole closed segments;
// the chain then goes on from the retention record.
func testAuditSegments(t *testing.T, b Backend) {
	s := open(t, b)
	seg, ok := s.(storage.AuditSegments)
	if !ok {
		t.Skip("the backend keeps no segments")
	}
	const total = 3000
	for i := 0; i < total; i += 100 {
		var batch []storage.AuditRecord
		for j := i; j < i+100; j++ {
			batch = append(batch, record("GetCallerIdentity", fmt.Sprintf("AKIA%d", j%3), "arn", t0.Add(time.Duration(j)*time.Second), j))
		}
		if err := s.AppendAudit(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	segs, size, err := seg.AuditSegments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 2 {
		t.Skip("the backend closed no segments in 3000 records")
	}
	if err := seg.CompressAuditSegments(ctx); err != nil {
		t.Fatal(err)
	}
	verifyChain(t, collect(t, s, storage.AuditFilter{}))
	compressed, smaller, err := seg.AuditSegments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if smaller >= size || len(compressed) != len(segs) {
		t.Errorf("compression: %d bytes in %d segments, before %d in %d", smaller, len(compressed), size, len(segs))
	}
	for i, c := range compressed {
		if c.FirstSeq != segs[i].FirstSeq || c.LastSeq != segs[i].LastSeq || (i > 0 && c.FirstSeq != compressed[i-1].LastSeq+1) ||
			c.Closed.Before(t0.Add(time.Duration(c.LastSeq-1)*time.Second)) {
			t.Fatalf("segment %d: %+v", i, c)
		}
	}
	if got := collect(t, s, storage.AuditFilter{AccessKeyID: "AKIA1", AfterSeq: segs[1].FirstSeq, Limit: 3}); len(got) != 3 || got[0].Seq <= segs[1].FirstSeq {
		t.Errorf("a filtered query from the second segment: %+v", got)
	}

	through := compressed[1].LastSeq
	if err := seg.DeleteAuditSegments(ctx, through); err != nil {
		t.Fatal(err)
	}
	left := collect(t, s, storage.AuditFilter{})
	if len(left) != total-int(through) || left[0].Seq != through+1 {
		t.Fatalf("after deleting through %d: %d records from %d", through, len(left), left[0].Seq)
	}
	if _, err := audit.VerifyChain(ctx, s); err == nil {
		t.Error("records deleted without a retention record verify")
	}
	if after, _, err := seg.AuditSegments(ctx); err != nil || len(after) != len(compressed)-2 || after[0].FirstSeq != through+1 {
		t.Errorf("segments after the deletion: %+v %v", after, err)
	}
	if !slices.IsSortedFunc(left, func(a, b storage.AuditRecord) int { return int(a.Seq - b.Seq) }) {
		t.Error("records out of order")
	}
}
