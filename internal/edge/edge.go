package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
)

// Options wire an Edge.
type Options struct {
	Audit   audit.Recorder
	Clock   clock.Clock
	Random  io.Reader
	Logger  *slog.Logger
	Metrics *Metrics
	// Limits, if set, bound each source's refused requests (limit.go).
	Limits *Limits
	// Gate, if set, is asked before every audited request; while it
	// returns an error, requests are refused as unavailable (503): the
	// server cannot account for what it would issue (its data directory
	// was removed, the disk is nearly full, storage fails).
	Gate func() error
}

// Edge runs the shared phases for every surface mounted on it.
type Edge struct {
	o       Options
	limiter *limiter
	logs    *logLimiter
}

// New returns an Edge.
func New(o Options) *Edge {
	e := &Edge{o: o, logs: newLogLimiter(logEvery, o.Clock.Now)}
	if o.Limits != nil {
		e.limiter = newLimiter(*o.Limits)
	}
	return e
}

// Handler serves one request after the shared phases before it. It returns
// the answer for its surface's Wire to write, or an error that the
// surface's error table (Wire.Refuse) turns into a refusal; a *Refusal is
// passed through as it is.
type Handler func(c *Call) (any, error)

// Wire is a surface's wire format.
type Wire interface {
	// Refuse is the surface's one error table: it maps any error a
	// handler returns, and the edge's own *Error, to what the client sees.
	Refuse(err error) Refusal
	// Write writes the answer, or the refusal when it is not nil. The
	// edge has set x-amzn-RequestId.
	Write(w http.ResponseWriter, c *Call, answer any, refusal *Refusal)
}

// Refusal is a refused request as its wire format has it.
type Refusal struct {
	Code    string // the wire's error code, recorded as errorCode
	Message string // recorded as errorMessage ("" records none)
	Status  int
	// Reason is stable and secret-free: additionalEventData.reason.
	Reason string
	// Cause is logged for a 5xx refusal, never sent.
	Cause error
	// Detail is sent with the refusal but never recorded: an encoded
	// authorization message.
	Detail string
	// Allow is sent as the Allow header of a 405 (RFC 9110 section
	// 15.5.6).
	Allow string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Message }
func (r *Refusal) Unwrap() error { return r.Cause }

// Failure is a failure of a shared phase.
type Failure int

// Failures every error table maps.
const (
	// Panicked: the handler panicked; the request is answered and audited
	// as an internal failure.
	Panicked Failure = iota + 1
	// AuditUnavailable: the request's audit event could not be stored, so
	// nothing it produced is handed out.
	AuditUnavailable
	// BodyTooLarge: the body is over the route's limit.
	BodyTooLarge
	// BodyUnreadable: the body could not be read in full.
	BodyUnreadable
	// Throttled: the source spent its budget of refused requests
	// (Limits); AWS answers Throttling.
	Throttled
	// Unavailable: the gate is closed (Options.Gate).
	Unavailable
)

// Error is a failure of a shared phase.
type Error struct {
	Failure Failure
	Limit   int64 // BodyTooLarge: the route's limit in bytes
	Cause   error
}

