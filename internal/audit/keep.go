package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/storage"
)

// keeping is the housekeeping's state.
type keeping struct {
	// checked: the stored checkpoint was compared with the log.
	checked bool
	// frozen: the log does not match its checkpoint. No checkpoint or
	// digest is taken any more, so that the evidence of what was lost or
	// rewritten stays for `keyless audit verify`.
	frozen bool
	saved  int64 // the seq last checkpointed
	// last is the newest stored digest (Seq 0: none), once loaded.
	last       storage.AuditDigest
	lastBody   DigestBody
	loaded     bool
	nextDigest time.Time
	// sealedFor is the set of key-encryption keys the digest key was
	// last re-sealed for.
	sealedFor *kek.Set
}

// keyEncryption is the set of key-encryption keys in force, if the writer
// signs digests and is told of them.
func (w *Writer) keyEncryption() *kek.Set {
	if w.o.Key == nil || w.o.KEK == nil {
		return nil
	}
	return w.o.KEK()
}

// housekeep checkpoints the chain's head if it moved, signs a digest when
// one is due (or, final, at Close), and, unless final, re-seals the digest
// key under a rotated key-encryption key. Failures are logged; the next
// run tries again.
func (w *Writer) housekeep(ctx context.Context, final bool) {
	w.kmu.Lock()
	defer w.kmu.Unlock()
	now := w.o.Clock.Now()
	w.hmu.Lock()
	head := w.head
	w.hmu.Unlock()
	if head.Seq > 0 && !w.k.frozen {
		w.checkpoint(ctx, head, now)
		if w.o.Key != nil && w.k.checked && !w.k.frozen { // never sign what does not match its checkpoint
			if err := w.digest(ctx, head, now, final); err != nil {
				w.complain("digest", "signing an audit digest failed", err)
			}
		}
	}
	if final {
		return
	}
	if set := w.keyEncryption(); set != nil && set != w.k.sealedFor {
		// Once per set of key-encryption keys in force; a failure is
		// tried again at the next run (and logged at most once per
		// interval).
		if err := w.o.Key.reseal(ctx, w.o.Trail, set, w.o.Random); err != nil {
			w.complain("reseal", "re-sealing the audit digest key under the current key-encryption key failed", err)
		} else {
			w.k.sealedFor = set
		}
	}
}

// tidy compresses closed segments and applies retention, on a goroutine
// of its own: compression is paced and may take seconds, which must not
// hold back checkpoints and digests.
func (w *Writer) tidy(ctx context.Context) {
	seg, ok := w.o.Trail.(storage.AuditSegments)
	if !ok {
		return
	}
	if err := seg.CompressAuditSegments(ctx); err != nil && ctx.Err() == nil { // not a stop
		w.complain("compress", "compressing closed audit segments failed; they stay as they are", err)
	}
	if err := w.retain(ctx, seg, w.o.Clock.Now()); err != nil {
		w.complain("retain", "audit retention failed; nothing was deleted", err)
	}
}

// checkpoint saves the head outside the log. The first time, it compares
// the stored checkpoint with the log: a log that no longer holds the
// checkpointed record, or holds another one in its place, was cut short,
// replaced or rewritten, and the checkpoint must not move past that.
func (w *Writer) checkpoint(ctx context.Context, head storage.AuditRecord, now time.Time) {
	if !w.k.checked {
		c, err := w.o.Trail.AuditCheckpoint(ctx)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			w.complain("checkpoint", "reading the audit checkpoint failed", err)
			return
		default:
			r, found, err := recordAt(ctx, w.o.Trail, c.Seq)
			if err != nil {
				w.complain("checkpoint", "reading the checkpointed audit record failed", err, "seq", c.Seq)
				return
			}
			if !found || r.Hash != c.Hash {
				w.k.frozen = true
				w.o.Logger.Error("the audit log does not match its checkpoint: records were lost, cut off or rewritten; "+
					"no checkpoint or digest is taken until a restart. Run keyless audit verify",
					"checkpointSeq", c.Seq, "checkpointTime", c.Time, "found", found, "head", head.Seq)
				return
			}
		}
		w.k.checked = true
	}
	if head.Seq <= w.k.saved {
		return
	}
	if err := w.o.Trail.SaveAuditCheckpoint(ctx, storage.AuditCheckpoint{Seq: head.Seq, Hash: head.Hash, Time: now}); err != nil {
		w.complain("checkpoint", "saving the audit checkpoint failed", err, "seq", head.Seq)
		return
	}
	w.k.saved = head.Seq
}

