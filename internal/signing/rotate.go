package signing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/storage"
)

// TooSoonError refuses a rotation whose next key has not been published
// long enough: a relying party may still hold a key set without it.
type TooSoonError struct {
	Algorithm Algorithm
	Published time.Time // when the next key was published
	Ready     time.Time // when it may sign
}

func (e *TooSoonError) Error() string {
	return fmt.Sprintf("the next %s key was published at %s and may sign from %s, once every relying party's cached key set has it",
		e.Algorithm, e.Published.UTC().Format(time.RFC3339), e.Ready.UTC().Format(time.RFC3339))
}

// Rotation is one algorithm's rotation done.
type Rotation struct {
	Algorithm Algorithm
	Active    string // the key now signing
	Retired   string // the key that stopped, "" if none
	Next      string // the key published to sign next
}

// Rotate makes alg's next key the active one, retires the active key and
// publishes a new next key. The next key must have been published for
// Publish (TooSoonError otherwise). If another node rotated first, Rotate
// reports that node's rotation instead of making a second one.
func (k *Keys) Rotate(ctx context.Context, alg Algorithm) (Rotation, error) {
	if err := k.Refresh(ctx); err != nil {
		return Rotation{}, err
	}
	v := k.cur.Load()
	next, active := v.next[alg], v.active[alg]
	if next == nil || active == nil {
		return Rotation{}, fmt.Errorf("signing: the %s keys are incomplete", alg)
	}
	now := k.o.Clock.Now().UTC()
	if ready := next.stored.CreatedAt.Add(k.o.Publish); now.Before(ready) {
		return Rotation{}, &TooSoonError{Algorithm: alg, Published: next.stored.CreatedAt, Ready: ready}
	}
	s, err := k.generate(alg)
	if err != nil {
		return Rotation{}, err
	}
	err = k.o.Store.ActivateSigningKey(ctx, next.stored.ID, active.stored.ID, now, s)
	if err != nil && !errors.Is(err, storage.ErrConflict) {
		return Rotation{}, err
	}
	if err := k.Refresh(ctx); err != nil {
		return Rotation{}, err
	}
	v = k.cur.Load()
	if v.active[alg] == nil || v.next[alg] == nil {
		return Rotation{}, fmt.Errorf("signing: the %s keys are incomplete", alg)
	}
	r := Rotation{Algorithm: alg, Active: v.active[alg].stored.ID, Next: v.next[alg].stored.ID}
	if r.Active != active.stored.ID {
		r.Retired = active.stored.ID
	}
	return r, nil
}

// Key is a signing key as an operator sees it: never its private half.
type Key struct {
	storage.SigningKey
	State storage.SigningKeyState
	// Until is when a retired key leaves the key set.
	Until time.Time
}

// Describe shows stored keys as an operator sees them, in publication
// order (by algorithm, then oldest first), without their sealed private
// halves: what `keyless keys list --signing` prints without the
// key-encryption key.
func Describe(stored []storage.SigningKey, retain time.Duration) []Key {
	var out []Key
	for _, alg := range Algorithms {
		for _, s := range stored {
			if s.Algorithm != string(alg) {
				continue
			}
			s.Sealed = nil
			kk := Key{SigningKey: s, State: s.State()}
			if kk.State == storage.SigningKeyRetired {
				kk.Until = s.RetiredAt.Add(retain)
			}
			out = append(out, kk)
		}
	}
	return out
}

// Maintain reloads the keys, completes them, rotates active keys that are
// RotateEvery old (once their next key has been published for Publish),
// and deletes retired keys past Retain. Run it periodically on every
// node: the stored compare-and-swap makes each change happen once.
func (k *Keys) Maintain(ctx context.Context) error {
	if err := k.Refresh(ctx); err != nil {
		return err
	}
	if err := k.complete(ctx); err != nil {
		return err
	}
	now := k.o.Clock.Now()
	v := k.cur.Load()
	for _, alg := range Algorithms {
		a, n := v.active[alg], v.next[alg]
		if k.o.RotateEvery <= 0 || a == nil || n == nil || now.Sub(a.stored.ActivatedAt) < k.o.RotateEvery ||
			now.Sub(n.stored.CreatedAt) < k.o.Publish {
			continue
		}
		r, err := k.Rotate(ctx, alg)
		var soon *TooSoonError
		if err != nil && !errors.As(err, &soon) {
			return err
		}
		if err == nil {
			k.o.Logger.Info("rotated signing key", "alg", alg, "active", r.Active, "retired", r.Retired, "next", r.Next)
		}
	}
	pruned := 0
	for _, e := range k.cur.Load().all {
		if e.stored.State() == storage.SigningKeyRetired && now.Sub(e.stored.RetiredAt) > k.o.Retain {
			if err := k.o.Store.DeleteSigningKey(ctx, e.stored.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			k.o.Logger.Info("unpublished retired signing key", "alg", e.alg, "kid", e.stored.ID)
			pruned++
		}
	}
	if pruned > 0 {
		if err := k.Refresh(ctx); err != nil {
			return err
		}
	}
	if k.resealPending.Load() {
		return k.reseal(ctx)
	}
	return nil
}

// UseKEK makes set the key-encryption keys from now on (a reload), once
// every stored key opens with it, and re-seals the keys sealed under a
// previous one.
func (k *Keys) UseKEK(ctx context.Context, set *kek.Set) error {
	if err := k.Opens(ctx, set); err != nil {
		return err
	}
	k.kek.Store(set)
	return k.reseal(ctx)
}

// reseal re-wraps the keys sealed under a previous key-encryption key
// under the current one; a key another node re-sealed first is left to it.
func (k *Keys) reseal(ctx context.Context) error {
	k.refreshMu.Lock()
	stale, err := k.refreshLocked(ctx)
	k.refreshMu.Unlock()
	if err != nil || len(stale) == 0 {
		return err
	}
	k.resealPending.Store(true)
	set := k.kek.Load()
	for _, e := range stale {
		der, _, err := set.Open(e.stored.Sealed, sealedFor(e.stored.ID, e.stored.Algorithm))
		if err != nil {
			return err
		}
		sealed, err := set.Seal(k.o.Random, der, sealedFor(e.stored.ID, e.stored.Algorithm))
		clear(der)
		if err != nil {
			return err
		}
		err = k.o.Store.ResealSigningKey(ctx, e.stored.ID, e.stored.Sealed, sealed)
		if err != nil && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("re-seal signing key %s: %w", e.stored.ID, err)
		}
	}
	k.resealPending.Store(false)
	k.o.Logger.Info("re-sealed signing keys under the current key-encryption key", "keys", len(stale), "kek", set.Current.ID())
	return k.Refresh(ctx)
}
