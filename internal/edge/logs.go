package edge

import (
	"sync"
	"time"
)

// logEvery is how often one kind of failure is logged while it lasts.
const logEvery = 10 * time.Second

// logLimiter lets one line per key through per interval and counts the
// rest, so that a failure hit by every request is logged as a condition,
// not as a flood.
type logLimiter struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	keys  map[string]*logState
}

type logState struct {
	last       time.Time
	suppressed int
}

func newLogLimiter(every time.Duration, now func() time.Time) *logLimiter {
	return &logLimiter{every: every, now: now, keys: map[string]*logState{}}
}

// allow reports whether to log key now, and how many were suppressed
// since the last line logged. Keys are a fixed set (surface and reason).
func (l *logLimiter) allow(key string) (bool, int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.keys[key]
	if !ok {
		s = &logState{}
		l.keys[key] = s
	}
	if !s.last.IsZero() && now.Sub(s.last) < l.every {
		s.suppressed++
		return false, 0
	}
	n := s.suppressed
	s.last, s.suppressed = now, 0
	return true, n
}
