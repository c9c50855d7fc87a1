package storage

import (
	"context"
	"errors"
	"time"
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
// Backends store only its sealed form: the key wrapped under a
// key-encryption key that is not in storage (package kek).
type MasterKey struct {
	ID        uint32
	Sealed    []byte
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
	// ResealMasterKey replaces key id's sealed form with sealed, if it is
	// still old (a key-encryption key's rotation re-wraps every key).
	// ErrNotFound if absent; ErrConflict if it is no longer old.
	ResealMasterKey(ctx context.Context, id uint32, old, sealed []byte) error
}

// MFA stores one-time-password replay state per device.
type MFA interface {
	// UseTOTPStep records that a code for step was accepted on the device,
	// if step is later than every step accepted before (RFC 6238 section
	// 5.2). Otherwise ErrConflict. Exactly one of any number of concurrent
	// calls with the same step succeeds.
	UseTOTPStep(ctx context.Context, serial string, step int64) error
}

// Attempts counts attempts per key (an MFA device, a user, a source
// address) in fixed windows, so that a limit on guesses holds across
// concurrent requests and nodes: an attempt is counted before it is
// evaluated (package attempts).
type Attempts interface {
	// TakeAttempt counts one attempt on key in the window that starts at
	// window and returns the window's count, this one included, in one
	// atomic step: concurrent calls get distinct counts. The key's counts
	// of earlier windows may be deleted.
	TakeAttempt(ctx context.Context, key string, window time.Time) (int, error)
	// ReturnAttempt uncounts one attempt taken on key in the window,
	// never going below zero.
	ReturnAttempt(ctx context.Context, key string, window time.Time) error
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
// without gaps) and Hash, chaining each record to the one before it
// (ChainHash).
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
	// transaction: all or none. It sets each record's Seq and Hash
	// (ChainHash) in recs.
	AppendAudit(ctx context.Context, recs []AuditRecord) error
	// QueryAudit calls fn for each matching record in Seq order.
	QueryAudit(ctx context.Context, f AuditFilter, fn func(AuditRecord) error) error
}

// Store is everything a backend provides.
type Store interface {
	MasterKeys
	MFA
	Attempts
	IDs
	Revocations
	SingleUse
	AuditLog
	AuditCheckpoints
	AuditDigests
	SealedKeys
	SigningKeys
	IntegrationStates
	Records
	// Ping reports whether the backend can serve requests.
	Ping(ctx context.Context) error
	Close() error
}

// Starter is implemented by backends that lock and check their state when a
// server starts on it, rather than at its first write.
type Starter interface {
	Start(ctx context.Context) error
}

// Disk is implemented by backends that keep state on a local filesystem:
// the server stops issuing before that filesystem fills.
type Disk interface {
	// FreeBytes is the space left for the backend's files.
	FreeBytes() (uint64, error)
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