func (e *Error) Error() string {
	var msg string
	switch e.Failure {
	case Panicked:
		msg = "handler panicked"
	case AuditUnavailable:
		msg = "audit event not stored"
	case BodyTooLarge:
		msg = fmt.Sprintf("body over %d bytes", e.Limit)
	case BodyUnreadable:
		msg = "body unreadable"
	case Throttled:
		msg = "source throttled"
	case Unavailable:
		msg = "gate closed"
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return "edge: " + msg
}

func (e *Error) Unwrap() error { return e.Cause }

// Event is the audit event every audited request of a route starts from;
// the edge fills in the time, ids, source address and user agent.
type Event struct {
	Source, Name, Category, Region string
	ReadOnly, Management           bool
	// Params starts requestParameters as an empty object rather than null.
	Params bool
}

// Route is one pattern of a surface.
type Route struct {
	// Pattern is a net/http ServeMux pattern with a path and no method.
	Pattern string
	// Accepts, if set, lets another surface share Pattern: the route
	// serves the requests it accepts, and the pattern's one route without
	// Accepts serves the rest (aws login's GET /v1/authorize and JSON
	// /v1/token beside the authorization API and RFC 8693). A route alone
	// on its pattern serves every request.
	Accepts func(*http.Request) bool
	Handle  Handler
	// Event, if set, makes each request record exactly one audit event,
	// stored before the answer is written.
	Event *Event
	// PostsOnly: only POST requests record an event (pages, whose other
	// methods show something or are refused, and change nothing).
	PostsOnly bool
	// MaxBody bounds Call.Body.
	MaxBody int64
	// Operation is the metrics label of requests whose event names none.
	Operation string
	// Plain, if set, serves the route instead of the pipeline: health
	// checks and metrics, which answer nothing about identities.
	Plain http.Handler
}

// Surface is one HTTP API: its name (a metrics label), its wire format
// and its routes.
type Surface struct {
	Name   string
	Wire   Wire
	Routes []Route
}

// Call is one request on its way through the pipeline.
type Call struct {
	Request *http.Request
	// ID is the request id (x-amzn-RequestId and the event's requestID).
	ID       string
	SourceIP string
	Start    time.Time
	// Event is the request's audit event, nil on a route or method that
	// records none. Handlers fill it in as they learn.
	Event *audit.Event

	edge  *Edge
	route *Route
	// authenticated: a SigV4 signature with this deployment's credentials
	// verified, and the caller passed every check (Authenticate).
	authenticated bool
	body          []byte
	bodyErr       error
	read          bool
}

// Context is the request's context.
func (c *Call) Context() context.Context { return c.Request.Context() }

// Now is the time by the edge's clock.
func (c *Call) Now() time.Time { return c.edge.o.Clock.Now() }

// Random is the edge's source of randomness.
func (c *Call) Random() io.Reader { return c.edge.o.Random }

// Logger is the edge's logger.
func (c *Call) Logger() *slog.Logger { return c.edge.o.Logger }

// Body reads the whole body once, at most the route's MaxBody bytes; a
// body of declared length is read straight into a buffer of that size.
// Errors are *Error (BodyTooLarge, BodyUnreadable).
func (c *Call) Body() ([]byte, error) {
	if c.read {
		return c.body, c.bodyErr
	}
	c.read = true
	c.body, c.bodyErr = readBody(c.Request, c.route.MaxBody)
	return c.body, c.bodyErr
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &Error{Failure: BodyTooLarge, Limit: limit}
	}
	var (
		body []byte
		err  error
	)
	if r.ContentLength >= 0 {
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, &Error{Failure: BodyTooLarge, Limit: limit}
	}
	if err != nil {
		return nil, &Error{Failure: BodyUnreadable, Cause: err}
	}
	return body, nil
}

// RemoteIP is the address of the TCP peer (keyless reads no
// X-Forwarded-For).
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// serve runs the pipeline for one request of route rt of surface s.
func (e *Edge) serve(s *Surface, rt *Route, w http.ResponseWriter, r *http.Request) {
	c := &Call{Request: r, ID: audit.UUID(e.o.Random), SourceIP: RemoteIP(r), Start: e.o.Clock.Now(), edge: e, route: rt}
	audited := rt.Event != nil && (!rt.PostsOnly || r.Method == http.MethodPost)
	var source string
	if audited && e.limiter != nil {
		// A throttled request is counted for its source's aggregated
		// event (Flush) instead of recording one of its own.
		source = SourceKey(c.SourceIP)
		if e.limiter.throttle(source, s.Name, c.Start) {
			e.answer(s, c, w, nil, e.refuse(s, &Error{Failure: Throttled}))
			return
		}
	}
	if audited {
		e.o.Audit.Begin()
		c.Event = e.event(c, rt.Event)
	}

	var answer any
	var refusal *Refusal
	if err := e.gate(audited); err != nil {
		refusal = e.refuse(s, &Error{Failure: Unavailable, Cause: err})
	} else {
		answer, refusal = e.outcome(s, c, rt.Handle)
	}
	if refusal != nil && c.Event != nil {
		ev := c.Event
		ev.ErrorCode, ev.ErrorMessage = refusal.Code, refusal.Message
		if ev.AdditionalEventData == nil {
			ev.AdditionalEventData = map[string]string{}
		}
		ev.AdditionalEventData["reason"] = refusal.Reason
		ev.ResponseElements, ev.IssuedKeyID = nil, "" // nothing was handed out
	}
	if refusal != nil && refusal.Status >= 500 {
		// Once per reason and interval: a failing disk must not turn every
		// request into a log line as well.
		if ok, suppressed := e.logs.allow(s.Name + "/" + refusal.Reason); ok {
			e.o.Logger.Error("request failed", "request_id", c.ID, "surface", s.Name, "operation", e.operation(c), "code", refusal.Code,
				"reason", refusal.Reason, "err", refusal.Cause, "suppressed_since_last", suppressed)
		}
	}
	if source != "" && c.Event != nil && !c.accountable() {
		code := "OK"
		if refusal != nil {
			code = refusal.Code
		}
		e.limiter.spend(source, code, c.Start)
	}
	// The event is stored before anything is sent, and a request whose
	// event cannot be stored is refused: nothing is handed out unrecorded.
	if c.Event != nil {
		if err := e.o.Audit.Record(c.Context(), c.Event, c.Start, true); err != nil {
			if ok, suppressed := e.logs.allow("audit"); ok {
				e.o.Logger.Error("audit event not stored; refusing the request", "request_id", c.ID, "surface", s.Name,
					"operation", e.operation(c), "err", err, "suppressed_since_last", suppressed)
			}
			answer, refusal = nil, e.refuse(s, &Error{Failure: AuditUnavailable, Cause: err})
		}
	}
	e.answer(s, c, w, answer, refusal)
}

