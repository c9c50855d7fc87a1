package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// Report is what a verification found.
type Report struct {
	// Records is how many records were checked, First to Last.
	Records     int64
	First, Last int64
	// Legacy counts the records chained with storage.LegacyChainHash,
	// written before the chain covered the indexed fields.
	Legacy int64
	// Dropped is the record of the deletion by retention that the chain
	// starts from, when the records before First were deleted.
	Dropped *Dropped
	// Checkpoint is the checkpoint the log matched (nil: none yet).
	Checkpoint *storage.AuditCheckpoint
	// Digests is how many digests were checked: signature, place in the
	// chain of digests, and the records they name. Signed is the last seq
	// they cover, LastDigest when the last was signed.
	Digests    int
	Signed     int64
	LastDigest time.Time
	// StoredKey: the signatures were checked with the public key stored
	// beside the log, not one given by the caller, which proves nothing
	// against someone who could replace both.
	StoredKey bool
}

// Dropped is a deletion by retention, as recorded in the trail.
type Dropped struct {
	FirstSeq, LastSeq int64
	LastHash          [32]byte
	// Seq is the record that recorded it.
	Seq int64
}

// Source is what Verify reads.
type Source interface {
	storage.AuditLog
	storage.AuditCheckpoints
	storage.AuditDigests
	storage.SealedKeys
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// PublicKey checks the digests' signatures; nil: the public key
	// stored beside the log.
	PublicKey ed25519.PublicKey
}

// Verify checks the audit trail and reports the first record missing or
// altered:
//   - the hash chain from the first record to the last, without gaps
//     (VerifyChain);
//   - the checkpoint kept outside the log: a log that ends before it
//     (cut short, emptied, deleted) or holds another record at its seq
//     (rewritten) fails;
//   - every digest: signed by the public key, each following the one
//     before it, and the records it names present and unchanged.
//
// With only a public key obtained independently and a copy of the data,
// this proves that the records up to the last digest (Report.Signed) are
// the ones keyless signed for.
func Verify(ctx context.Context, s Source, o VerifyOptions) (Report, error) {
	var rep Report
	w := &walker{rep: &rep, claims: map[int64][]claim{}}
	c, err := s.AuditCheckpoint(ctx)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return rep, err
	default:
		rep.Checkpoint = &c
		w.claim(c.Seq, &c.Hash, time.Time{}, "the checkpoint of "+c.Time.UTC().Format(time.RFC3339))
	}
	if err := w.digests(ctx, s, o); err != nil {
		return rep, err
	}
	if err := s.QueryAudit(ctx, storage.AuditFilter{}, w.visit); err != nil {
		return rep, err
	}
	return rep, w.finish()
}

// VerifyChain walks the whole log and reports the first place where a
// record is missing (a gap in sequence numbers, or records before the
// first that no deletion by retention accounts for) or was altered (its
// hash no longer chains to its predecessor). It returns the number of
// records checked.
func VerifyChain(ctx context.Context, log storage.AuditLog) (int64, error) {
	var rep Report
	w := &walker{rep: &rep, claims: map[int64][]claim{}}
	if err := log.QueryAudit(ctx, storage.AuditFilter{}, w.visit); err != nil {
		return rep.Records, err
	}
	return rep.Records, w.finish()
}

// claim is what evidence outside the log (a checkpoint, a digest) says
// about the record at seq.
type claim struct {
	hash *[32]byte
	time time.Time // zero: says nothing of it
	by   string
}

// walker checks records in seq order.
type walker struct {
	rep  *Report
	prev [32]byte
	n    int64 // the last record's seq
	// v2: a record chained with storage.ChainHash was seen; the legacy
	// hash is accepted only before the first such record, so that no
	// record written since can be passed off as a legacy one.
	v2 bool
	// pending is the first record when its seq is not 1: its link waits
	// for the record of the deletion by retention that dropped the ones
	// before it.
	pending *storage.AuditRecord
	// dropped is the last seq of any deletion recorded.
	dropped int64
	claims  map[int64][]claim
	matched int64 // the seq of the last record that a claim confirmed
}

