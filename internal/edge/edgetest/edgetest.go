// Package edgetest is what the surfaces' tests mount them on the edge
// with: an audit sink that keeps the events in memory, and a test server.
package edgetest

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/edge"
)

// Recorder is an edge audit sink (edge.Options.Audit) keeping events in
// memory. A Record without Begin is refused, as is every Record while
// Fail is set (the audit store is down).
type Recorder struct {
	mu     sync.Mutex
	events []*audit.Event
	fail   error
}

// Begin implements the sink.
func (r *Recorder) Begin() {}

// Record implements the sink.
func (r *Recorder) Record(_ context.Context, ev *audit.Event, _ time.Time, begun bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !begun:
		return errors.New("edgetest: Record without Begin")
	case r.fail != nil:
		return r.fail
	}
	r.events = append(r.events, ev)
	return nil
}

// Fail makes every Record fail with err (nil: succeed again).
func (r *Recorder) Fail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

// Events are the events recorded so far.
func (r *Recorder) Events() []*audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*audit.Event(nil), r.events...)
}

// Len is the number of events recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Last is the last event recorded.
func (r *Recorder) Last() *audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[len(r.events)-1]
}

// Serve mounts the surface build makes, given the server's URL (which a
// surface may need to know: its public URL), on an edge recording to
// rec, and serves it until the test ends.
func Serve(t testing.TB, rec *Recorder, build func(url string) *edge.Surface) *httptest.Server {
	t.Helper()
	e := edge.New(edge.Options{Audit: rec, Clock: clock.System{}, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewUnstartedServer(nil)
	r, err := e.Mount(build("http://" + srv.Listener.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = r
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}
