package edge_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/edge"
)

// limited is an edge with a budget of 5 requests per source, refilled at
// 1/s, reported every minute, whose one route refuses unless the request
// says it is valid; a valid request with X-Issue is issued credentials
// (it answers for itself), one without is not (a challenge, say).
type limited struct {
	rec    *recorder
	clock  *clock.Fake
	edge   *edge.Edge
	router *edge.Router
	gate   error
}

func newLimited(t *testing.T, maxSources int) *limited {
	t.Helper()
	l := &limited{rec: &recorder{}, clock: clock.NewFake(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))}
	l.edge = edge.New(edge.Options{Audit: l.rec, Clock: l.clock, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler),
		Limits: &edge.Limits{PerSecond: 1, Burst: 5, ReportEvery: time.Minute, MaxSources: maxSources},
		Gate:   func() error { return l.gate }})
	var err error
	l.router, err = l.edge.Mount(&edge.Surface{Name: "sts", Wire: wire{}, Routes: []edge.Route{{
		Pattern: "/", Event: &edge.Event{Source: "sts.amazonaws.com"}, MaxBody: 1024,
		Handle: func(c *edge.Call) (any, error) {
			if c.Request.Header.Get("X-Valid") != "" {
				if c.Request.Header.Get("X-Issue") != "" {
					c.Event.IssuedKeyID = "ASIAEXAMPLEEXAMPLE01"
				}
				return "fine", nil
			}
			return nil, errors.New("SignatureDoesNotMatch")
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// send makes one request from ip with the given headers and returns the
// status and body.
func (l *limited) send(ip string, headers ...string) (int, string) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=GetCallerIdentity"))
	r.RemoteAddr = ip + ":5555"
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	l.router.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func (l *limited) events() []*audit.Event {
	l.rec.mu.Lock()
	defer l.rec.mu.Unlock()
	return append([]*audit.Event(nil), l.rec.events...)
}

// A source that keeps being refused spends its budget and is throttled;
// each throttled request is counted, not audited on its own, and the
// interval's count is recorded as one aggregated event.
func TestRefusedRequestsThrottledPerSource(t *testing.T) {
	l := newLimited(t, 0)
	for i := range 5 {
		if code, _ := l.send("192.0.2.1"); code != 400 {
			t.Fatalf("refusal %d: %d", i, code)
		}
	}
	for range 100 {
		if code, body := l.send("192.0.2.1"); code != 500+int(edge.Throttled) {
			t.Fatalf("over the budget: %d %s", code, body)
		}
	}
	// Even a valid request from the source waits for the budget to refill.
	if code, _ := l.send("192.0.2.1", "X-Valid", "1"); code != 500+int(edge.Throttled) {
		t.Fatalf("valid request while throttled: %d", code)
	}
	// Another source is not affected.
	if code, _ := l.send("198.51.100.7", "X-Valid", "1"); code != 200 {
		t.Fatalf("another source: %d", code)
	}
	if n := len(l.events()); n != 6 {
		t.Fatalf("%d events, want the 5 refusals and the other source's request", n)
	}
	// The budget refills at 1/s.
	l.clock.Advance(2 * time.Second)
	if code, _ := l.send("192.0.2.1", "X-Valid", "1"); code != 200 {
		t.Fatalf("after refilling: %d", code)
	}
	// Nothing is reported before the interval ends; then one event.
	l.edge.Flush(context.Background(), false)
	if n := len(l.events()); n != 7 {
		t.Fatalf("reported early: %d events", n)
	}
	l.clock.Advance(time.Minute)
	l.edge.Flush(context.Background(), false)
	evs := l.events()
	if len(evs) != 8 {
		t.Fatalf("%d events after the interval", len(evs))
	}
	ev := evs[7]
	d := ev.AdditionalEventData
	if ev.EventName != edge.ThrottledEvent || ev.ErrorCode != "Throttling" || ev.SourceIPAddress != "192.0.2.1" ||
		d["throttledRequests"] != "101" || d["spentBy"] != "Bad=5,OK=1" || d["surfaces"] != "sts=101" ||
		d["firstTime"] != "2026-12-07T00:00:00Z" || d["lastTime"] != "2026-12-07T00:00:00Z" || d["limit"] != "1/s, burst 5" {
		t.Fatalf("aggregated event: %+v %v", ev, d)
	}
	// Reported once.
	l.edge.Flush(context.Background(), true)
	if n := len(l.events()); n != 8 {
		t.Fatalf("reported twice: %d", n)
	}
}

// Requests that were issued credentials answer for themselves and do not
// spend the budget; unauthenticated ones that succeed without issuing
// anything (a challenge) do, or they would fill the disk unlimited
// (found in review). (Requests signed with this deployment's keys are in
// test/hostile, which signs for real.)
func TestUnaccountableSuccessesLimited(t *testing.T) {
	l := newLimited(t, 0)
	for i := range 50 {
		if code, _ := l.send("192.0.2.1", "X-Valid", "1", "X-Issue", "1"); code != 200 {
			t.Fatalf("issuance %d: %d", i, code)
		}
	}
	for i := range 5 {
		if code, _ := l.send("192.0.2.1", "X-Valid", "1"); code != 200 {
			t.Fatalf("unauthenticated success %d: %d", i, code)
		}
	}
	if code, _ := l.send("192.0.2.1", "X-Valid", "1"); code != 500+int(edge.Throttled) {
		t.Fatalf("past the budget: %d", code)
	}
	if n := len(l.events()); n != 55 {
		t.Fatalf("%d events", n)
	}
	// While the gate is closed, the 503s spend the budget too.
	l.clock.Advance(time.Hour)
	l.gate = errors.New("disk nearly full")
	for range 5 {
		l.send("198.51.100.1")
	}
	if code, _ := l.send("198.51.100.1"); code != 500+int(edge.Throttled) {
		t.Fatalf("503s past the budget: %d", code)
	}
}

// An IPv6 source is limited by its /64: a host cannot escape by changing
// the low bits of its address.
func TestIPv6LimitedByPrefix(t *testing.T) {
	l := newLimited(t, 0)
	for i := range 5 {
		l.send("2001:db8:1:2::" + strconv.Itoa(i+1))
	}
	if code, _ := l.send("2001:db8:1:2:ffff::1"); code != 500+int(edge.Throttled) {
		t.Fatalf("same /64: %d", code)
	}
	if code, _ := l.send("2001:db8:1:3::1", "X-Valid", "1"); code != 200 {
		t.Fatalf("another /64: %d", code)
	}
	l.edge.Flush(context.Background(), true)
	evs := l.events()
	if last := evs[len(evs)-1]; last.SourceIPAddress != "2001:db8:1:2::/64" {
		t.Fatalf("reported source %q", last.SourceIPAddress)
	}
	for _, c := range []struct{ ip, key string }{
		{"192.0.2.1", "192.0.2.1"}, {"::ffff:192.0.2.1", "192.0.2.1"}, {"2001:db8::1", "2001:db8::/64"}, {"not an ip", "not an ip"},
	} {
		if got := edge.SourceKey(c.ip); got != c.key {
			t.Errorf("SourceKey(%q) = %q, want %q", c.ip, got, c.key)
		}
	}
}

// Past MaxSources tracked sources, new ones are not tracked: memory stays
// bounded, and a flood from many addresses never throttles a client it
// shares nothing with (a budget shared by untracked sources did, found in
// review). Sources whose budget is full again are forgotten.
func TestLimiterTableBounded(t *testing.T) {
	l := newLimited(t, 3)
	for i := range 3 {
		for range 5 {
			l.send(fmt.Sprintf("192.0.2.%d", i+1))
		}
	}
	for i := range 10 {
		if code, _ := l.send("198.51.100.1"); code != 400 {
			t.Fatalf("untracked source, request %d: %d", i, code)
		}
	}
	if code, _ := l.send("203.0.113.9", "X-Valid", "1"); code != 200 {
		t.Fatalf("a client sharing nothing with the flood: %d", code)
	}
	if code, _ := l.send("192.0.2.1"); code != 500+int(edge.Throttled) {
		t.Fatalf("a tracked source: %d", code)
	}
	// Once the tracked budgets refill, their sources are forgotten and
	// new ones are tracked.
	l.clock.Advance(time.Minute)
	l.edge.Flush(context.Background(), true)
	for range 5 {
		l.send("198.51.100.1")
	}
	if code, _ := l.send("198.51.100.1"); code != 500+int(edge.Throttled) {
		t.Fatalf("a source tracked once there is room: %d", code)
	}
}

// An aggregated event that cannot be stored keeps its count for the next
// one (a reset before the write lost it, found in review).
func TestThrottleReportKeptWhenNotStored(t *testing.T) {
	l := newLimited(t, 0)
	for range 8 {
		l.send("192.0.2.1")
	}
	l.rec.mu.Lock()
	l.rec.err = errors.New("audit store down")
	l.rec.mu.Unlock()
	l.edge.Flush(context.Background(), true)
	l.rec.mu.Lock()
	l.rec.err = nil
	l.rec.mu.Unlock()
	l.send("192.0.2.1")
	l.edge.Flush(context.Background(), true)
	evs := l.events()
	if last := evs[len(evs)-1]; last.EventName != edge.ThrottledEvent || last.AdditionalEventData["throttledRequests"] != "4" {
		t.Fatalf("after a failed report: %+v", last)
	}
}

// Concurrent refusals from one source spend exactly its budget: with a
// stopped clock, 200 concurrent requests get exactly 5 refusals of their
// own and 195 throttles, and the report counts all 195.
func TestLimiterConcurrent(t *testing.T) {
	l := newLimited(t, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := l.send("192.0.2.1")
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	// A refusal is charged after it is made, so a few requests may start
	// while the last tokens are being spent; never more than the budget
	// plus the requests in flight at once, and every request is accounted.
	throttled := codes[500+int(edge.Throttled)]
	if codes[400] < 5 || codes[400]+throttled != 200 {
		t.Fatalf("codes %v", codes)
	}
	l.edge.Flush(context.Background(), true)
	evs := l.events()
	if n, want := len(evs), codes[400]+1; n != want {
		t.Fatalf("%d events, want %d", n, want)
	}
	if got := evs[len(evs)-1].AdditionalEventData["throttledRequests"]; got != strconv.Itoa(throttled) {
		t.Fatalf("reported %s throttled, %d were", got, throttled)
	}
}

// While the gate is closed, audited requests are refused as unavailable,
// and still audited; the gate is not asked about anything else.
func TestGateClosed(t *testing.T) {
	l := newLimited(t, 0)
	l.gate = errors.New("data directory removed")
	if code, _ := l.send("192.0.2.1", "X-Valid", "1"); code != 500+int(edge.Unavailable) {
		t.Fatalf("gate closed: %d", code)
	}
	if evs := l.events(); len(evs) != 1 || evs[0].AdditionalEventData["reason"] != "edge" {
		t.Fatalf("events %+v", evs)
	}
	l.gate = nil
	if code, _ := l.send("192.0.2.1", "X-Valid", "1"); code != 200 {
		t.Fatalf("gate open: %d", code)
	}
}

// The limiter's cost on the request path: a request from a source that
// was never refused (the common case), and from one that was.
func BenchmarkLimiter(b *testing.B) {
	for _, c := range []struct {
		name   string
		limits *edge.Limits
		spent  bool
	}{
		{"off", nil, false},
		{"clean source", &edge.Limits{PerSecond: 1, Burst: 30}, false},
		{"refused source", &edge.Limits{PerSecond: 1e9, Burst: 1 << 30}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			rec := &recorder{}
			e := edge.New(edge.Options{Audit: rec, Clock: clock.System{}, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler), Limits: c.limits})
			router, err := e.Mount(&edge.Surface{Name: "sts", Wire: wire{}, Routes: []edge.Route{{
				Pattern: "/", Event: &edge.Event{Source: "sts.amazonaws.com"}, MaxBody: 1024,
				Handle: func(c *edge.Call) (any, error) {
					if c.Request.Header.Get("X-Refuse") != "" {
						return nil, errors.New("no")
					}
					return "fine", nil
				},
			}}})
			if err != nil {
				b.Fatal(err)
			}
			if c.spent {
				r := httptest.NewRequest(http.MethodPost, "/", nil)
				r.RemoteAddr = "192.0.2.1:1"
				r.Header.Set("X-Refuse", "1")
				router.ServeHTTP(httptest.NewRecorder(), r)
			}
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.RemoteAddr = "192.0.2.1:1"
			b.ReportAllocs()
			for b.Loop() {
				rec.mu.Lock()
				rec.events = rec.events[:0]
				rec.mu.Unlock()
				router.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