func (w *walker) claim(seq int64, hash *[32]byte, t time.Time, by string) {
	w.claims[seq] = append(w.claims[seq], claim{hash: hash, time: t, by: by})
}

func (w *walker) visit(r storage.AuditRecord) error {
	switch {
	case w.rep.Records == 0 && r.Seq != 1:
		p := r
		p.JSON = bytes.Clone(r.JSON)
		w.pending = &p
	case w.rep.Records == 0:
		if err := w.link(r, [32]byte{}, true); err != nil {
			return err
		}
	case r.Seq != w.n+1:
		return fmt.Errorf("audit record %d is missing (next record is %d)", w.n+1, r.Seq)
	default:
		if err := w.link(r, w.prev, !w.v2); err != nil {
			return err
		}
	}
	if w.rep.Records == 0 {
		w.rep.First = r.Seq
	}
	w.prev, w.n, w.rep.Last = r.Hash, r.Seq, r.Seq
	w.rep.Records++
	if r.EventName == SegmentsDeletedEvent {
		if err := w.deletion(r); err != nil {
			return err
		}
	}
	return w.check(r.Seq, r.Hash, r.Time)
}

// link checks that r chains to prev.
func (w *walker) link(r storage.AuditRecord, prev [32]byte, legacy bool) error {
	if storage.ChainHash(prev, r) == r.Hash {
		w.v2 = true
		return nil
	}
	if legacy && storage.LegacyChainHash(prev, r.Seq, r.JSON) == r.Hash {
		w.rep.Legacy++
		return nil
	}
	return fmt.Errorf("audit record %d was altered: its hash does not chain to record %d", r.Seq, r.Seq-1)
}

// deletion reads a record of segments deleted by retention; if it accounts
// for the records before the first one, the chain continues from the hash
// it recorded. Only keyless's own events count: no request can make one.
func (w *walker) deletion(r storage.AuditRecord) error {
	var ev struct {
		EventSource string            `json:"eventSource"`
		Data        map[string]string `json:"additionalEventData"`
	}
	if err := json.Unmarshal(r.JSON, &ev); err != nil || ev.EventSource != internalSource {
		return nil
	}
	d := Dropped{Seq: r.Seq}
	first, err1 := strconv.ParseInt(ev.Data["firstSeq"], 10, 64)
	last, err2 := strconv.ParseInt(ev.Data["lastSeq"], 10, 64)
	hash, err3 := hex.DecodeString(ev.Data["lastHash"])
	if err := errors.Join(err1, err2, err3); err != nil || len(hash) != len(d.LastHash) || first < 1 || last < first || last >= r.Seq {
		return fmt.Errorf("audit record %d records a deletion by retention that makes no sense", r.Seq)
	}
	d.FirstSeq, d.LastSeq = first, last
	copy(d.LastHash[:], hash)
	w.dropped = max(w.dropped, last)
	if w.pending == nil || last != w.pending.Seq-1 {
		return nil
	}
	if err := w.link(*w.pending, d.LastHash, true); err != nil {
		return fmt.Errorf("audit record %d was altered: it does not chain to record %d as the deletion recorded in record %d has it", w.pending.Seq, last, r.Seq)
	}
	w.pending, w.rep.Dropped = nil, &d
	return w.check(last, d.LastHash, time.Time{})
}

// check compares the record at seq with what the evidence says of it.
func (w *walker) check(seq int64, hash [32]byte, t time.Time) error {
	for _, c := range w.claims[seq] {
		if (c.hash != nil && *c.hash != hash) || (!c.time.IsZero() && !t.IsZero() && c.time.UnixMicro() != t.UnixMicro()) {
			since := "at or before it"
			if w.matched > 0 {
				since = "after record " + strconv.FormatInt(w.matched, 10)
			}
			return fmt.Errorf("audit record %d was altered: it is not the record %s names (the log was rewritten %s)", seq, c.by, since)
		}
		w.matched = seq
	}
	delete(w.claims, seq)
	return nil
}

