package storage

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"

	"github.com/keyless-dev/keyless/internal/secret"
)

// Sentinel errors every backend returns.
var (
	// ErrNotFound: the thing asked for does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict: a compare-and-swap lost, or a single-use value was
	// already used.
	ErrConflict = errors.New("storage: conflict")
)

// MasterKey is a key that seals session tokens (and, later, other
// server-side secrets). Exactly one key is active at a time; retired keys
// stay for verification until every token sealed under them has expired.
type MasterKey struct {
	ID        uint32
	Material  secret.Bytes // 32 bytes
	CreatedAt time.Time
	RetiredAt time.Time // zero while active
}

// Active reports whether the key is the one new tokens are sealed under.
func (k MasterKey) Active() bool { return k.RetiredAt.IsZero() }

// MasterKeys stores the key ring.
type MasterKeys interface {
	// ListMasterKeys returns every stored key, active or retired.
	ListMasterKeys(ctx context.Context) ([]MasterKey, error)
	// RotateMasterKey stores k as the new active key and retires the
	// current one at k.CreatedAt, but only if the current active key's id
	// is wantActive (0: there is none yet). Otherwise ErrConflict.
	RotateMasterKey(ctx context.Context, k MasterKey, wantActive uint32) error
	// DeleteMasterKey removes a retired key. ErrNotFound if absent;
	// ErrConflict if it is the active key.
	DeleteMasterKey(ctx context.Context, id uint32) error
}

// MFA stores one-time-password replay and lockout state per device.
type MFA interface {
	// UseTOTPStep records that a code for step was accepted on the device,
	// if step is later than every step accepted before (RFC 6238 section
	// 5.2). Otherwise ErrConflict. Exactly one of any number of concurrent
	// calls with the same step succeeds.
	UseTOTPStep(ctx context.Context, serial string, step int64) error
	// AddMFAFailure counts one failed attempt in the window starting at
	// window and returns the window's count so far, this one included.
	AddMFAFailure(ctx context.Context, serial string, window time.Time) (int, error)
	// MFAFailures returns the failed attempts counted in the window.
	MFAFailures(ctx context.Context, serial string, window time.Time) (int, error)
}

// IDs binds stable unique ids to names (a user's AIDA... id to the user,
// the deployment id to the deployment), so that every node and every
// restart agree on them.
type IDs interface {
	// ClaimID returns the id bound to key, binding proposed first if none
	// is. Concurrent claims of one key all return the same id.
	ClaimID(ctx context.Context, key, proposed string) (string, error)
	// ReleaseID unbinds key, so that a later claim gets a fresh id.
	ReleaseID(ctx context.Context, key string) error
	// ListIDs returns the bindings whose keys start with prefix.
	ListIDs(ctx context.Context, prefix string) (map[string]string, error)
}

// Revocations stores, per principal, the time before which its sessions
// are revoked (aws-sts.md section 5.11).
type Revocations interface {
	// RevokeSessions revokes the sessions of principal (a unique id)
	// issued before before. The time only moves forward: an earlier time
	// than the stored one changes nothing.
	RevokeSessions(ctx context.Context, principal string, before time.Time) error
	// SessionRevocations returns every principal's revocation time.
	SessionRevocations(ctx context.Context) (map[string]time.Time, error)
}

// SingleUse records values that may be accepted once: a signed request's
// signature, a token's jti, a server challenge, a SAML assertion id.
type SingleUse interface {
	// UseOnce records key as used until until. If key is already recorded
	// and its time is after now, it returns ErrConflict and changes
	// nothing. Exactly one of any number of concurrent calls with the same
	// key succeeds. Keys are at most MaxSingleUseKey bytes. Records whose
	// time has passed may be deleted at any time.
	UseOnce(ctx context.Context, key string, until, now time.Time) error
	// Used reports whether key is recorded as used at now (a record whose
	// time has not passed), without recording anything: an operator's
	// dry run (explain) tells a replay from a first use. A key UseOnce
	// would refuse for its length is refused here too.
	Used(ctx context.Context, key string, now time.Time) (bool, error)
}

// MaxSingleUseKey bounds a SingleUse key.
const MaxSingleUseKey = 256

// AuditRecord is one stored audit event. The backend assigns Seq (1, 2, ...
// without gaps) and Hash, chaining each record to the one before it.
type AuditRecord struct {
	Seq          int64
	Time         time.Time
	EventName    string
	AccessKeyID  string // the key the request was signed with
	IssuedKeyID  string // the temporary key the request issued, if any
	PrincipalARN string
	ErrorCode    string
	JSON         []byte // the CloudTrail-shaped event
	Hash         [32]byte
}

// AuditFilter selects audit records. Zero fields match everything.
type AuditFilter struct {
	EventName string
	// AccessKeyID matches records signed with the key or issuing it.
	AccessKeyID  string
	PrincipalARN string
	From, To     time.Time // From inclusive, To exclusive
	AfterSeq     int64
	Limit        int
}

// AuditLog is the append-only audit trail.
type AuditLog interface {
	// AppendAudit durably stores the records, in order, in one
	// transaction: all or none.
	AppendAudit(ctx context.Context, recs []AuditRecord) error
	// QueryAudit calls fn for each matching record in Seq order.
	QueryAudit(ctx context.Context, f AuditFilter, fn func(AuditRecord) error) error
}

// Store is everything a backend provides.
type Store interface {
	MasterKeys
	MFA
	IDs
	Revocations
	SingleUse
	AuditLog
	// Ping reports whether the backend can serve requests.
	Ping(ctx context.Context) error
	Close() error
}

// ChainHash links an audit record to its predecessor:
// SHA-256(prev || seq as 8 big-endian bytes || event JSON).
func ChainHash(prev [32]byte, seq int64, event []byte) [32]byte {
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

// ErrClosed is returned by a store after Close.
var ErrClosed = errors.New("storage: closed")

// Matches reports whether r passes f, for backends that filter in Go.
func Matches(f AuditFilter, r AuditRecord) bool {
	return (f.EventName == "" || f.EventName == r.EventName) &&
		(f.AccessKeyID == "" || f.AccessKeyID == r.AccessKeyID || f.AccessKeyID == r.IssuedKeyID) &&
		(f.PrincipalARN == "" || f.PrincipalARN == r.PrincipalARN) &&
		(f.From.IsZero() || !r.Time.Before(f.From)) &&
		(f.To.IsZero() || r.Time.Before(f.To)) &&
		r.Seq > f.AfterSeq
}
