package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// RevocationDelay bounds how long a node takes to honour a revocation
// written by another node or by `keyless sessions revoke`.
const RevocationDelay = 5 * time.Second

// revocations caches the stored per-principal revocation times; the
// request path reads it without locking or storage round trips.
type revocations struct {
	store storage.Revocations
	m     atomic.Pointer[map[string]time.Time]
}

func newRevocations(ctx context.Context, store storage.Revocations) (*revocations, error) {
	r := &revocations{store: store}
	return r, r.refresh(ctx)
}

// refresh reloads the times. On failure the previous ones stay in force.
func (r *revocations) refresh(ctx context.Context) error {
	m, err := r.store.SessionRevocations(ctx)
	if err != nil {
		return err
	}
	r.m.Store(&m)
	return nil
}

// before returns the time before which sessions of the principal with
// this unique id are revoked.
func (r *revocations) before(uniqueID string) time.Time { return (*r.m.Load())[uniqueID] }
