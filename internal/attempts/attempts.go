package attempts

import (
	"context"
	"errors"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/storage"
)

// ErrLimited refuses an attempt on a key that has had its Max attempts in
// the current window. The caller must refuse without evaluating the guess;
// nothing stays counted.
var ErrLimited = errors.New("attempts: limit reached for this window")

// Limiter allows Max attempts per key per Window. Windows are fixed: the
// clock's time truncated to Window.
type Limiter struct {
	Store  storage.Attempts
	Max    int           // at least 1
	Window time.Duration // greater than zero
	Clock  clock.Clock
}

// Attempt is one attempt reserved on one or more keys. It stays counted
// unless returned.
type Attempt struct {
	store  storage.Attempts
	keys   []string
	window time.Time
}

// Take reserves one attempt on every key in the current window. If a key
// has already had Max, it gives back what it took and returns ErrLimited.
// A storage error is returned after giving back what was taken.
func (l *Limiter) Take(ctx context.Context, keys ...string) (Attempt, error) {
	a := Attempt{store: l.Store, window: l.Clock.Now().Truncate(l.Window)}
	for _, k := range keys {
		n, err := l.Store.TakeAttempt(ctx, k, a.window)
		if err != nil {
			return Attempt{}, errors.Join(err, a.Return(ctx))
		}
		a.keys = append(a.keys, k)
		if n > l.Max {
			return Attempt{}, errors.Join(ErrLimited, a.Return(ctx))
		}
	}
	return a, nil
}

// Return gives the attempt back on every key, in the window it was taken
// in, once: the guess was right, or was a right one sent again, and must
// not count toward the limit. It runs even if ctx is cancelled (the client
// went away, the bookkeeping must not). If it fails, the attempt stays
// counted, which is the limit's safe side.
func (a *Attempt) Return(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, k := range a.keys {
		if err := a.store.ReturnAttempt(ctx, k, a.window); err != nil {
			errs = append(errs, err)
		}
	}
	a.keys = nil
	return errors.Join(errs...)
}
