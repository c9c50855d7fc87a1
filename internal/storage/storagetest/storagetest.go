package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Backend opens stores for the suite.
type Backend struct {
	// Open returns a new, empty store. The suite closes it.
	Open func(t *testing.T) storage.Store
	// Reopen, if set, closes s and opens the same database again, to check
	// that state survives a restart.
	Reopen func(t *testing.T, s storage.Store) storage.Store
}

// Run runs the whole suite.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"MasterKeys", testMasterKeys},
		{"MasterKeysConcurrentRotate", testMasterKeysConcurrent},
		{"TOTPSteps", testTOTPSteps},
		{"TOTPStepsConcurrent", testTOTPStepsConcurrent},
		{"MFAFailures", testMFAFailures},
		{"IDs", testIDs},
		{"IDsConcurrentClaim", testIDsConcurrent},
		{"Revocations", testRevocations},
		{"SingleUse", testSingleUse},
		{"SingleUseConcurrent", testSingleUseConcurrent},
		{"Audit", testAudit},
		{"AuditConcurrentAppend", testAuditConcurrent},
		{"Persistence", testPersistence},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

func open(t *testing.T, b Backend) storage.Store {
	s := b.Open(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var ctx = context.Background()

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func key(id uint32, at time.Time) storage.MasterKey {
	m := bytes.Repeat([]byte{byte(id)}, 32)
	return storage.MasterKey{ID: id, Material: secret.NewBytes(m), CreatedAt: at}
}

func testMasterKeys(t *testing.T, b Backend) {
	s := open(t, b)
	keys, err := s.ListMasterKeys(ctx)
	if err != nil || len(keys) != 0 {
		t.Fatalf("empty store: %v %v", keys, err)
	}
	if err := s.RotateMasterKey(ctx, key(1, t0), 0); err != nil {
		t.Fatalf("first key: %v", err)
	}
	if err := s.RotateMasterKey(ctx, key(2, t0), 0); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("stale wantActive: %v", err)
	}
	if err := s.RotateMasterKey(ctx, key(2, t0), 7); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("wrong wantActive: %v", err)
	}
	if err := s.RotateMasterKey(ctx, key(1, t0.Add(time.Hour)), 1); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	if err := s.RotateMasterKey(ctx, key(2, t0.Add(time.Hour)), 1); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	keys, err = s.ListMasterKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("list: %v %v", keys, err)
	}
	if keys[0].ID != 1 || keys[0].Active() || !keys[0].RetiredAt.Equal(t0.Add(time.Hour)) || !keys[0].CreatedAt.Equal(t0) {
		t.Errorf("old key: %+v", keys[0])
	}
	if keys[1].ID != 2 || !keys[1].Active() || !bytes.Equal(keys[1].Material.Reveal(), bytes.Repeat([]byte{2}, 32)) {
		t.Errorf("new key: %+v", keys[1])
	}
	if err := s.DeleteMasterKey(ctx, 2); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("deleting the active key: %v", err)
	}
	if err := s.DeleteMasterKey(ctx, 9); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleting a missing key: %v", err)
	}
	if err := s.DeleteMasterKey(ctx, 1); err != nil {
		t.Errorf("deleting a retired key: %v", err)
	}
	if keys, _ := s.ListMasterKeys(ctx); len(keys) != 1 || keys[0].ID != 2 {
		t.Errorf("after delete: %+v", keys)
	}
}

// 50 nodes try to rotate away from the same active key at once: exactly one
// wins, and exactly one key is active afterwards.
func testMasterKeysConcurrent(t *testing.T, b Backend) {
	s := open(t, b)
	if err := s.RotateMasterKey(ctx, key(1, t0), 0); err != nil {
		t.Fatal(err)
	}
	wins := race(t, 50, func(i int) error { return s.RotateMasterKey(ctx, key(uint32(100+i), t0.Add(time.Minute)), 1) })
	if wins != 1 {
		t.Fatalf("%d rotations won, want 1", wins)
	}
	keys, err := s.ListMasterKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, k := range keys {
		if k.Active() {
			active++
		}
	}
	if active != 1 || len(keys) != 2 {
		t.Fatalf("%d active of %d keys", active, len(keys))
	}
}

