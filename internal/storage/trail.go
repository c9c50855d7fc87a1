package storage

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// chainDomain separates the audit chain's hashes from every other use of
// SHA-256 (version 2 of the chain).
const chainDomain = "keyless-audit-v2\x00"

// ChainHash links an audit record to its predecessor. It covers every
// stored field that a query or filter reads, each length-prefixed so that
// no two records encode alike:
//
//	SHA-256("keyless-audit-v2" 0x00 || prev || seq || time || eventName ||
//	        accessKeyId || issuedKeyId || principalArn || errorCode || event)
//
// where seq and time (Unix microseconds, the stored precision) are 8
// big-endian bytes and each string is its length as 8 big-endian bytes
// followed by its bytes.
func ChainHash(prev [32]byte, r AuditRecord) [32]byte {
	c := chainers.Get().(*chainer)
	defer chainers.Put(c)
	b := append(c.buf[:0], chainDomain...)
	b = append(b, prev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixMicro()))
	for _, f := range [...]string{r.EventName, r.AccessKeyID, r.IssuedKeyID, r.PrincipalARN, r.ErrorCode} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(len(r.JSON)))
	c.buf = b
	c.h.Reset()
	c.h.Write(b)
	c.h.Write(r.JSON)
	return [32]byte(c.h.Sum(c.sum[:0]))
}

// chainer is a SHA-256 state and a buffer for the fields before the
// event, reused across records: the chain is hashed once per stored
// event, on the commit path, which should allocate nothing.
type chainer struct {
	h   hash.Hash
	buf []byte
	sum [32]byte
}

var chainers = sync.Pool{New: func() any { return &chainer{h: sha256.New(), buf: make([]byte, 0, 512)} }}

// LegacyChainHash is version 1 of the chain, which keyless wrote before
// ChainHash: SHA-256(prev || seq as 8 big-endian bytes || event). It
// covers neither the time nor the indexed fields; verification accepts it
// only for the records of a log that precede its first version 2 record.
func LegacyChainHash(prev [32]byte, seq int64, event []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], uint64(seq))
	h.Write(s[:])
	h.Write(event)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// AuditCheckpoint is the audit chain's head as the writer last saw it,
// kept outside the log so that a log cut short, emptied or rewritten no
// longer matches it.
type AuditCheckpoint struct {
	Seq  int64
	Hash [32]byte
	Time time.Time // when it was taken
}

// AuditCheckpoints stores the latest checkpoint.
type AuditCheckpoints interface {
	// SaveAuditCheckpoint stores c if it is later in the chain than the
	// stored checkpoint; one at an earlier seq changes nothing. One at the
	// same seq with another hash (a forked chain) is ErrConflict.
	SaveAuditCheckpoint(ctx context.Context, c AuditCheckpoint) error
	// AuditCheckpoint returns the stored checkpoint; ErrNotFound if none.
	AuditCheckpoint(ctx context.Context) (AuditCheckpoint, error)
}

// AuditDigest is a signed statement about a run of audit records (package
// audit defines Body): digests are numbered 1, 2, ... and each names the
// previous one's hash.
type AuditDigest struct {
	Seq       int64
	Body      []byte
	Signature []byte
}

// AuditDigests stores the digests of the audit trail.
type AuditDigests interface {
	// AddAuditDigest stores d if d.Seq is one more than the last stored
	// digest's (1 for the first); otherwise ErrConflict.
	AddAuditDigest(ctx context.Context, d AuditDigest) error
	// ListAuditDigests calls fn for each stored digest in Seq order.
	ListAuditDigests(ctx context.Context, fn func(AuditDigest) error) error
}

// SealedKey is a named key pair other than the master keys (the audit
// digests' signing key): the private half only sealed under the
// key-encryption key (package kek), the public half in the clear, so that
// verifying needs no key-encryption key.
type SealedKey struct {
	Public []byte
	Sealed []byte
}

// SealedKeys stores named keys, each created once.
type SealedKeys interface {
	// ClaimSealedKey stores proposed under name unless a key is stored
	// there, and returns the stored key: concurrent claims of one name all
	// return the same key.
	ClaimSealedKey(ctx context.Context, name string, proposed SealedKey) (SealedKey, error)
	// SealedKey returns the key stored under name; ErrNotFound if none.
	SealedKey(ctx context.Context, name string) (SealedKey, error)
	// ResealKey replaces name's sealed form with sealed, if it is still
	// old (a key-encryption key's rotation re-wraps every key). ErrNotFound
	// if absent; ErrConflict if it is no longer old.
	ResealKey(ctx context.Context, name string, old, sealed []byte) error
}

// AuditSegment is a closed segment of an audit log kept in segment files
// (package auditfile): a run of records that retention deletes whole.
type AuditSegment struct {
	FirstSeq, LastSeq int64
	// Closed is the time of the first record after the segment: every
	// record in it was stored before then.
	Closed time.Time
	Bytes  int64 // on disk
}

// AuditSegments is implemented by audit logs kept in segments.
type AuditSegments interface {
	// AuditSegments returns the closed segments, oldest first, and the
	// bytes the whole log takes on disk, its open segment included.
	AuditSegments(ctx context.Context) ([]AuditSegment, int64, error)
	// CompressAuditSegments compresses the closed segments that are not
	// yet, each durably in place before its original is removed.
	CompressAuditSegments(ctx context.Context) error
	// DeleteAuditSegments deletes the closed segments whose records all
	// have a seq of at most through. The open segment is never deleted.
	DeleteAuditSegments(ctx context.Context, through int64) error
}
