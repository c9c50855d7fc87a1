package audit

import (
	"sync"
	"time"
)

// complainEvery is how often one kind of failure is logged while it
// lasts: a disk that is full or gone fails every commit and every
// housekeeping run, and is one condition, not a flood of lines.
const complainEvery = 10 * time.Second

// complaints lets one line per kind of failure through per complainEvery,
// counting the rest.
type complaints struct {
	mu    sync.Mutex
	kinds map[string]*complaint
}

type complaint struct {
	last       time.Time
	suppressed int
}

// complain logs msg with err unless the same kind was logged less than
// complainEvery ago; the line says how many were suppressed since the
// last.
func (w *Writer) complain(kind, msg string, err error, args ...any) {
	now := w.o.Clock.Now()
	w.c.mu.Lock()
	c, ok := w.c.kinds[kind]
	if !ok {
		c = &complaint{}
		w.c.kinds[kind] = c
	}
	if !c.last.IsZero() && now.Sub(c.last) < complainEvery {
		c.suppressed++
		w.c.mu.Unlock()
		return
	}
	n := c.suppressed
	c.last, c.suppressed = now, 0
	w.c.mu.Unlock()
	w.o.Logger.Error(msg, append(args, "err", err, "suppressed_since_last", n)...)
}
