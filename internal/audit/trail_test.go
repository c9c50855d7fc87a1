package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
)

func newKEK(t *testing.T) *kek.Set {
	t.Helper()
	set, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func digestKey(t *testing.T, keys storage.SealedKeys, set *kek.Set) *audit.DigestKey {
	t.Helper()
	k, err := audit.OpenDigestKey(ctx, keys, set, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// record stores n events at the fake clock's time, a second apart.
func record(t *testing.T, w *audit.Writer, clk *clock.Fake, n int) {
	t.Helper()
	for range n {
		if err := w.Record(ctx, event("c"), clk.Now(), false); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
}

func records(t *testing.T, log storage.AuditLog) []storage.AuditRecord {
	t.Helper()
	var out []storage.AuditRecord
	if err := log.QueryAudit(ctx, storage.AuditFilter{}, func(r storage.AuditRecord) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: %v, want %q", what, err, want)
	}
}

// The writer checkpoints the head when something was appended, and at
// Close.
func TestWriterCheckpoints(t *testing.T) {
	store, clk := memory.New(), clock.NewFake(t0)
	w := audit.NewWriter(audit.WriterOptions{Trail: store, Logger: quiet, Clock: clk})
	record(t, w, clk, 3)
	audit.Housekeep(w)
	c, err := store.AuditCheckpoint(ctx)
	recs := records(t, store)
	if err != nil || c.Seq != 3 || c.Hash != recs[2].Hash || !c.Time.Equal(clk.Now()) {
		t.Fatalf("checkpoint %+v %v", c, err)
	}
	record(t, w, clk, 2)
	w.Close()
	if c, err := store.AuditCheckpoint(ctx); err != nil || c.Seq != 5 {
		t.Fatalf("checkpoint at Close: %+v %v", c, err)
	}
	if rep, err := audit.Verify(ctx, store, audit.VerifyOptions{}); err != nil || rep.Records != 5 || rep.Checkpoint == nil {
		t.Errorf("verify: %+v %v", rep, err)
	}
}

// A log cut short and then written on by a restarted server does not
// move the checkpoint past the loss: the evidence stays for verify.
func TestWriterKeepsCheckpointOfALoss(t *testing.T) {
	dir := t.TempDir()
	s, err := embedded.Open(ctx, dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	w := audit.NewWriter(audit.WriterOptions{Trail: s, Logger: quiet, Clock: clk})
	record(t, w, clk, 5)
	w.Close()
	want, _ := s.AuditCheckpoint(ctx)
	s.Close()

	path := filepath.Join(dir, embedded.AuditDir, "audit-000000000001.log")
	raw, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(raw, []byte("\n"))
	if err := os.WriteFile(path, bytes.Join(lines[:3], nil), 0o600); err != nil {
		t.Fatal(err)
	}

	s, err = embedded.Open(ctx, dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w = audit.NewWriter(audit.WriterOptions{Trail: s, Logger: quiet, Clock: clk})
	record(t, w, clk, 4) // seqs 4 to 7: past the checkpoint, on another chain
	w.Close()
	if got, _ := s.AuditCheckpoint(ctx); got != want {
		t.Fatalf("checkpoint moved from %+v to %+v", want, got)
	}
	_, err = audit.Verify(ctx, s, audit.VerifyOptions{})
	wantErr(t, "verify", err, "audit record 5 was altered: it is not the record the checkpoint of")
}

// tampered is a store as someone with write access to all of it, but not
// to the digest key, could leave it.
type tampered struct {
	*memory.Store
	recs       []storage.AuditRecord
	digests    []storage.AuditDigest
	checkpoint storage.AuditCheckpoint
	public     []byte
}

func tamper(t *testing.T, s *memory.Store) *tampered {
	t.Helper()
	tp := &tampered{Store: s, recs: records(t, s)}
	_ = s.ListAuditDigests(ctx, func(d storage.AuditDigest) error { tp.digests = append(tp.digests, d); return nil })
	tp.checkpoint, _ = s.AuditCheckpoint(ctx)
	k, _ := s.SealedKey(ctx, audit.DigestKeyName)
	tp.public = k.Public
	return tp
}

func (tp *tampered) QueryAudit(_ context.Context, _ storage.AuditFilter, fn func(storage.AuditRecord) error) error {
	for _, r := range tp.recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (tp *tampered) ListAuditDigests(_ context.Context, fn func(storage.AuditDigest) error) error {
	for _, d := range tp.digests {
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

func (tp *tampered) AuditCheckpoint(context.Context) (storage.AuditCheckpoint, error) {
	return tp.checkpoint, nil
}

func (tp *tampered) SealedKey(context.Context, string) (storage.SealedKey, error) {
	if tp.public == nil {
		return storage.SealedKey{}, storage.ErrNotFound
	}
	return storage.SealedKey{Public: tp.public}, nil
}

// rechain recomputes every hash and the checkpoint, as someone who can
// write the log and the database can.
func (tp *tampered) rechain() {
	var prev [32]byte
	for i := range tp.recs {
		tp.recs[i].Hash = storage.ChainHash(prev, tp.recs[i])
		prev = tp.recs[i].Hash
	}
	last := tp.recs[len(tp.recs)-1]
	tp.checkpoint = storage.AuditCheckpoint{Seq: last.Seq, Hash: last.Hash, Time: t0}
}

// signedTrail is a memory store holding 8 events, two digests (records 1
// to 5, signed after an hour; 6 to 8, signed at Close) and a checkpoint.
func signedTrail(t *testing.T) (*memory.Store, ed25519.PublicKey) {
	t.Helper()
	store, clk := memory.New(), clock.NewFake(t0)
	w := audit.NewWriter(audit.WriterOptions{Trail: store, Logger: quiet, Clock: clk, Key: digestKey(t, store, newKEK(t)), DigestEvery: time.Hour})
	record(t, w, clk, 5)
	audit.Housekeep(w)
	var n int
	_ = store.ListAuditDigests(ctx, func(storage.AuditDigest) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d digests before the interval", n)
	}
	clk.Advance(time.Hour)
	audit.Housekeep(w)
	record(t, w, clk, 3)
	w.Close()
	pub, err := audit.StoredPublicKey(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	return store, pub
}

// Digests are signed per interval and at Close, and verify with the
// public key alone.
func TestDigests(t *testing.T) {
	store, pub := signedTrail(t)
	rep, err := audit.Verify(ctx, store, audit.VerifyOptions{PublicKey: pub})
	if err != nil || rep.Digests != 2 || rep.Signed != 8 || rep.StoredKey || rep.Records != 8 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	var bodies []audit.DigestBody
	_ = store.ListAuditDigests(ctx, func(d storage.AuditDigest) error {
		var b audit.DigestBody
		if err := jsonUnmarshal(d.Body, &b); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
		return nil
	})
	recs := records(t, store)
	if b := bodies[0]; b.FirstSeq != 1 || b.LastSeq != 5 || b.Previous != "" || b.FirstTime != "2026-11-21T12:00:00.000000Z" ||
		b.LastHash != hexOf(recs[4].Hash) || b.PublicKey != audit.Fingerprint(pub) {
		t.Errorf("digest 1: %+v", b)
	}
	if b := bodies[1]; b.FirstSeq != 6 || b.LastSeq != 8 || b.Previous == "" {
		t.Errorf("digest 2: %+v", b)
	}

	// With the public key stored beside the log, the report says so.
	if rep, err := audit.Verify(ctx, store, audit.VerifyOptions{}); err != nil || !rep.StoredKey || rep.Digests != 2 {
		t.Errorf("with the stored key: %+v %v", rep, err)
	}
	// The PEM form round-trips.
	if back, err := audit.ParsePublicKey(audit.EncodePublicKey(pub)); err != nil || !back.Equal(pub) {
		t.Errorf("PEM: %v", err)
	}
}

// Everything an attacker without the digest key can do to the trail is
// found with the public key.
func TestVerifyDigestTampering(t *testing.T) {
	store, pub := signedTrail(t)
	otherPub, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	for _, c := range []struct {
		name string
		do   func(tp *tampered)
		want string
	}{
		{"an event altered after its digest, the chain and checkpoint recomputed", func(tp *tampered) {
			tp.recs[2].PrincipalARN = "arn:aws:iam::111122223333:user/mallory"
			tp.rechain()
		}, "audit record 5 was altered: it is not the record digest 1 (signed"},
		{"an event altered after the last digest's range, recomputed", func(tp *tampered) {
			tp.recs[6].IssuedKeyID = "ASIAFORGED"
			tp.rechain()
		}, "audit record 8 was altered: it is not the record digest 2 (signed"},
		{"the tail cut, the checkpoint moved back", func(tp *tampered) {
			tp.recs = tp.recs[:6]
			tp.rechain()
		}, "audit records 7 to 8 are missing: the log ends at record 6, but digest 2"},
		{"a digest's body altered", func(tp *tampered) {
			tp.digests[1].Body = bytes.Replace(tp.digests[1].Body, []byte(`"lastSeq":8`), []byte(`"lastSeq":7`), 1)
		}, "audit digest 2 is not signed by the public key"},
		{"a digest forged with another key, the stored public key replaced", func(tp *tampered) {
			tp.digests[0].Signature = ed25519.Sign(otherPriv, append([]byte(audit.DigestVersion+"\x00"), tp.digests[0].Body...))
			tp.public = otherPub
		}, "audit digest 1 is not signed by the public key"},
		{"a digest removed", func(tp *tampered) {
			tp.digests = tp.digests[1:]
		}, "audit digest 1 is missing (next digest is 2)"},
		{"a digest replaced by an earlier one", func(tp *tampered) {
			d := tp.digests[0]
			d.Seq = 2
			tp.digests[1] = d
		}, "audit digest 2 says it is digest 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := tamper(t, store)
			c.do(tp)
			_, err := audit.Verify(ctx, tp, audit.VerifyOptions{PublicKey: pub})
			wantErr(t, "verify with the public key", err, c.want)
		})
	}

	// Without the public key, a replaced key and re-signed digests would
	// pass: what the auditor's own copy of the key is for.
	tp := tamper(t, store)
	tp.recs[2].PrincipalARN = "arn:aws:iam::111122223333:user/mallory"
	tp.rechain()
	for i := range tp.digests {
		var b audit.DigestBody
		_ = jsonUnmarshal(tp.digests[i].Body, &b)
		if b.LastSeq == 5 {
			b.LastHash = hexOf(tp.recs[4].Hash)
		} else {
			b.LastHash = hexOf(tp.recs[7].Hash)
			b.Previous = sha256Hex(tp.digests[0].Body)
		}
		tp.digests[i].Body = jsonMarshal(b)
		tp.digests[i].Signature = ed25519.Sign(otherPriv, append([]byte(audit.DigestVersion+"\x00"), tp.digests[i].Body...))
	}
	tp.public = otherPub
	if rep, err := audit.Verify(ctx, tp, audit.VerifyOptions{}); err != nil || !rep.StoredKey {
		t.Errorf("re-signed with a replaced stored key: %+v %v", rep, err)
	}
	_, err := audit.Verify(ctx, tp, audit.VerifyOptions{PublicKey: pub})
	wantErr(t, "re-signed, checked with the auditor's key", err, "audit digest 1 is not signed by the public key")

	// A public key given but no digest to check it against proves nothing.
	_, err = audit.Verify(ctx, memory.New(), audit.VerifyOptions{PublicKey: pub})
	wantErr(t, "no digests", err, "no signed digest")
}

// Retention deletes old segments after recording the deletion in the
// trail; verify starts from that record. A segment deleted by hand is
// still reported.
func TestRetention(t *testing.T) {
	dir := t.TempDir()
	s, err := embedded.Open(ctx, dir, embedded.Options{AuditSegmentMaxBytes: 1}) // one segment per commit
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	clk := clock.NewFake(t0)
	w := audit.NewWriter(audit.WriterOptions{Trail: s, Logger: quiet, Clock: clk, RetainFor: 24 * time.Hour})
	for range 6 {
		record(t, w, clk, 1)
		clk.Advance(10 * time.Hour)
	}
	// Segments 1 to 5 closed 10, 20, ... 50 hours after t0; now is t0+60h.
	audit.Housekeep(w)
	w.Close()
	recs := records(t, s)
	if len(recs) != 4 || recs[0].Seq != 4 || recs[3].EventName != audit.SegmentsDeletedEvent {
		t.Fatalf("after retention: %d records from %d", len(recs), recs[0].Seq)
	}
	if !strings.Contains(string(recs[3].JSON), `"firstSeq":"1","lastHash":"`) || !strings.Contains(string(recs[3].JSON), `"lastSeq":"3"`) {
		t.Errorf("the deletion record: %s", recs[3].JSON)
	}
	rep, err := audit.Verify(ctx, s, audit.VerifyOptions{})
	if err != nil || rep.Dropped == nil || rep.Dropped.LastSeq != 3 || rep.First != 4 || rep.Records != 4 {
		t.Fatalf("verify after retention: %+v %v", rep, err)
	}
	segments, _ := filepath.Glob(filepath.Join(dir, embedded.AuditDir, "audit-*"))
	if len(segments) != 4 {
		t.Fatalf("segments left: %v", segments)
	}

	// By hand: the oldest segment left, then a middle one.
	if err := os.Remove(segments[0]); err != nil {
		t.Fatal(err)
	}
	_, err = audit.Verify(ctx, s, audit.VerifyOptions{})
	wantErr(t, "oldest segment deleted by hand", err, "audit record 4 is missing: no deletion by retention accounts for them")
	if err := os.Remove(segments[1]); err != nil {
		t.Fatal(err)
	}
	_, err = audit.Verify(ctx, s, audit.VerifyOptions{})
	wantErr(t, "two segments deleted by hand", err, "audit records 4 to 5 are missing")
}

// A retention record whose deletion a crash interrupted verifies, and
// the deletion is done the next time.
func TestRetentionInterrupted(t *testing.T) {
	s, err := embedded.Open(ctx, t.TempDir(), embedded.Options{AuditSegmentMaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	failing := &failDelete{Store: s, fail: true}
	clk := clock.NewFake(t0)
	w := audit.NewWriter(audit.WriterOptions{Trail: failing, Logger: quiet, Clock: clk, RetainMaxBytes: 1})
	record(t, w, clk, 3)
	audit.Housekeep(w)
	if n, err := audit.VerifyChain(ctx, s); err != nil || n != 4 {
		t.Fatalf("recorded, not deleted: %d %v", n, err)
	}
	failing.setFail(false)
	audit.Housekeep(w)
	w.Close()
	rep, err := audit.Verify(ctx, s, audit.VerifyOptions{})
	if err != nil || rep.Dropped == nil || rep.First != rep.Dropped.LastSeq+1 {
		t.Fatalf("after the deletion: %+v %v", rep, err)
	}
}

type failDelete struct {
	*embedded.Store
	mu   sync.Mutex
	fail bool
}

func (f *failDelete) setFail(v bool) { f.mu.Lock(); f.fail = v; f.mu.Unlock() }

func (f *failDelete) DeleteAuditSegments(ctx context.Context, through int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("crashed")
	}
	return f.Store.DeleteAuditSegments(ctx, through)
}

// A request cannot pass for a retention record: only keyless's own events
// count.
func TestRetentionRecordFromARequestIgnored(t *testing.T) {
	store := memory.New()
	ev := event("c")
	ev.EventName = audit.SegmentsDeletedEvent
	ev.AdditionalEventData = map[string]string{"firstSeq": "1", "lastSeq": "1", "lastHash": strings.Repeat("00", 32)}
	w := audit.NewWriter(audit.WriterOptions{Trail: store, Logger: quiet})
	for range 3 {
		if err := w.Record(ctx, ev, t0, false); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	tp := tamper(t, store)
	tp.recs = tp.recs[1:]
	_, err := audit.Verify(ctx, tp, audit.VerifyOptions{})
	wantErr(t, "first record deleted", err, "audit record 1 is missing")
}

// The digest key is created once per deployment, sealed under the
// key-encryption key, and re-sealed when that rotates.
func TestDigestKey(t *testing.T) {
	store, set := memory.New(), newKEK(t)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		pubs = map[string]bool{}
	)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			digestKey(t, store, set)
			pub, err := audit.StoredPublicKey(ctx, store)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			pubs[string(pub)] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(pubs) != 1 {
		t.Fatalf("%d keys", len(pubs))
	}
	stored, _ := store.SealedKey(ctx, audit.DigestKeyName)
	if id, _, err := kek.SealedWith(stored.Sealed); err != nil || id != set.Current.ID() {
		t.Fatalf("sealed with %q %v", id, err)
	}
	if _, err := audit.OpenDigestKey(ctx, store, newKEK(t), rand.Reader); err == nil {
		t.Error("opened under another key-encryption key")
	}

	// A rotated key-encryption key: the writer re-seals the digest key,
	// after which the previous one can go.
	next := newKEK(t)
	rotated := &kek.Set{Current: next.Current, Previous: []kek.Wrapper{set.Current}}
	k := digestKey(t, store, set)
	w := audit.NewWriter(audit.WriterOptions{Trail: store, Logger: quiet, Key: k, KEK: func() *kek.Set { return rotated }})
	audit.Housekeep(w)
	w.Close()
	if _, err := audit.OpenDigestKey(ctx, store, next, rand.Reader); err != nil {
		t.Errorf("after re-sealing, the new key-encryption key alone: %v", err)
	}

	// A public half that is not the private half's is refused.
	other := memory.New()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sealedSeed, _ := set.Seal(rand.Reader, bytes.Repeat([]byte{1}, ed25519.SeedSize), []byte("keyless audit digest signing key: Ed25519 seed"))
	if _, err := other.ClaimSealedKey(ctx, audit.DigestKeyName, storage.SealedKey{Public: pub, Sealed: sealedSeed}); err != nil {
		t.Fatal(err)
	}
	_, err := audit.OpenDigestKey(ctx, other, set, rand.Reader)
	wantErr(t, "mismatched public key", err, "the stored public key is not the sealed private key's")
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func jsonMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func hexOf(h [32]byte) string { return hex.EncodeToString(h[:]) }

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// A failure hit by every commit (a full or removed disk) is logged as a
// condition: once per 10 seconds, with the count of the lines held back.
func TestWriterFailureLoggedOnce(t *testing.T) {
	var logs bytes.Buffer
	clk := clock.NewFake(t0)
	w := audit.NewWriter(audit.WriterOptions{Trail: failingLog{memory.New()}, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Clock: clk})
	defer w.Close()
	for range 5 {
		if err := w.Record(ctx, event("x"), clk.Now(), false); err == nil {
			t.Fatal("a failed write reported success")
		}
	}
	clk.Advance(10 * time.Second)
	if err := w.Record(ctx, event("x"), clk.Now(), false); err == nil {
		t.Fatal("a failed write reported success")
	}
	if n := strings.Count(logs.String(), "audit write failed"); n != 2 || !strings.Contains(logs.String(), "suppressed_since_last=4") {
		t.Errorf("%d lines:\n%s", n, logs.String())
	}
}

// Retention that deletes records before a digest covered them leaves the
// digests following each other, and the trail verifies with the public
// key.
func TestDigestsAcrossRetention(t *testing.T) {
	s, err := embedded.Open(ctx, t.TempDir(), embedded.Options{AuditSegmentMaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	clk := clock.NewFake(t0)
	w := audit.NewWriter(audit.WriterOptions{Trail: s, Logger: quiet, Clock: clk, Key: digestKey(t, s, newKEK(t)),
		DigestEvery: time.Hour, RetainMaxBytes: 1})
	record(t, w, clk, 3)
	clk.Advance(time.Hour)
	audit.Housekeep(w) // digest 1 (records 1 to 3), then retention: segments 1 and 2
	record(t, w, clk, 2)
	audit.Housekeep(w) // retention: records 3 to 5, before a digest covered 4 and 5
	clk.Advance(time.Hour)
	audit.Housekeep(w) // digest 2
	w.Close()
	pub, _ := audit.StoredPublicKey(ctx, s)
	rep, err := audit.Verify(ctx, s, audit.VerifyOptions{PublicKey: pub})
	// Digest 3, at Close, covers the last retention record.
	if err != nil || rep.Digests != 3 || rep.Dropped == nil || rep.Signed != rep.Last {
		t.Fatalf("%+v %v", rep, err)
	}
	var bodies []audit.DigestBody
	_ = s.ListAuditDigests(ctx, func(d storage.AuditDigest) error {
		var b audit.DigestBody
		bodies = append(bodies, b)
		return jsonUnmarshal(d.Body, &bodies[len(bodies)-1])
	})
	if b := bodies[1]; b.FirstSeq != bodies[0].LastSeq+1 || b.FirstTime != "" {
		t.Errorf("digest 2 starts at %d (time %q), want %d and no time: that record was deleted first", b.FirstSeq, b.FirstTime, bodies[0].LastSeq+1)
	}
}
