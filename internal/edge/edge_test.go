package edge_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/edge"
)

// recorder keeps events and counts Begin and Record.
type recorder struct {
	mu            sync.Mutex
	events        []*audit.Event
	begun, record int
	err           error
}

func (r *recorder) Begin() { r.mu.Lock(); r.begun++; r.mu.Unlock() }

func (r *recorder) Record(_ context.Context, ev *audit.Event, _ time.Time, begun bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if begun {
		r.record++
	}
	r.events = append(r.events, ev)
	return r.err
}

// wire writes "OK answer" or "code status", and maps errors with a table
// of its own; "boom" makes the table itself panic.
type wire struct{}

func (wire) Refuse(err error) edge.Refusal {
	if e, ok := errors.AsType[*edge.Error](err); ok {
		return edge.Refusal{Code: fmt.Sprintf("edge-%d", e.Failure), Status: 500 + int(e.Failure), Reason: "edge"}
	}
	if err.Error() == "boom" {
		panic("table panicked")
	}
	return edge.Refusal{Code: "Bad", Message: err.Error(), Status: 400, Reason: "bad"}
}

func (wire) Write(w http.ResponseWriter, _ *edge.Call, answer any, f *edge.Refusal) {
	if f != nil {
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "%s %d", f.Code, f.Status)
		return
	}
	fmt.Fprintf(w, "OK %v", answer)
}

type fixture struct {
	rec    *recorder
	router *edge.Router
}

func newFixture(t *testing.T, routes ...edge.Route) *fixture {
	t.Helper()
	f := &fixture{rec: &recorder{}}
	e := edge.New(edge.Options{Audit: f.rec, Clock: clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), Random: rand.Reader,
		Logger: slog.New(slog.DiscardHandler)})
	var err error
	f.router, err = e.Mount(&edge.Surface{Name: "test", Wire: wire{}, Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) do(method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	req.URL = &url.URL{Path: path}
	req.RemoteAddr = "192.0.2.7:4444"
	w := httptest.NewRecorder()
	f.router.ServeHTTP(w, req)
	return w
}

var event = &edge.Event{Source: "test", Name: "Op", Category: "Data", Params: true}

func TestPipeline(t *testing.T) {
	f := newFixture(t,
		edge.Route{Pattern: "/", Event: event, MaxBody: 8, Handle: func(c *edge.Call) (any, error) {
			body, err := c.Body()
			if err != nil {
				return nil, err
			}
			switch string(body) {
			case "panic":
				panic("handler panicked")
			case "boom", "bad":
				return nil, errors.New(string(body))
			case "refuse":
				return nil, &edge.Refusal{Code: "NotHere", Status: 405, Reason: "method", Allow: "GET"}
			}
			c.Event.IssuedKeyID = "ASIA"
			return string(body), nil
		}},
		edge.Route{Pattern: "/page", Event: event, PostsOnly: true, Handle: func(*edge.Call) (any, error) { return "page", nil }},
	)
	for _, c := range []struct {
		method, path, body string
		status             int
		answer, code       string
		events             int
		allow              string
	}{
		{"POST", "/", "hi", 200, "OK hi", "", 1, ""},
		{"POST", "/", "bad", 400, "Bad 400", "Bad", 1, ""},
		{"POST", "/", "panic", 501, "edge-1 501", "edge-1", 1, ""},
		{"POST", "/", "boom", 500, "InternalFailure 500", "InternalFailure", 1, ""},
		{"POST", "/", "refuse", 405, "NotHere 405", "NotHere", 1, "GET"},
		{"POST", "/", "123456789", 503, "edge-3 503", "edge-3", 1, ""},
		// Not in clean form: the surface at "/", not a redirect.
		{"POST", "//", "hi", 200, "OK hi", "", 1, ""},
		{"POST", "/x/../page", "hi", 200, "OK hi", "", 1, ""},
		// CONNECT too, rather than ServeMux's own unaudited answer.
		{"CONNECT", "/page", "hi", 200, "OK hi", "", 1, ""},
		{"GET", "/page", "", 200, "OK page", "", 0, ""},
		{"POST", "/page", "", 200, "OK page", "", 1, ""},
	} {
		before := len(f.rec.events)
		w := f.do(c.method, c.path, c.body)
		what := c.method + " " + c.path + " " + c.body
		if w.Code != c.status || w.Body.String() != c.answer || w.Header().Get("Allow") != c.allow {
			t.Errorf("%s: %d %q Allow %q", what, w.Code, w.Body.String(), w.Header().Get("Allow"))
		}
		id := w.Header().Get("x-amzn-RequestId")
		if len(id) != 36 {
			t.Errorf("%s: request id %q", what, id)
		}
		if got := len(f.rec.events) - before; got != c.events {
			t.Fatalf("%s: %d events, want %d", what, got, c.events)
		}
		if c.events == 1 {
			ev := f.rec.events[len(f.rec.events)-1]
			if ev.RequestID != id || ev.ErrorCode != c.code || ev.SourceIPAddress != "192.0.2.7" || ev.EventSource != "test" ||
				ev.RequestParameters == nil {
				t.Errorf("%s: event %+v", what, ev)
			}
			if c.code != "" && (ev.IssuedKeyID != "" || ev.ResponseElements != nil || ev.AdditionalEventData["reason"] == "") {
				t.Errorf("%s: a refusal's event %+v", what, ev)
			}
		}
	}
	if f.rec.begun != f.rec.record {
		t.Errorf("Begin %d times, Record after Begin %d times", f.rec.begun, f.rec.record)
	}
}

// An event that cannot be stored refuses the request: nothing is handed
// out unrecorded.
func TestAuditFailureRefuses(t *testing.T) {
	f := newFixture(t, edge.Route{Pattern: "/", Event: event, Handle: func(*edge.Call) (any, error) { return "credentials", nil }})
	f.rec.err = errors.New("disk full")
	w := f.do("POST", "/", "")
	if w.Code != 502 || strings.Contains(w.Body.String(), "credentials") {
		t.Errorf("%d %q", w.Code, w.Body.String())
	}
}

func TestBodyUnreadable(t *testing.T) {
	f := newFixture(t, edge.Route{Pattern: "/", Event: event, MaxBody: 100, Handle: func(c *edge.Call) (any, error) {
		_, err := c.Body()
		return nil, err
	}})
	req := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader("ab"), errReader{}))
	w := httptest.NewRecorder()
	f.router.ServeHTTP(w, req)
	if w.Code != 504 {
		t.Errorf("%d %q", w.Code, w.Body.String())
	}
	// A declared length longer than the body sent.
	req = httptest.NewRequest("POST", "/", strings.NewReader("ab"))
	req.ContentLength = 10
	w = httptest.NewRecorder()
	f.router.ServeHTTP(w, req)
	if w.Code != 504 {
		t.Errorf("short body: %d %q", w.Code, w.Body.String())
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestMountRefusesConflicts(t *testing.T) {
	e := edge.New(edge.Options{Audit: &recorder{}, Clock: clock.System{}, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler)})
	h := func(*edge.Call) (any, error) { return nil, nil }
	a := &edge.Surface{Name: "a", Wire: wire{}, Routes: []edge.Route{{Pattern: "/x", Handle: h}}}
	b := &edge.Surface{Name: "b", Wire: wire{}, Routes: []edge.Route{{Pattern: "/x", Handle: h}}}
	if _, err := e.Mount(a, b); err == nil {
		t.Error("two surfaces mounted on one pattern")
	}
	if _, err := e.Mount(&edge.Surface{Name: "c", Routes: []edge.Route{{Pattern: "/y", Handle: h}}}); err == nil {
		t.Error("a route without a wire was mounted")
	}
}