// recordAt reads the record with the given seq.
func recordAt(ctx context.Context, log storage.AuditLog, seq int64) (storage.AuditRecord, bool, error) {
	r, found, err := firstAfter(ctx, log, seq-1)
	return r, found && r.Seq == seq, err
}

// digest signs a digest of the records after the last digest, up to head,
// when DigestEvery has passed since the last one (or final).
func (w *Writer) digest(ctx context.Context, head storage.AuditRecord, now time.Time, final bool) error {
	if !w.k.loaded {
		if err := w.loadDigest(ctx); err != nil {
			return err
		}
		w.k.loaded = true
	}
	if head.Seq <= w.k.lastBody.LastSeq || (!final && (w.o.DigestEvery == 0 || now.Before(w.k.nextDigest))) {
		return nil
	}
	first, found, err := firstAfter(ctx, w.o.Trail, w.k.lastBody.LastSeq)
	if err != nil {
		return err
	}
	if !found || first.Seq > head.Seq {
		return fmt.Errorf("no audit record after %d up to %d", w.k.lastBody.LastSeq, head.Seq)
	}
	b := DigestBody{
		Version: DigestVersion, Digest: w.k.last.Seq + 1, Created: timestamp(now),
		FirstSeq: first.Seq, LastSeq: head.Seq, FirstTime: timestamp(first.Time), LastTime: timestamp(head.Time),
		LastHash: hex.EncodeToString(head.Hash[:]), PublicKey: w.o.Key.fingerprint,
	}
	if w.k.last.Seq > 0 {
		sum := sha256.Sum256(w.k.last.Body)
		b.Previous = hex.EncodeToString(sum[:])
		if next := w.k.lastBody.LastSeq + 1; first.Seq != next {
			// Retention deleted records before a digest covered them:
			// the digests still follow each other without a gap.
			b.FirstSeq, b.FirstTime = next, ""
		}
	}
	d := w.o.Key.sign(b)
	if err := w.o.Trail.AddAuditDigest(ctx, d); err != nil {
		w.k.loaded = false // another writer's digest came first: read it next time
		return err
	}
	w.k.last, w.k.lastBody, w.k.nextDigest = d, b, now.Add(w.o.DigestEvery)
	return nil
}

// loadDigest reads the newest stored digest.
func (w *Writer) loadDigest(ctx context.Context) error {
	w.k.last, w.k.lastBody = storage.AuditDigest{}, DigestBody{}
	if err := w.o.Trail.ListAuditDigests(ctx, func(d storage.AuditDigest) error { w.k.last = d; return nil }); err != nil {
		return err
	}
	if w.k.last.Seq == 0 {
		return nil
	}
	b, err := parseDigest(w.k.last.Body)
	if err != nil {
		return fmt.Errorf("digest %d: %w", w.k.last.Seq, err)
	}
	w.k.lastBody = b
	return nil
}

// firstAfter reads the first record after seq.
func firstAfter(ctx context.Context, log storage.AuditLog, seq int64) (storage.AuditRecord, bool, error) {
	var (
		out   storage.AuditRecord
		found bool
	)
	err := log.QueryAudit(ctx, storage.AuditFilter{AfterSeq: seq, Limit: 1}, func(r storage.AuditRecord) error {
		out, found = r, true
		return nil
	})
	return out, found, err
}

// SegmentsDeletedEvent is the event retention records, in the trail,
// before it deletes segments: the seq range it drops and the hash of the
// range's last record, from which verification continues the chain.
const SegmentsDeletedEvent = "AuditSegmentsDeleted"

