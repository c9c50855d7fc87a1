package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
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
		{"Attempts", testAttempts},
		{"AttemptsConcurrent", testAttemptsConcurrent},
		{"IDs", testIDs},
		{"IDsConcurrentClaim", testIDsConcurrent},
		{"Revocations", testRevocations},
		{"SingleUse", testSingleUse},
		{"SingleUseConcurrent", testSingleUseConcurrent},
		{"SingleUseUsed", testSingleUseUsed},
		{"Audit", testAudit},
		{"AuditRoundTrip", testAuditRoundTrip},
		{"AuditFilters", testAuditFilters},
		{"AuditMany", testAuditMany},
		{"AuditConcurrentAppend", testAuditConcurrent},
		{"AuditCheckpoints", testAuditCheckpoints},
		{"AuditDigests", testAuditDigests},
		{"SealedKeys", testSealedKeys},
		{"SigningKeys", testSigningKeys},
		{"SigningKeysConcurrent", testSigningKeysConcurrent},
		{"IntegrationStates", testIntegrationStates},
		{"Records", testRecords},
		{"RecordsCancelled", testRecordsCancelled},
		{"AuditSegments", testAuditSegments},
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
	m := bytes.Repeat([]byte{byte(id)}, 48)
	return storage.MasterKey{ID: id, Sealed: m, CreatedAt: at}
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
	if keys[1].ID != 2 || !keys[1].Active() || !bytes.Equal(keys[1].Sealed, bytes.Repeat([]byte{2}, 48)) {
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

	// Re-sealing (a key-encryption key's rotation) is a compare-and-swap
	// on the sealed form.
	old, resealed := bytes.Repeat([]byte{2}, 48), bytes.Repeat([]byte{7}, 60)
	if err := s.ResealMasterKey(ctx, 2, []byte("not what is stored"), resealed); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("reseal from a stale form: %v", err)
	}
	if err := s.ResealMasterKey(ctx, 9, old, resealed); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("reseal of a missing key: %v", err)
	}
	wins := race(t, 50, func(i int) error {
		return s.ResealMasterKey(ctx, 2, old, append(bytes.Repeat([]byte{7}, 59), byte(i)))
	})
	if wins != 1 {
		t.Errorf("%d concurrent reseals won, want 1", wins)
	}
	keys, err = s.ListMasterKeys(ctx)
	if err != nil || len(keys) != 1 || len(keys[0].Sealed) != 60 || !keys[0].Active() || !keys[0].CreatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("after reseal: %+v %v", keys, err)
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

// Attempts count per key and per window; a return never goes below zero.
func testAttempts(t *testing.T, b Backend) {
	s := open(t, b)
	w1, w2 := t0, t0.Add(5*time.Minute)
	take := func(key string, w time.Time, want int) {
		t.Helper()
		if n, err := s.TakeAttempt(ctx, key, w); err != nil || n != want {
			t.Fatalf("take %s in window +%v: %d %v, want %d", key, w.Sub(t0), n, err, want)
		}
	}
	give := func(key string, w time.Time) {
		t.Helper()
		if err := s.ReturnAttempt(ctx, key, w); err != nil {
			t.Fatalf("return %s in window +%v: %v", key, w.Sub(t0), err)
		}
	}
	for i := 1; i <= 3; i++ {
		take("mfa:dev", w1, i)
	}
	take("mfa:other", w1, 1) // keys are independent
	give("mfa:dev", w1)
	take("mfa:dev", w1, 3)
	give("ip:192.0.2.1", w1) // nothing taken: nothing to give back
	take("ip:192.0.2.1", w1, 1)
	give("ip:192.0.2.1", w1)
	give("ip:192.0.2.1", w1) // never below zero
	take("ip:192.0.2.1", w1, 1)
	take("mfa:dev", w2, 1) // a new window starts from zero
	give("mfa:dev", w1)    // a return to an earlier window leaves it alone
	take("mfa:dev", w2, 2)
	if b.Reopen != nil {
		s = b.Reopen(t, s)
		t.Cleanup(func() { _ = s.Close() })
		take("mfa:dev", w2, 3) // a restart does not lift a limit
	}
}