// TestMountSharedPattern: routes of two surfaces share a pattern when all
// but one say which requests they accept; the one that accepts every
// request must exist and be alone.
func TestMountSharedPattern(t *testing.T) {
	e := edge.New(edge.Options{Audit: &recorder{}, Clock: clock.System{}, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler)})
	answer := func(s string) edge.Handler { return func(*edge.Call) (any, error) { return s, nil } }
	gets := func(r *http.Request) bool { return r.Method == http.MethodGet }
	pages := &edge.Surface{Name: "pages", Wire: wire{}, Routes: []edge.Route{{Pattern: "/x", Handle: answer("page"), Accepts: gets}}}
	api := &edge.Surface{Name: "api", Wire: wire{}, Routes: []edge.Route{{Pattern: "/x", Handle: answer("api")}}}
	rt, err := e.Mount(pages, api)
	if err != nil {
		t.Fatal(err)
	}
	for method, want := range map[string]string{"GET": "page", "POST": "api", "PUT": "api"} {
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, httptest.NewRequest(method, "/x", nil))
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s /x: %d %q, want %s's answer", method, w.Code, w.Body.String(), want)
		}
	}
	alone, err := e.Mount(pages)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	alone.ServeHTTP(w, httptest.NewRequest("POST", "/x", nil))
	if !strings.Contains(w.Body.String(), "page") {
		t.Errorf("a route alone on its pattern did not serve a request it does not accept: %q", w.Body.String())
	}
	two := &edge.Surface{Name: "two", Wire: wire{}, Routes: []edge.Route{{Pattern: "/x", Handle: answer("two"), Accepts: gets}}}
	if _, err := e.Mount(pages, two); err == nil {
		t.Error("a pattern whose routes all accept only some requests was mounted")
	}
	other := &edge.Surface{Name: "other", Wire: wire{}, Routes: []edge.Route{{Pattern: "/x", Handle: answer("other")}}}
	if _, err := e.Mount(pages, api, other); err == nil {
		t.Error("two routes that accept every request were mounted on one pattern")
	}
}
