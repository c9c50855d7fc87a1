package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/storage"
)

// healthEvery is how often the server checks that it can account for what
// it issues; a lost data directory or a full disk stops issuance within
// this bound.
const healthEvery = time.Second

// pingEvery is how many checks apart storage's write probe runs (while it
// fails, every check runs it).
const pingEvery = 5

// unhealthyLogEvery is how often a lasting problem is logged again.
const unhealthyLogEvery = 30 * time.Second

// health is the outcome of the last check: what /readyz reports and what
// the edge's gate consults on every audited request.
type health struct {
	problems []string
	at       time.Time
}

// errNotAccepting is the gate's refusal; its text (the problems) is
// logged, never sent.
type errNotAccepting struct{ problems []string }

func (e *errNotAccepting) Error() string {
	return "not accepting requests: " + strings.Join(e.problems, "; ")
}

// gate is the edge's Gate: nil while the last check found nothing wrong.
func (a *App) gate() error {
	h := a.health.Load()
	if h == nil || len(h.problems) == 0 {
		return nil
	}
	return &errNotAccepting{h.problems}
}

// check finds what keeps this server from accounting for what it would
// issue: storage that does not take writes, or whose files were removed or
// replaced; a filesystem below the free-space watermark; no master key.
func (a *App) check(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var problems []string
	// The storage write (an fsync, which the audit commits wait behind on
	// the same disk) every pingEvery checks; the files are checked before
	// every audit commit anyway, and free space every second.
	a.checks++
	var err error
	if a.checks%pingEvery == 1 || a.lastPing != nil {
		err = a.deps.Store.Ping(ctx)
		a.lastPing = err
	}
	// A write that only took too long (a slow disk, a snapshot freezing
	// the filesystem for a moment) counts from the second time in a row;
	// an error is a problem at once.
	slow := errors.Is(err, context.DeadlineExceeded)
	if slow {
		a.slowChecks++
	} else {
		a.slowChecks = 0
	}
	if err != nil && (!slow || a.slowChecks > 1) {
		problems = append(problems, "storage: "+err.Error())
	}
	if d, ok := a.deps.Store.(storage.Disk); ok {
		if min := a.Config().MinFreeBytes; min > 0 {
			free, err := d.FreeBytes()
			switch {
			case err != nil:
				problems = append(problems, "free space: "+err.Error())
			case free < uint64(min):
				problems = append(problems, fmt.Sprintf("free space %d MiB is below the watermark of %d MiB (storage.min_free_mib)", free>>20, min>>20))
			}
		}
	}
	if _, _, err := a.ring.Active(keyring.SessionToken); err != nil {
		problems = append(problems, "no active master key: "+err.Error())
	}
	return problems
}

// watchHealth checks every healthEvery until ctx is done, and logs a
// change at once and a lasting problem once per unhealthyLogEvery.
func (a *App) watchHealth(ctx context.Context) {
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	var logged time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		prev := a.health.Load()
		problems := a.check(ctx)
		if ctx.Err() != nil {
			return
		}
		now := a.deps.Clock.Now()
		a.health.Store(&health{problems: problems, at: now})
		wasOK := prev == nil || len(prev.problems) == 0
		switch {
		case len(problems) > 0 && (wasOK || now.Sub(logged) >= unhealthyLogEvery || !slices.Equal(prev.problems, problems)):
			a.deps.Logger.Error("not accepting requests: keyless cannot account for what it would issue", "problems", problems)
			logged = now
		case len(problems) == 0 && !wasOK:
			a.deps.Logger.Info("accepting requests again")
		}
	}
}

// healthOnce is the first check, made before the server listens.
func (a *App) healthOnce(ctx context.Context) {
	a.health.Store(&health{problems: a.check(ctx), at: a.deps.Clock.Now()})
	if h := a.health.Load(); len(h.problems) > 0 {
		a.deps.Logger.Error("not accepting requests: keyless cannot account for what it would issue", "problems", h.problems)
	}
}
