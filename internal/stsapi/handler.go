package stsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/sts"
)

// APIVersion is the only Version STS accepts.
const APIVersion = "2011-06-15"

// DefaultMaxBody bounds a request body. The largest STS parameter (a SAML
// assertion, 100,000 characters) fits with its form encoding.
const DefaultMaxBody = 192 << 10

// Options wire a Handler.
type Options struct {
	Service *sts.Service
	Auth    *sigauth.Authenticator
	Audit   audit.Recorder
	Clock   clock.Clock
	Random  io.Reader
	Logger  *slog.Logger
	Metrics *Metrics
	// Region is reported for requests that carry no signing region.
	Region  string
	MaxBody int64
}

// Handler serves the STS Query API.
type Handler struct {
	o       Options
	actions map[string]action
	bufs    sync.Pool
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	return &Handler{
		o:       o,
		actions: actions(),
		bufs:    sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
}

// exchange is one request on its way through the phases.
type exchange struct {
	r         *http.Request
	ctx       context.Context
	requestID string
	start     time.Time
	event     *audit.Event
	caller    *sts.Caller
}

// ServeHTTP runs the phases, records exactly one audit event, and answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.o.Audit.Begin()
	start := h.o.Clock.Now()
	x := &exchange{r: r, ctx: r.Context(), requestID: h.uuid(), start: start}
	x.event = &audit.Event{
		EventVersion:    audit.EventVersion,
		UserIdentity:    audit.UserIdentity{Type: "Unknown"},
		EventTime:       start.UTC().Format(time.RFC3339),
		EventSource:     audit.EventSource,
		AWSRegion:       h.o.Region,
		SourceIPAddress: RemoteIP(r),
		UserAgent:       r.UserAgent(),
		RequestID:       x.requestID,
		EventID:         h.uuid(),
		EventType:       audit.EventType,
		ManagementEvent: true,
		EventCategory:   audit.Category,
	}

	result, err := h.serve(x)

	var failure *wireError
	if err != nil {
		failure = toWire(err)
		x.event.ErrorCode, x.event.ErrorMessage = failure.code, failure.msg
		x.event.AdditionalEventData = map[string]string{"reason": failure.reason}
		x.event.ResponseElements = nil
		if failure.status >= 500 {
			h.o.Logger.Error("request failed", "request_id", x.requestID, "action", x.event.EventName, "code", failure.code, "reason", failure.reason, "err", err)
		}
	}
	// The event is stored before anything is sent, and a request whose
	// event cannot be stored is refused (nothing is handed out unrecorded).
	if aerr := h.o.Audit.Record(x.ctx, x.event, start, true); aerr != nil {
		h.o.Logger.Error("audit event not stored; refusing the request", "request_id", x.requestID, "action", x.event.EventName, "err", aerr)
		result, failure = nil, toWire(unavailable("audit_unavailable", aerr))
	}

	buf := h.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer h.bufs.Put(buf)
	json := wantsJSON(r)
	status := http.StatusOK
	switch {
	case failure != nil && json:
		awsquery.WriteErrorJSON(buf, failure.code, failure.wireMessage(), failure.status < 500, x.requestID)
		status = failure.status
	case failure != nil:
		awsquery.WriteErrorXML(buf, failure.code, failure.wireMessage(), failure.status < 500, x.requestID)
		status = failure.status
	case json:
		awsquery.WriteJSON(buf, x.event.EventName, result, x.requestID)
	default:
		awsquery.WriteXML(buf, x.event.EventName, result, x.requestID)
	}
	hdr := w.Header()
	if json {
		hdr.Set("Content-Type", "application/json")
	} else {
		hdr.Set("Content-Type", "text/xml")
	}
	hdr.Set("x-amzn-RequestId", x.requestID)
	// Declared, as AWS does: net/http would otherwise chunk any answer over
	// 2 KB (an AssumeRole answer with tags is), in more writes.
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())

	code := "OK"
	if failure != nil {
		code = failure.code
	}
	h.o.Metrics.observe(h.metricAction(x.event.EventName), code, h.o.Clock.Now().Sub(start))
	if h.o.Logger.Enabled(x.ctx, slog.LevelDebug) {
		h.o.Logger.Debug("request", "request_id", x.requestID, "action", x.event.EventName, "status", status, "code", code, "principal", x.event.UserIdentity.ARN)
	}
}