// 200 concurrent attempts on one key get the counts 1 to 200, each once,
// and 200 concurrent returns bring the count back to zero.
func testAttemptsConcurrent(t *testing.T, b Backend) {
	s := open(t, b)
	const n = 200
	counts := make([]int, n)
	if ok := race(t, n, func(i int) (err error) {
		counts[i], err = s.TakeAttempt(ctx, "mfa:dev", t0)
		return err
	}); ok != n {
		t.Fatalf("%d of %d attempts counted", ok, n)
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("concurrent attempts got counts %v, want 1 to %d each once", counts, n)
		}
	}
	if ok := race(t, n, func(int) error { return s.ReturnAttempt(ctx, "mfa:dev", t0) }); ok != n {
		t.Fatalf("%d of %d returns succeeded", ok, n)
	}
	if c, err := s.TakeAttempt(ctx, "mfa:dev", t0); err != nil || c != 1 {
		t.Fatalf("after every return: %d %v, want 1", c, err)
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
		if want := storage.ChainHash(prev, r); r.Hash != want {
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
	if n, err := audit.VerifyChain(ctx, s); err != nil || n != 5 {
		t.Errorf("audit.VerifyChain: %d %v", n, err)
	}
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

// 50 goroutines append batches of 10 at once while readers verify the
// chain: no gap, no fork, no interleaved batch, and every reader sees a
// gap-free prefix.
func testAuditConcurrent(t *testing.T, b Backend) {
	s := open(t, b)
	var (
		wg, readers sync.WaitGroup
		stop        = make(chan struct{})
	)
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			var seen int64
			for {
				select {
				case <-stop:
					return
				default:
				}
				n, err := audit.VerifyChain(ctx, s)
				if err != nil {
					t.Errorf("while appending: %v", err)
					return
				}
				if n < seen {
					t.Errorf("a reader saw %d records after %d", n, seen)
					return
				}
				seen = n
			}
		}()
	}
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
	close(stop)
	readers.Wait()
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
	all := collect(t, s, storage.AuditFilter{})
	if len(all) != 2 {
		t.Fatalf("%d records after reopen, want 2", len(all))
	}
	verifyChain(t, all)
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

func testSingleUseUsed(t *testing.T, b Backend) {
	s := open(t, b)
	until := t0.Add(15 * time.Minute)
	used := func(k string, now time.Time, want bool) {
		t.Helper()
		if got, err := s.Used(ctx, k, now); err != nil || got != want {
			t.Errorf("Used(%q, %v) = %v, %v; want %v", k, now.Sub(t0), got, err, want)
		}
	}
	used("sig:a", t0, false)
	if err := s.UseOnce(ctx, "sig:a", until, t0); err != nil {
		t.Fatalf("first use after Used: %v", err)
	}
	used("sig:a", t0, true)
	used("sig:a", until.Add(-time.Microsecond), true)
	used("sig:a", until, false) // its time has passed, as for UseOnce
	used("sig:a", until.Add(time.Hour), false)
	// Used records nothing: asking twice, then using, still succeeds.
	used("sig:b", t0, false)
	used("sig:b", t0, false)
	if err := s.UseOnce(ctx, "sig:b", until, t0); err != nil {
		t.Fatalf("UseOnce after Used: %v", err)
	}
	// A renewed record counts from its own time.
	if err := s.UseOnce(ctx, "sig:a", until.Add(time.Hour), until); err != nil {
		t.Fatal(err)
	}
	used("sig:a", until.Add(time.Minute), true)
	for _, k := range []string{"", strings.Repeat("k", storage.MaxSingleUseKey+1)} {
		if _, err := s.Used(ctx, k, t0); err == nil {
			t.Errorf("key of %d bytes accepted", len(k))
		}
	}
	if b.Reopen != nil {
		s = b.Reopen(t, s)
		t.Cleanup(func() { _ = s.Close() })
		used("sig:b", t0.Add(time.Minute), true)
		used("sig:c", t0, false)
	}
}

// withinMicro reports whether got is want, or want cut to the microsecond
// (the precision a backend may keep).
func withinMicro(got, want time.Time) bool {
	return got.Equal(want) || got.Equal(want.Truncate(time.Microsecond))
}

func testAuditRoundTrip(t *testing.T, b Backend) {
	s := open(t, b)
	if err := s.AppendAudit(ctx, nil); err != nil {
		t.Fatalf("empty append: %v", err)
	}
	east := time.FixedZone("UTC+9", 9*3600)
	recs := []storage.AuditRecord{{
		Time:         time.Date(2026, 11, 21, 21, 0, 0, 123456789, east),
		EventName:    "AssumeRole",
		AccessKeyID:  `AKIA\tab\`,
		IssuedKeyID:  "ASIA\tTAB\nNL",
		PrincipalARN: "arn:aws:iam::111122223333:user/we\\ird\tpath/é",
		ErrorCode:    "AccessDenied",
		JSON:         []byte(`{"eventName":"AssumeRole","userAgent":"a\tb é"}`),
	}, {
		Time: time.Date(1969, 12, 31, 23, 59, 59, 999999500, time.UTC), // before the epoch, sub-µs
		JSON: nil,
	}}
	if err := s.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got := collect(t, s, storage.AuditFilter{})
	if len(got) != 2 {
		t.Fatalf("got %d records (an empty append must store none)", len(got))
	}
	verifyChain(t, got)
	for i, want := range recs {
		g := got[i]
		if !withinMicro(g.Time, want.Time) || g.EventName != want.EventName || g.AccessKeyID != want.AccessKeyID ||
			g.IssuedKeyID != want.IssuedKeyID || g.PrincipalARN != want.PrincipalARN || g.ErrorCode != want.ErrorCode ||
			string(g.JSON) != string(want.JSON) {
			t.Errorf("record %d round trip:\n got %+v\nwant %+v", i+1, g, want)
		}
	}
	if r := collect(t, s, storage.AuditFilter{AccessKeyID: recs[0].IssuedKeyID}); len(r) != 1 || r[0].Seq != 1 {
		t.Errorf("filter on an escaped issued key id: %+v", r)
	}
	if r := collect(t, s, storage.AuditFilter{PrincipalARN: recs[0].PrincipalARN}); len(r) != 1 || r[0].Seq != 1 {
		t.Errorf("filter on an escaped principal: %+v", r)
	}
}

func testAuditFilters(t *testing.T, b Backend) {
	s := open(t, b)
	var recs []storage.AuditRecord
	names := []string{"GetCallerIdentity", "GetSessionToken", "AssumeRole"}
	for i := range 30 {
		r := record(names[i%3], fmt.Sprintf("AKIA%d", i%4), fmt.Sprintf("arn:%d", i%5), t0.Add(time.Duration(i)*time.Second), i)
		if i%3 == 1 {
			r.IssuedKeyID = fmt.Sprintf("ASIA%d", i)
		}
		recs = append(recs, r)
	}
	// Three appends, so that filters span batches.
	for _, part := range [][]storage.AuditRecord{recs[:7], recs[7:8], recs[8:]} {
		if err := s.AppendAudit(ctx, part); err != nil {
			t.Fatal(err)
		}
	}
	all := collect(t, s, storage.AuditFilter{})
	verifyChain(t, all)
	cases := []storage.AuditFilter{
		{EventName: "AssumeRole"},
		{AccessKeyID: "AKIA1"},
		{AccessKeyID: "ASIA4"},
		{AccessKeyID: "AKIA1", EventName: "GetSessionToken"},
		{PrincipalARN: "arn:2", EventName: "GetCallerIdentity"},
		{From: t0.Add(5 * time.Second)},
		{To: t0.Add(5 * time.Second)},
		{From: t0.Add(5 * time.Second), To: t0.Add(5 * time.Second)},
		{From: t0.Add(5*time.Second + time.Nanosecond), To: t0.Add(9*time.Second + time.Nanosecond)},
		{From: t0.Add(10 * time.Second), To: t0.Add(20 * time.Second), AccessKeyID: "AKIA3", PrincipalARN: "arn:3"},
		{AfterSeq: 25},
		{AfterSeq: 30},
		{AfterSeq: 3, Limit: 4},
		{EventName: "GetSessionToken", AfterSeq: 10, Limit: 3},
		{Limit: 100},
		{PrincipalARN: "arn:9"},
	}
	for _, f := range cases {
		var want []int64
		for _, r := range all {
			if storage.Matches(f, r) && (f.Limit == 0 || len(want) < f.Limit) {
				want = append(want, r.Seq)
			}
		}
		var got []int64
		for _, r := range collect(t, s, f) {
			got = append(got, r.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("filter %+v: got %v want %v", f, got, want)
		}
	}
	// fn's error stops the query and is returned.
	stop := errors.New("stop")
	n := 0
	err := s.QueryAudit(ctx, storage.AuditFilter{}, func(storage.AuditRecord) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: %v after %d calls", err, n)
	}
}

// More records than a backend is likely to read at once: whole-log queries
// and paging with AfterSeq and Limit see each exactly once, in order.
func testAuditMany(t *testing.T, b Backend) {
	s := open(t, b)
	const total = 2345
	for start := 0; start < total; {
		n := min(1+start%700, total-start)
		var batch []storage.AuditRecord
		for i := start; i < start+n; i++ {
			batch = append(batch, record("GetCallerIdentity", fmt.Sprintf("AKIA%d", i%3), "arn", t0.Add(time.Duration(i)*time.Millisecond), i))
		}
		if err := s.AppendAudit(ctx, batch); err != nil {
			t.Fatal(err)
		}
		start += n
	}
	all := collect(t, s, storage.AuditFilter{})
	if len(all) != total {
		t.Fatalf("got %d records, want %d", len(all), total)
	}
	verifyChain(t, all)
	if n, err := audit.VerifyChain(ctx, s); err != nil || n != total {
		t.Fatalf("audit.VerifyChain: %d %v", n, err)
	}
	var paged []storage.AuditRecord
	for after := int64(0); ; {
		page := collect(t, s, storage.AuditFilter{AfterSeq: after, Limit: 701})
		paged = append(paged, page...)
		if len(page) < 701 {
			break
		}
		after = page[len(page)-1].Seq
	}
	verifyChain(t, paged)
	if len(paged) != total {
		t.Fatalf("paging saw %d records, want %d", len(paged), total)
	}
	some := collect(t, s, storage.AuditFilter{AccessKeyID: "AKIA1", Limit: 600})
	if len(some) != 600 {
		t.Fatalf("filtered and limited: %d records", len(some))
	}
	for i, r := range some {
		if r.Seq != int64(3*i+2) {
			t.Fatalf("filtered record %d has seq %d, want %d", i, r.Seq, 3*i+2)
		}
	}
}