// race runs n calls at once and counts the ones that return nil; any error
// other than ErrConflict fails the test.
func race(t *testing.T, n int, fn func(i int) error) int {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		wins  int
		errs  []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, storage.ErrConflict):
				errs = append(errs, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	return wins
}

func testTOTPSteps(t *testing.T, b Backend) {
	s := open(t, b)
	const dev = "arn:aws:iam::111122223333:mfa/bob"
	steps := []struct {
		step int64
		ok   bool
	}{{100, true}, {100, false}, {99, false}, {101, true}, {103, true}, {102, false}}
	for _, c := range steps {
		err := s.UseTOTPStep(ctx, dev, c.step)
		if c.ok != (err == nil) || (!c.ok && !errors.Is(err, storage.ErrConflict)) {
			t.Errorf("step %d: %v", c.step, err)
		}
	}
	if err := s.UseTOTPStep(ctx, "arn:aws:iam::111122223333:mfa/alice", 100); err != nil {
		t.Errorf("devices are independent: %v", err)
	}
}

// 50 concurrent requests with the same code: exactly one succeeds.
func testTOTPStepsConcurrent(t *testing.T, b Backend) {
	s := open(t, b)
	for round := int64(1); round <= 3; round++ {
		wins := race(t, 50, func(int) error { return s.UseTOTPStep(ctx, "dev", 1000+round) })
		if wins != 1 {
			t.Fatalf("round %d: %d successes, want 1", round, wins)
		}
	}
}

func testMFAFailures(t *testing.T, b Backend) {
	s := open(t, b)
	w1, w2 := t0, t0.Add(5*time.Minute)
	for i := 1; i <= 3; i++ {
		n, err := s.AddMFAFailure(ctx, "dev", w1)
		if err != nil || n != i {
			t.Fatalf("failure %d: %d %v", i, n, err)
		}
	}
	if n, err := s.MFAFailures(ctx, "dev", w1); err != nil || n != 3 {
		t.Errorf("count: %d %v", n, err)
	}
	if n, err := s.MFAFailures(ctx, "other", w1); err != nil || n != 0 {
		t.Errorf("other device: %d %v", n, err)
	}
	if n, err := s.AddMFAFailure(ctx, "dev", w2); err != nil || n != 1 {
		t.Errorf("new window: %d %v", n, err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = s.AddMFAFailure(ctx, "dev2", w1) }()
	}
	wg.Wait()
	if n, err := s.MFAFailures(ctx, "dev2", w1); err != nil || n != 20 {
		t.Errorf("concurrent failures counted %d (%v), want 20", n, err)
	}
}

func testIDs(t *testing.T, b Backend) {
	s := open(t, b)
	if id, err := s.ClaimID(ctx, "user:111122223333:alice", "AIDA1"); err != nil || id != "AIDA1" {
		t.Fatalf("first claim: %q %v", id, err)
	}
	if id, err := s.ClaimID(ctx, "user:111122223333:alice", "AIDA2"); err != nil || id != "AIDA1" {
		t.Fatalf("second claim: %q %v", id, err)
	}
	if _, err := s.ClaimID(ctx, "user:111122223333:bob", "AIDA3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimID(ctx, "deployment", "d-1"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListIDs(ctx, "user:")
	if err != nil || len(got) != 2 || got["user:111122223333:bob"] != "AIDA3" {
		t.Fatalf("list: %v %v", got, err)
	}
	if err := s.ReleaseID(ctx, "user:111122223333:alice"); err != nil {
		t.Fatal(err)
	}
	if id, err := s.ClaimID(ctx, "user:111122223333:alice", "AIDA4"); err != nil || id != "AIDA4" {
		t.Fatalf("claim after release: %q %v", id, err)
	}
}

func testIDsConcurrent(t *testing.T, b Backend) {
	s := open(t, b)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[string]int{}
	)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := s.ClaimID(ctx, "k", fmt.Sprintf("id-%d", i))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			got[id]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(got) != 1 {
		t.Fatalf("concurrent claims disagree: %v", got)
	}
}

func record(name, akid, principal string, at time.Time, i int) storage.AuditRecord {
	return storage.AuditRecord{Time: at, EventName: name, AccessKeyID: akid, PrincipalARN: principal,
		JSON: fmt.Appendf(nil, `{"eventName":%q,"n":%d}`, name, i)}
}

