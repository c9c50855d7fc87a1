package identity

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/storage"
)

// RevocationDelay bounds how long a server takes to honour a revocation
// written by another server or by `keyless sessions revoke`: Revocations
// are refreshed this often.
const RevocationDelay = 5 * time.Second

// Revocations caches the stored per-principal revocation times; the
// request path reads them without locking or storage round trips
// (aws-sts.md section 5.11).
type Revocations struct {
	store storage.Revocations
	m     atomic.Pointer[map[string]time.Time]
}

// NewRevocations loads the stored times.
func NewRevocations(ctx context.Context, store storage.Revocations) (*Revocations, error) {
	r := &Revocations{store: store}
	return r, r.Refresh(ctx)
}

// Refresh reloads the times. On failure the previous ones stay in force.
func (r *Revocations) Refresh(ctx context.Context) error {
	m, err := r.store.SessionRevocations(ctx)
	if err != nil {
		return err
	}
	r.m.Store(&m)
	return nil
}

// Before returns the time before which sessions of the principal with this
// unique id are revoked; zero if they are not.
func (r *Revocations) Before(uniqueID string) time.Time { return (*r.m.Load())[uniqueID] }

// ErrUnknownPrincipal is returned when no user or role of that ARN has
// been given a unique id in this store.
var ErrUnknownPrincipal = errors.New("no such user or role has been served from this store")

// Revoke revokes every session of the role or user named by principalARN
// issued before at, the way IAM's "Revoke active sessions" does with
// aws:TokenIssueTime. It returns the principal's unique id.
func Revoke(ctx context.Context, store interface {
	storage.IDs
	storage.Revocations
}, principalARN string, at time.Time) (string, error) {
	key, err := keyOf(principalARN)
	if err != nil {
		return "", err
	}
	ids, err := store.ListIDs(ctx, key)
	if err != nil {
		return "", err
	}
	id, ok := ids[key]
	if !ok {
		return "", fmt.Errorf("%s: %w", principalARN, ErrUnknownPrincipal)
	}
	return id, store.RevokeSessions(ctx, id, at)
}

// keyOf is the binding key of a role or user ARN.
func keyOf(principalARN string) (string, error) {
	if account, _, name, ok := arn.ParseIAM(principalARN, "role"); ok {
		return RoleKey(account, name), nil
	}
	if account, _, name, ok := arn.ParseIAM(principalARN, "user"); ok {
		return UserKey(account, name), nil
	}
	return "", fmt.Errorf("%q is not a role or user ARN (arn:aws:iam::ACCOUNT:role/NAME or user/NAME)", principalARN)
}