// serve runs the phases up to the action's result. A panic anywhere becomes
// an InternalFailure, still audited.
func (h *Handler) serve(x *exchange) (result []awsquery.Field, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &wireError{code: "InternalFailure", msg: "An internal error occurred.", status: 500, reason: "panic", cause: fmt.Errorf("panic: %v", p)}
		}
	}()
	r := x.r
	if !isRoot(r.URL) {
		return nil, &wireError{code: "NotFound", msg: "There is no STS endpoint at this path; send requests to /.", status: 404, reason: "path_not_found"}
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, &wireError{code: "MethodNotAllowed", msg: "STS accepts only GET and POST.", status: 405, reason: "method_not_allowed"}
	}
	body, err := readBody(r, h.o.MaxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &wireError{code: "RequestEntityTooLarge", msg: fmt.Sprintf("Request body must be at most %d bytes.", h.o.MaxBody), status: 413, reason: "body_too_large"}
		}
		return nil, &wireError{code: "IncompleteBody", msg: "The request body could not be read.", status: 400, reason: "body_unreadable", cause: err}
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &wireError{code: "MalformedQueryString", msg: "The query string contains a syntax error.", status: 404, reason: "query_malformed"}
	}
	params, err := awsquery.ParseRequest(query, sigv4.IsAuthParam, r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	name, err := params.Action(APIVersion)
	act, known := h.actions[name]
	if known {
		x.event.EventName = name
		x.event.ReadOnly = act.readOnly
	}
	if err != nil {
		return nil, err
	}
	if !known {
		return nil, &awsquery.ParseError{Code: awsquery.CodeInvalidAction, Msg: "Could not find operation " + quoteAction(name) + " for version " + APIVersion}
	}
	if !act.unsigned {
		if err := h.authenticate(x, query, body); err != nil {
			return nil, err
		}
	}
	return act.run(h, x, awsquery.NewDecoder(params))
}

// authenticate verifies the request's SigV4 signature and sets x.caller.
func (h *Handler) authenticate(x *exchange, query url.Values, body []byte) error {
	r := x.r
	req := &sigv4.Request{
		Method:     r.Method,
		EscapedURI: r.URL.EscapedPath(),
		Query:      query,
		Host:       r.Host,
		Header:     r.Header,
		BodySHA256: sha256.Sum256(body),
	}
	res, err := h.o.Auth.Authenticate(x.ctx, req, "sts", h.o.Clock.Now())
	if sig := res.Signed; sig != nil {
		x.event.UserIdentity.AccessKeyID = sig.AccessKeyID
		x.event.AWSRegion = sig.Scope.Region
	}
	if c := res.Caller; c != nil {
		c.Origin = sts.Origin{SourceIP: RemoteIP(r), SecureTransport: r.TLS != nil, Region: res.Signed.Scope.Region}
		x.caller = c
		x.event.UserIdentity = UserIdentity(c)
		x.event.RecipientAccountID = c.Principal.Account
	}
	return err
}

// readBody reads at most limit bytes of body; a body of declared length is
// read straight into a buffer of that size.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if r.ContentLength >= 0 {
		body := make([]byte, r.ContentLength)
		_, err := io.ReadFull(r.Body, body)
		return body, err
	}
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
}

// isRoot reports whether the request is for "/", allowing what SigV4's own
// normalisation allows ("//" from Vault, "/./"), but no percent-encoding.
func isRoot(u *url.URL) bool {
	p := u.EscapedPath()
	return !strings.Contains(p, "%") && !strings.Contains(p, "..") && sigv4.NormalizePath(p) == "/"
}

func wantsJSON(r *http.Request) bool {
	for _, a := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(a), "application/json") {
			return true
		}
	}
	return false
}

// RemoteIP is the address of the TCP peer (keyless reads no X-Forwarded-For).
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// uuid makes a request or event id.
func (h *Handler) uuid() string { return audit.UUID(h.o.Random) }

// quoteAction bounds an unknown action name before it is echoed.
func quoteAction(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}

func (h *Handler) metricAction(name string) string {
	if _, ok := h.actions[name]; ok {
		return name
	}
	return "unknown"
}
