package authzapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/stsapi"
)

// Path is where the API is served.
const Path = "/v1/authorize"

// SigningService is the SigV4 service name resource servers sign their
// calls with.
const SigningService = "keyless"

// maxBody bounds a call: headers of the forwarded request plus a policy.
const maxBody = 256 << 10

// Options wire a Handler.
type Options struct {
	Service *sts.Service
	Auth    *sigauth.Authenticator
	Audit   audit.Recorder
	Clock   clock.Clock
	Random  io.Reader
	Logger  *slog.Logger
}

// Handler serves the authorization API.
type Handler struct{ o Options }

// New returns a Handler.
func New(o Options) *Handler { return &Handler{o: o} }

// ServeHTTP answers one call and records one audit event.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.o.Audit.Begin()
	start := h.o.Clock.Now()
	ev := &audit.Event{
		EventVersion: audit.EventVersion, UserIdentity: audit.UserIdentity{Type: "Unknown"},
		EventTime: start.UTC().Format(time.RFC3339), EventSource: "keyless", EventName: "AuthorizeRequest",
		SourceIPAddress: stsapi.RemoteIP(r), UserAgent: r.UserAgent(), RequestID: audit.UUID(h.o.Random), EventID: audit.UUID(h.o.Random),
		EventType: audit.EventType, ReadOnly: true, ManagementEvent: false, EventCategory: "Data",
	}
	ans, failed := h.serve(r, ev)
	if failed != nil {
		ev.ErrorCode, ev.ErrorMessage = failed.code, failed.msg
		ev.AdditionalEventData = map[string]string{"reason": failed.reason}
		ev.ResponseElements = nil
	}
	if err := h.o.Audit.Record(r.Context(), ev, start, true); err != nil {
		h.o.Logger.Error("audit event not stored; refusing the call", "request_id", ev.RequestID, "err", err)
		ans, failed = nil, &callError{"ServiceUnavailable", "Service is temporarily unavailable. Please try again.", "audit_unavailable", http.StatusServiceUnavailable}
	}
	var body any = ans
	status := http.StatusOK
	if failed != nil {
		body = map[string]any{"error": map[string]string{"code": failed.code, "message": failed.msg}}
		status = failed.status
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", ev.RequestID)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// callError refuses the call itself, not the forwarded request.
type callError struct {
	code, msg, reason string
	status            int
}

// serve authenticates and authorizes the caller, then decides the
// forwarded request.
func (h *Handler) serve(r *http.Request, ev *audit.Event) (*authz.Decision, *callError) {
	if r.URL.Path != Path || r.Method != http.MethodPost {
		return nil, &callError{"NotFound", "POST " + Path + " is the only operation.", "path_not_found", http.StatusNotFound}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, &callError{"RequestEntityTooLarge", "The call's body must be at most 256 KiB.", "body_too_large", http.StatusRequestEntityTooLarge}
	}
	now := h.o.Clock.Now()
	// The resource server's own signature.
	res, err := h.o.Auth.Authenticate(r.Context(), &sigv4.Request{Method: r.Method, EscapedURI: r.URL.EscapedPath(), Query: r.URL.Query(),
		Host: r.Host, Header: r.Header, BodySHA256: sha256.Sum256(body)}, SigningService, now)
	if res.Signed != nil {
		ev.UserIdentity.AccessKeyID = res.Signed.AccessKeyID
		ev.AWSRegion = res.Signed.Scope.Region
	}
	if res.Caller != nil {
		ev.UserIdentity = stsapi.UserIdentity(res.Caller)
		ev.RecipientAccountID = res.Caller.Principal.Account
	}
	if err != nil {
		return nil, asCallError(err)
	}
	server := *res.Caller
	server.Origin = sts.Origin{SourceIP: stsapi.RemoteIP(r), SecureTransport: r.TLS != nil, Region: res.Signed.Scope.Region}
	if err := h.o.Service.CheckAccess(r.Context(), server, sts.AccessRequest{Action: "keyless:AuthorizeRequest", Resource: "*"}); err != nil {
		return nil, asCallError(err)
	}

	var call authz.Call
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&call); err != nil || dec.More() {
		return nil, &callError{"ValidationError", "The call is not a valid authorization request (see docs/authorization-api.md).", "call_malformed", http.StatusBadRequest}
	}
	ev.RequestParameters = map[string]any{"service": call.Service, "action": call.Action, "resource": call.Resource, "method": call.Request.Method}
	fwd, err := forwarded(&call.Request)
	sourceIP := stsapi.RemoteIP(r)
	if call.Request.SourceIP != "" {
		ip, perr := netip.ParseAddr(call.Request.SourceIP)
		sourceIP, err = ip.String(), errors.Join(err, perr)
	}
	if err != nil || call.Service == "" {
		return nil, &callError{"ValidationError", "The forwarded request is incomplete: service, method, path, host, headers and a 64-digit bodySha256 are required, and sourceIp must be an IP address.", "forwarded_malformed", http.StatusBadRequest}
	}

	// The forwarded request's signature, with the signer's credentials.
	ans := &authz.Decision{}
	ev.ResponseElements = map[string]any{}
	fres, err := h.o.Auth.Authenticate(r.Context(), fwd, call.Service, now)
	if fres.Signed != nil {
		ev.RequestParameters["accessKeyId"] = fres.Signed.AccessKeyID
	}
	if c := fres.Caller; c != nil {
		ans.Principal = &authz.Principal{ARN: c.ARN(), UserID: c.UserID(), Account: c.Principal.Account, Type: string(c.Kind())}
		ev.RequestParameters["principalArn"] = c.ARN()
	}
	if err == nil {
		c := *fres.Caller
		c.Origin = sts.Origin{SourceIP: sourceIP, SecureTransport: call.Request.SecureTransport, Region: fres.Signed.Scope.Region}
		err = h.o.Service.CheckAccess(r.Context(), c, sts.AccessRequest{Action: call.Action, Resource: call.Resource, Keys: call.Context,
			ResourcePolicy: call.ResourcePolicy, ResourceAccount: call.ResourceAccount})
	}
	var se *sts.Error
	switch {
	case err == nil:
		ans.Allowed = true
	case errors.As(err, &se) && (se.Code == sts.ValidationError || se.Code == sts.MalformedPolicyDocument):
		// The resource server's question was malformed, not the request.
		return nil, &callError{"ValidationError", se.Msg, se.Reason, http.StatusBadRequest}
	default:
		d := stsapi.Describe(err)
		if d.Status >= 500 {
			return nil, &callError{d.Code, d.Message, d.Reason, d.Status}
		}
		ans.Error = &authz.Refusal{Code: d.Code, Status: d.Status, Message: d.Message, EncodedMessage: d.Encoded}
		ev.AdditionalEventData = map[string]string{"decision": "deny", "reason": d.Reason}
	}
	ev.ResponseElements["allowed"] = ans.Allowed
	return ans, nil
}

// forwarded turns the forwarded request into what the verifier needs.
func forwarded(f *authz.Forwarded) (*sigv4.Request, error) {
	sum, err := hex.DecodeString(f.BodySHA256)
	if err != nil || len(sum) != sha256.Size || f.Method == "" || f.Host == "" || !strings.HasPrefix(f.Path, "/") || len(f.Headers) == 0 {
		return nil, errors.New("incomplete")
	}
	q, err := url.ParseQuery(f.Query)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for k, vs := range f.Headers {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	req := &sigv4.Request{Method: f.Method, EscapedURI: f.Path, Query: q, Host: f.Host, Header: h}
	copy(req.BodySHA256[:], sum)
	return req, nil
}

// asCallError refuses the resource server's own call.
func asCallError(err error) *callError {
	d := stsapi.Describe(err)
	return &callError{d.Code, d.Message, d.Reason, d.Status}
}