func collect(t *testing.T, s storage.Store, f storage.AuditFilter) []storage.AuditRecord {
	t.Helper()
	var out []storage.AuditRecord
	if err := s.QueryAudit(ctx, f, func(r storage.AuditRecord) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// verifyChain checks sequence numbers 1..n without gaps and the hash chain.
func verifyChain(t *testing.T, recs []storage.AuditRecord) {
	t.Helper()
	var prev [32]byte
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		if want := storage.ChainHash(prev, r.Seq, r.JSON); r.Hash != want {
			t.Fatalf("record %d: hash chain broken", r.Seq)
		}
		prev = r.Hash
	}
}

func testAudit(t *testing.T, b Backend) {
	s := open(t, b)
	batch := []storage.AuditRecord{
		record("GetCallerIdentity", "AKIA1", "arn:a", t0, 1),
		record("GetSessionToken", "AKIA1", "arn:a", t0.Add(time.Second), 2),
		record("GetSessionToken", "AKIA2", "arn:b", t0.Add(2*time.Second), 3),
	}
	if err := s.AppendAudit(ctx, batch); err != nil {
		t.Fatal(err)
	}
	issuing := record("GetSessionToken", "AKIA2", "arn:b", t0.Add(3*time.Second), 4)
	issuing.IssuedKeyID = "ASIA3"
	if err := s.AppendAudit(ctx, []storage.AuditRecord{issuing, record("GetAccessKeyInfo", "ASIA3", "arn:a", t0.Add(4*time.Second), 5)}); err != nil {
		t.Fatal(err)
	}
	all := collect(t, s, storage.AuditFilter{})
	if len(all) != 5 {
		t.Fatalf("got %d records", len(all))
	}
	verifyChain(t, all)
	if !all[1].Time.Equal(t0.Add(time.Second)) || all[1].EventName != "GetSessionToken" || string(all[1].JSON) != string(batch[1].JSON) {
		t.Errorf("record 2 round trip: %+v", all[1])
	}
	cases := []struct {
		f    storage.AuditFilter
		want []int64
	}{
		{storage.AuditFilter{EventName: "GetSessionToken"}, []int64{2, 3, 4}},
		{storage.AuditFilter{AccessKeyID: "AKIA1"}, []int64{1, 2}},
		{storage.AuditFilter{AccessKeyID: "ASIA3"}, []int64{4, 5}},
		{storage.AuditFilter{PrincipalARN: "arn:a"}, []int64{1, 2, 5}},
		{storage.AuditFilter{From: t0.Add(time.Second), To: t0.Add(3 * time.Second)}, []int64{2, 3}},
		{storage.AuditFilter{AfterSeq: 2}, []int64{3, 4, 5}},
		{storage.AuditFilter{Limit: 1, PrincipalARN: "arn:a", AfterSeq: 1}, []int64{2}},
		{storage.AuditFilter{EventName: "Nope"}, nil},
	}
	for _, c := range cases {
		var got []int64
		for _, r := range collect(t, s, c.f) {
			got = append(got, r.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("filter %+v: got %v want %v", c.f, got, c.want)
		}
	}
}

func testAuditConcurrent(t *testing.T, b Backend) {
	s := open(t, b)
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []storage.AuditRecord
			for i := range 10 {
				batch = append(batch, record("GetCallerIdentity", fmt.Sprintf("AKIA%d", g), "arn", t0, g*10+i))
			}
			if err := s.AppendAudit(ctx, batch); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	all := collect(t, s, storage.AuditFilter{})
	if len(all) != 500 {
		t.Fatalf("got %d records, want 500", len(all))
	}
	verifyChain(t, all)
	// each batch stays contiguous: all-or-none, in order
	for i := 0; i < 500; i += 10 {
		for j := 1; j < 10; j++ {
			if all[i+j].AccessKeyID != all[i].AccessKeyID {
				t.Fatalf("batch starting at seq %d interleaved", all[i].Seq)
			}
		}
	}
}

func testPersistence(t *testing.T, b Backend) {
	if b.Reopen == nil {
		t.Skip("backend is not durable")
	}
	s := b.Open(t)
	if err := s.RotateMasterKey(ctx, key(5, t0), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.UseTOTPStep(ctx, "dev", 42); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimID(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, []storage.AuditRecord{record("E", "A", "P", t0, 1)}); err != nil {
		t.Fatal(err)
	}
	s = b.Reopen(t, s)
	t.Cleanup(func() { _ = s.Close() })
	if keys, err := s.ListMasterKeys(ctx); err != nil || len(keys) != 1 || keys[0].ID != 5 || !keys[0].Active() {
		t.Errorf("keys after reopen: %+v %v", keys, err)
	}
	if err := s.UseTOTPStep(ctx, "dev", 42); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("used step forgotten after reopen: %v", err)
	}
	if id, err := s.ClaimID(ctx, "k", "other"); err != nil || id != "v" {
		t.Errorf("id after reopen: %q %v", id, err)
	}
	if err := s.AppendAudit(ctx, []storage.AuditRecord{record("E", "A", "P", t0, 2)}); err != nil {
		t.Fatal(err)
	}
	verifyChain(t, collect(t, s, storage.AuditFilter{}))
}

func testRevocations(t *testing.T, b Backend) {
	s := open(t, b)
	got, err := s.SessionRevocations(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v %v", got, err)
	}
	at := t0.Add(123456 * time.Microsecond)
	for _, step := range []struct {
		principal string
		before    time.Time
	}{
		{"AROAONE", at},
		{"AROAONE", at.Add(-time.Hour)}, // earlier: ignored
		{"AIDATWO", at.Add(time.Minute)},
		{"AIDATWO", at.Add(2 * time.Minute)}, // later: moves forward
	} {
		if err := s.RevokeSessions(ctx, step.principal, step.before); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]time.Time{"AROAONE": at, "AIDATWO": at.Add(2 * time.Minute)}
	check := func(s storage.Store) {
		t.Helper()
		got, err := s.SessionRevocations(ctx)
		if err != nil || len(got) != len(want) {
			t.Fatalf("got %v %v", got, err)
		}
		for k, v := range want {
			if !got[k].Equal(v) {
				t.Errorf("%s: %v, want %v", k, got[k], v)
			}
		}
	}
	check(s)
	if b.Reopen != nil {
		check(b.Reopen(t, s))
	}
}

func testSingleUse(t *testing.T, b Backend) {
	s := open(t, b)
	until := t0.Add(15 * time.Minute)
	if err := s.UseOnce(ctx, "sig:a", until, t0); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := s.UseOnce(ctx, "sig:a", until.Add(time.Hour), t0.Add(time.Minute)); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("second use before expiry: %v, want ErrConflict", err)
	}
	if err := s.UseOnce(ctx, "sig:b", until, t0); err != nil {
		t.Fatalf("other key: %v", err)
	}
	// At its expiry the record no longer blocks, and the new use holds
	// until its own time.
	if err := s.UseOnce(ctx, "sig:a", until.Add(time.Hour), until); err != nil {
		t.Fatalf("use after expiry: %v", err)
	}
	if err := s.UseOnce(ctx, "sig:a", until, until.Add(time.Minute)); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("the renewed record was not kept: %v", err)
	}
	for _, k := range []string{"", strings.Repeat("k", storage.MaxSingleUseKey+1)} {
		if err := s.UseOnce(ctx, k, until, t0); err == nil {
			t.Errorf("key of %d bytes accepted", len(k))
		}
	}
	// Many expired records do not block new ones (backends prune).
	for i := range 600 {
		if err := s.UseOnce(ctx, fmt.Sprintf("old:%d", i), t0.Add(time.Second), t0); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 600 {
		if err := s.UseOnce(ctx, fmt.Sprintf("old:%d", i), t0.Add(time.Hour), t0.Add(time.Minute)); err != nil {
			t.Fatalf("expired record %d still blocks: %v", i, err)
		}
	}
	if b.Reopen != nil {
		s = b.Reopen(t, s)
		if err := s.UseOnce(ctx, "sig:b", until, t0.Add(time.Minute)); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("a use was forgotten across a restart: %v", err)
		}
	}
}

// 50 concurrent uses of one value: exactly one succeeds (security.md F-16).
func testSingleUseConcurrent(t *testing.T, b Backend) {
	s := open(t, b)
	for round := range 3 {
		k := fmt.Sprintf("sig:%d", round)
		if wins := race(t, 50, func(int) error { return s.UseOnce(ctx, k, t0.Add(time.Hour), t0) }); wins != 1 {
			t.Fatalf("round %d: %d successes, want 1", round, wins)
		}
	}
}