// accountable reports whether the request answers for itself: it was
// signed with this deployment's credentials and every check of the caller
// passed, or it was issued credentials (an identity proven by a token or
// assertion). Every other audited request, refused or not (an
// unauthenticated challenge, a role listing, a refusal, a 503), spends
// its source's budget.
func (c *Call) accountable() bool {
	return c.authenticated || (c.Event != nil && c.Event.IssuedKeyID != "")
}

// gate asks Options.Gate about an audited request.
func (e *Edge) gate(audited bool) error {
	if !audited || e.o.Gate == nil {
		return nil
	}
	return e.o.Gate()
}

// answer writes the answer or refusal and observes the request.
func (e *Edge) answer(s *Surface, c *Call, w http.ResponseWriter, answer any, refusal *Refusal) {
	w.Header().Set("x-amzn-RequestId", c.ID)
	if refusal != nil && refusal.Allow != "" {
		w.Header().Set("Allow", refusal.Allow)
	}
	s.Wire.Write(w, c, answer, refusal)

	code := "OK"
	if refusal != nil {
		code = refusal.Code
	}
	op := e.operation(c)
	e.o.Metrics.observe(s.Name, op, code, e.o.Clock.Now().Sub(c.Start))
	if e.o.Logger.Enabled(c.Context(), slog.LevelDebug) {
		principal := ""
		if c.Event != nil {
			principal = c.Event.UserIdentity.ARN
		}
		e.o.Logger.Debug("request", "request_id", c.ID, "surface", s.Name, "operation", op, "code", code, "principal", principal)
	}
}

// event starts a request's audit event from the route's.
func (e *Edge) event(c *Call, t *Event) *audit.Event {
	ev := &audit.Event{
		EventVersion:    audit.EventVersion,
		UserIdentity:    audit.UserIdentity{Type: "Unknown"},
		EventTime:       c.Start.UTC().Format(time.RFC3339),
		EventSource:     t.Source,
		EventName:       t.Name,
		AWSRegion:       t.Region,
		SourceIPAddress: c.SourceIP,
		UserAgent:       c.Request.UserAgent(),
		RequestID:       c.ID,
		EventID:         audit.UUID(e.o.Random),
		ReadOnly:        t.ReadOnly,
		EventType:       audit.EventType,
		ManagementEvent: t.Management,
		EventCategory:   t.Category,
	}
	if t.Params {
		ev.RequestParameters = map[string]any{}
	}
	return ev
}

// outcome runs the handler. A panic in it, or in the error table, is
// recovered and becomes an internal failure, still answered and audited.
func (e *Edge) outcome(s *Surface, c *Call, h Handler) (answer any, refusal *Refusal) {
	defer func() {
		if p := recover(); p != nil {
			e.o.Logger.Error("panic serving a request", "request_id", c.ID, "surface", s.Name, "panic", fmt.Sprint(p),
				"stack", string(debug.Stack()))
			answer, refusal = nil, e.refuse(s, &Error{Failure: Panicked, Cause: fmt.Errorf("panic: %v", p)})
		}
	}()
	answer, err := h(c)
	if err != nil {
		return nil, e.refuse(s, err)
	}
	return answer, nil
}

// refuse maps err through the surface's table; a *Refusal passes as it
// is. Should the table itself panic, the answer is a bare internal failure.
func (e *Edge) refuse(s *Surface, err error) (refusal *Refusal) {
	if r, ok := errors.AsType[*Refusal](err); ok {
		return r
	}
	defer func() {
		if p := recover(); p != nil {
			e.o.Logger.Error("panic in an error table", "surface", s.Name, "panic", fmt.Sprint(p))
			refusal = &Refusal{Code: "InternalFailure", Message: "An internal error occurred.", Status: http.StatusInternalServerError, Reason: "panic"}
		}
	}()
	r := s.Wire.Refuse(err)
	return &r
}

// operation is the request's metrics label: its event's name, which
// handlers set from a fixed set, or the route's.
func (e *Edge) operation(c *Call) string {
	if c.Event != nil && c.Event.EventName != "" {
		return c.Event.EventName
	}
	if c.route.Operation != "" {
		return c.route.Operation
	}
	return "unknown"
}
