package attempts_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/attempts"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

var ctx = context.Background()

func limiter(store storage.Attempts, limit int) (*attempts.Limiter, *clock.Fake) {
	c := clock.NewFake(time.Date(2026, 11, 21, 12, 0, 10, 0, time.UTC))
	return &attempts.Limiter{Store: store, Max: limit, Window: 5 * time.Minute, Clock: c}, c
}

// take takes an attempt on keys and reports whether it was allowed.
func take(t *testing.T, l *attempts.Limiter, keys ...string) (attempts.Attempt, bool) {
	t.Helper()
	a, err := l.Take(ctx, keys...)
	switch {
	case errors.Is(err, attempts.ErrLimited):
		return a, false
	case err != nil:
		t.Fatal(err)
	}
	return a, true
}

func TestLimitPerWindow(t *testing.T) {
	l, c := limiter(memory.New(), 3)
	var first attempts.Attempt
	for i := range 3 {
		a, ok := take(t, l, "mfa:dev")
		if !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		if i == 0 {
			first = a
		}
	}
	if _, ok := take(t, l, "mfa:dev"); ok {
		t.Fatal("attempt 4 allowed")
	}
	// The refused attempt did not stay counted: one returned attempt makes
	// room for exactly one more.
	if err := first.Return(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Return(ctx); err != nil { // once only
		t.Fatal(err)
	}
	if _, ok := take(t, l, "mfa:dev"); !ok {
		t.Fatal("the returned attempt was not given back")
	}
	if _, ok := take(t, l, "mfa:dev"); ok {
		t.Fatal("a second Return gave back twice, or the refusal stayed counted")
	}
	if _, ok := take(t, l, "mfa:other"); !ok {
		t.Fatal("keys are not independent")
	}
	c.Advance(5 * time.Minute)
	if _, ok := take(t, l, "mfa:dev"); !ok {
		t.Fatal("the next window is still limited")
	}
}

// With several keys (a user and a source address), one key over its limit
// refuses the attempt and gives back what it took on the others.
func TestSeveralKeys(t *testing.T) {
	l, _ := limiter(memory.New(), 2)
	for _, keys := range [][]string{{"user:alice", "ip:1"}, {"user:bob", "ip:1"}} {
		if _, ok := take(t, l, keys...); !ok {
			t.Fatalf("%v refused", keys)
		}
	}
	if _, ok := take(t, l, "user:alice", "ip:1"); ok {
		t.Fatal("ip:1 over its limit, allowed")
	}
	// alice has 1 counted, not 2: one more is allowed, a second is not.
	if _, ok := take(t, l, "user:alice", "ip:2"); !ok {
		t.Fatal("the refused attempt stayed counted on user:alice")
	}
	if _, ok := take(t, l, "user:alice", "ip:3"); ok {
		t.Fatal("user:alice over its limit, allowed")
	}
}

// flaky is a store whose TakeAttempt fails for one key, and that records
// the returns it sees.
type flaky struct {
	*memory.Store
	failKey  string
	returned []string
	windows  []time.Time
}

var errDown = errors.New("storage is down")

func (f *flaky) TakeAttempt(ctx context.Context, key string, w time.Time) (int, error) {
	if key == f.failKey {
		return 0, errDown
	}
	return f.Store.TakeAttempt(ctx, key, w)
}

func (f *flaky) ReturnAttempt(ctx context.Context, key string, w time.Time) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.returned = append(f.returned, key)
	f.windows = append(f.windows, w)
	return f.Store.ReturnAttempt(ctx, key, w)
}

func TestStoreError(t *testing.T) {
	f := &flaky{Store: memory.New(), failKey: "ip:1"}
	l, _ := limiter(f, 5)
	_, err := l.Take(ctx, "user:alice", "ip:1")
	if !errors.Is(err, errDown) || errors.Is(err, attempts.ErrLimited) {
		t.Fatalf("got %v, want the store's error", err)
	}
	if len(f.returned) != 1 || f.returned[0] != "user:alice" {
		t.Fatalf("given back: %v, want user:alice", f.returned)
	}
}

// A return reaches the window the attempt was taken in, even after the
// clock has moved to the next, and even when the request's context is
// cancelled.
func TestReturnWindowAndCancel(t *testing.T) {
	f := &flaky{Store: memory.New()}
	l, c := limiter(f, 5)
	a, ok := take(t, l, "mfa:dev")
	if !ok {
		t.Fatal("refused")
	}
	taken := c.Now().Truncate(5 * time.Minute)
	c.Advance(5 * time.Minute)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.Return(cancelled); err != nil {
		t.Fatal(err)
	}
	if len(f.windows) != 1 || !f.windows[0].Equal(taken) {
		t.Fatalf("returned in %v, want %v", f.windows, taken)
	}
}

// However many attempts run at once, no more than Max are held at any
// moment, and every one is either allowed or refused with ErrLimited.
func TestConcurrent(t *testing.T) {
	const limit = 10
	l, _ := limiter(memory.New(), limit)
	var (
		wg             sync.WaitGroup
		start          = make(chan struct{})
		mu             sync.Mutex
		held, peak     int // attempts allowed and not yet returned
		allowed, total atomic.Int32
	)
	for i := range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, err := l.Take(ctx, "mfa:dev")
			total.Add(1)
			switch {
			case errors.Is(err, attempts.ErrLimited):
				return
			case err != nil:
				t.Error(err)
				return
			}
			allowed.Add(1)
			mu.Lock()
			held++
			peak = max(peak, held)
			mu.Unlock()
			if i%2 == 0 { // half are right guesses, given back
				mu.Lock()
				held-- // before the store's count goes down
				mu.Unlock()
				if err := a.Return(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if peak > limit || allowed.Load() < limit || total.Load() != 400 {
		t.Fatalf("peak %d held at once, %d allowed of %d; want at most %d held", peak, allowed.Load(), total.Load(), limit)
	}
}