// retain deletes the closed segments that retention no longer keeps,
// oldest first: those closed more than RetainFor ago, and more while the
// log takes more than RetainMaxBytes. The deletion is recorded (and
// stored durably) before any file goes, so that a crash in between leaves
// a record of a deletion not yet done, never a deletion unrecorded.
func (w *Writer) retain(ctx context.Context, seg storage.AuditSegments, now time.Time) error {
	if w.o.RetainFor <= 0 && w.o.RetainMaxBytes <= 0 {
		return nil
	}
	segs, total, err := seg.AuditSegments(ctx)
	if err != nil {
		return err
	}
	n, reason := 0, ""
	for n < len(segs) {
		if w.o.RetainFor > 0 && now.Sub(segs[n].Closed) > w.o.RetainFor {
			reason = "older than " + w.o.RetainFor.String()
		} else if w.o.RetainMaxBytes > 0 && total > w.o.RetainMaxBytes {
			reason = "the log exceeds " + strconv.FormatInt(w.o.RetainMaxBytes, 10) + " bytes"
		} else {
			break
		}
		total -= segs[n].Bytes
		n++
	}
	if n == 0 {
		return nil
	}
	first, through := segs[0].FirstSeq, segs[n-1].LastSeq
	last, found, err := recordAt(ctx, w.o.Trail, through)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("audit record %d, the last of the segments to delete, is missing", through)
	}
	ev := &Event{
		EventVersion: EventVersion, UserIdentity: UserIdentity{Type: "Unknown"},
		EventTime: now.UTC().Format(time.RFC3339), EventSource: internalSource, EventName: SegmentsDeletedEvent,
		SourceIPAddress: internalSource, UserAgent: internalSource, RequestID: UUID(w.o.Random), EventID: UUID(w.o.Random),
		EventType: EventType, ManagementEvent: true, EventCategory: Category,
		AdditionalEventData: map[string]string{
			"firstSeq": strconv.FormatInt(first, 10), "lastSeq": strconv.FormatInt(through, 10),
			"lastHash": hex.EncodeToString(last.Hash[:]), "segments": strconv.Itoa(n), "reason": reason,
		},
	}
	if err := w.Record(ctx, ev, now, false); err != nil {
		return fmt.Errorf("recording the deletion: %w", err)
	}
	if err := seg.DeleteAuditSegments(ctx, through); err != nil {
		return err
	}
	w.o.Logger.Info("audit segments deleted by retention", "firstSeq", first, "lastSeq", through, "segments", n, "reason", reason)
	return nil
}

// internalSource is the eventSource (and source address) of the events
// keyless records about itself.
const internalSource = "keyless"

// timestamp renders t as digests do: UTC, to the microsecond that the log
// stores.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// ErrTrailMismatch means the audit log no longer holds the record its
// checkpoint names: events were lost (the log cut short, emptied or
// deleted) or rewritten since the server last ran.
var ErrTrailMismatch = errors.New("the audit trail does not match its checkpoint")

// CheckTrail compares the log with its stored checkpoint, before a server
// appends to it: a server must not start on a trail that lost events it
// recorded (the missing range is named) or was rewritten.
func CheckTrail(ctx context.Context, trail Trail) error {
	c, err := trail.AuditCheckpoint(ctx)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the audit checkpoint: %w", err)
	}
	r, found, err := recordAt(ctx, trail, c.Seq)
	if err != nil {
		return fmt.Errorf("reading audit record %d: %w", c.Seq, err)
	}
	at := c.Time.UTC().Format(time.RFC3339)
	switch {
	case !found:
		return fmt.Errorf("%w: the checkpoint of %s names record %d, which the log no longer holds (records were lost: the log was cut short, emptied or deleted)",
			ErrTrailMismatch, at, c.Seq)
	case r.Hash != c.Hash:
		return fmt.Errorf("%w: record %d is not the one the checkpoint of %s names (the log was rewritten)", ErrTrailMismatch, c.Seq, at)
	}
	// The checkpoint follows the log within a second or so while a server
	// runs, and catches up when it stops; a record made long after the
	// checkpoint was taken means the store is older than the log.
	next, found, err := recordAt(ctx, trail, c.Seq+1)
	if err != nil {
		return fmt.Errorf("reading audit record %d: %w", c.Seq+1, err)
	}
	if found && next.Time.Sub(c.Time) > staleAfter {
		return fmt.Errorf("%w: its checkpoint, of %s, names record %d, but the log goes on past it to events of %s: the store was "+
			"restored from an older backup, and the revocations, single-use records and MFA state recorded since are lost",
			ErrStaleStore, at, c.Seq, next.Time.UTC().Format(time.RFC3339))
	}
	return nil
}

// ErrStaleStore means the store is older than the audit trail beside it.
var ErrStaleStore = errors.New("the store is older than its audit trail")

// staleAfter is how much later than its checkpoint the next record may be
// before the store counts as older than the log (a kill -9 loses at most
// the last second's checkpoint).
const staleAfter = 5 * time.Minute