// finish reports what the walk left unaccounted for: records before the
// first, or records that evidence names after the last.
func (w *walker) finish() error {
	if w.pending != nil {
		from := int64(1)
		if w.dropped < w.pending.Seq-1 {
			from = w.dropped + 1
		}
		return fmt.Errorf("%s: no deletion by retention accounts for them", missing(from, w.pending.Seq-1))
	}
	var (
		to int64
		by string
	)
	for seq, cs := range w.claims {
		if seq > w.n && seq > to {
			to, by = seq, cs[0].by
		}
	}
	if to == 0 {
		return nil // claims before the first record: about records deleted by retention
	}
	end := "is empty"
	if w.n > 0 {
		end = "ends at record " + strconv.FormatInt(w.n, 10)
	}
	return fmt.Errorf("%s: the log %s, but %s names record %d", missing(w.n+1, to), end, by, to)
}

func missing(from, to int64) string {
	if from == to {
		return fmt.Sprintf("audit record %d is missing", from)
	}
	return fmt.Sprintf("audit records %d to %d are missing", from, to)
}

// digests checks the stored digests and adds what they say of the records
// to the claims.
func (w *walker) digests(ctx context.Context, s Source, o VerifyOptions) error {
	pub := o.PublicKey
	if pub == nil {
		k, err := StoredPublicKey(ctx, s)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return err
		default:
			pub, w.rep.StoredKey = k, true
		}
	}
	var (
		prevBody []byte
		prev     DigestBody
	)
	err := s.ListAuditDigests(ctx, func(d storage.AuditDigest) error {
		n := int64(w.rep.Digests) + 1
		if d.Seq != n {
			return fmt.Errorf("audit digest %d is missing (next digest is %d)", n, d.Seq)
		}
		if pub == nil {
			return fmt.Errorf("audit digest %d cannot be checked: no public key was given or is stored", n)
		}
		if !ed25519.Verify(pub, signingInput(d.Body), d.Signature) {
			return fmt.Errorf("audit digest %d is not signed by the public key %s…: it was forged or altered", n, Fingerprint(pub)[:16])
		}
		b, err := parseDigest(d.Body)
		if err != nil {
			return fmt.Errorf("audit digest %d: %w", n, err)
		}
		sum := sha256.Sum256(prevBody)
		switch {
		case b.Digest != n:
			return fmt.Errorf("audit digest %d says it is digest %d", n, b.Digest)
		case n == 1 && b.Previous != "":
			return errors.New("audit digest 1 names a previous digest: earlier digests were removed")
		case n > 1 && b.Previous != hex.EncodeToString(sum[:]):
			return fmt.Errorf("audit digest %d does not follow digest %d: a digest was removed or replaced", n, n-1)
		case n > 1 && b.FirstSeq != prev.LastSeq+1:
			return fmt.Errorf("audit digest %d does not start where digest %d ended", n, n-1)
		case b.FirstSeq < 1 || b.LastSeq < b.FirstSeq:
			return fmt.Errorf("audit digest %d names no records", n)
		}
		created, err1 := time.Parse(time.RFC3339Nano, b.Created)
		var first time.Time // none: retention deleted the record before a digest covered it
		var err2 error
		if b.FirstTime != "" {
			first, err2 = time.Parse(time.RFC3339Nano, b.FirstTime)
		}
		last, err3 := time.Parse(time.RFC3339Nano, b.LastTime)
		hash, err4 := hex.DecodeString(b.LastHash)
		if err := errors.Join(err1, err2, err3, err4); err != nil || len(hash) != 32 {
			return fmt.Errorf("audit digest %d is malformed", n)
		}
		by := fmt.Sprintf("digest %d (signed %s)", n, created.Format(time.RFC3339))
		w.claim(b.FirstSeq, nil, first, by)
		w.claim(b.LastSeq, (*[32]byte)(hash), last, by)
		w.rep.Digests++
		w.rep.Signed, w.rep.LastDigest = b.LastSeq, created
		prevBody, prev = bytes.Clone(d.Body), b
		return nil
	})
	if err != nil {
		return err
	}
	if o.PublicKey != nil && w.rep.Digests == 0 {
		return errors.New("there is no signed digest to check against the public key yet: a server signs one every digest interval while events arrive, and when it stops")
	}
	return nil
}
