package authzapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Path is where the API is served.
const Path = "/v1/authorize"

// SigningService is the SigV4 service name resource servers sign their
// calls with.
const SigningService = "keyless"

// maxBody bounds a call: headers of the forwarded request plus a policy.
const maxBody = 256 << 10

// Recorder stores audit events (see stsapi.Recorder).
type Recorder interface {
	Begin()
	Record(ctx context.Context, ev *audit.Event, t time.Time, begun bool) error
}

// Options wire a Handler.
type Options struct {
	Service *sts.Service
	Auth    *sigauth.Authenticator
	Audit   Recorder
	Clock   clock.Clock
	Random  io.Reader
	Logger  *slog.Logger
}

// Handler serves the authorization API.
type Handler struct{ o Options }

// New returns a Handler.
func New(o Options) *Handler { return &Handler{o: o} }

// Call is the body of POST /v1/authorize.
type Call struct {
	// Service is the SigV4 service name the forwarded request was
	// signed for.
	Service  string              `json:"service"`
	Request  Forwarded           `json:"request"`
	Action   string              `json:"action"`
	Resource string              `json:"resource"`
	Context  map[string][]string `json:"context,omitempty"`
	// ResourcePolicy is the resource's policy document, if it has one;
	// ResourceAccount the account that owns the resource.
	ResourcePolicy  string `json:"resourcePolicy,omitempty"`
	ResourceAccount string `json:"resourceAccount,omitempty"`
}

// Forwarded is the request the resource server received.
type Forwarded struct {
	Method string `json:"method"`
	// Path is the request path as sent, still percent-encoded.
	Path string `json:"path"`
	// Query is the raw query string.
	Query   string              `json:"query"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	// BodySHA256 is the hex SHA-256 of the exact body received.
	BodySHA256 string `json:"bodySha256"`
	// SourceIP and SecureTransport are the client's address and whether
	// it came over TLS, as the resource server saw them (aws:SourceIp,
	// aws:SecureTransport). SourceIP defaults to the resource server's.
	SourceIP        string `json:"sourceIp,omitempty"`
	SecureTransport bool   `json:"secureTransport,omitempty"`
}

// Answer is the response to a call the resource server was allowed to
// make: the decision about the forwarded request.
type Answer struct {
	Allowed   bool       `json:"allowed"`
	Principal *Principal `json:"principal,omitempty"`
	Error     *Refusal   `json:"error,omitempty"`
}

// Principal is who signed the forwarded request.
type Principal struct {
	ARN     string `json:"arn"`
	UserID  string `json:"userId"`
	Account string `json:"account"`
	Type    string `json:"type"`
}

// Refusal says why the forwarded request is not allowed, with the AWS
// error code and HTTP status the resource server should answer with.
type Refusal struct {
	Code           string `json:"code"`
	Status         int    `json:"status"`
	Message        string `json:"message"`
	EncodedMessage string `json:"encodedMessage,omitempty"`
}

// ServeHTTP answers one call and records one audit event.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.o.Audit.Begin()
	start := h.o.Clock.Now()
	ev := &audit.Event{
		EventVersion: audit.EventVersion, UserIdentity: audit.UserIdentity{Type: "Unknown"},
		EventTime: start.UTC().Format(time.RFC3339), EventSource: "keyless", EventName: "AuthorizeRequest",
		SourceIPAddress: remoteIP(r), UserAgent: r.UserAgent(), RequestID: audit.UUID(h.o.Random), EventID: audit.UUID(h.o.Random),
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
func (h *Handler) serve(r *http.Request, ev *audit.Event) (*Answer, *callError) {
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
		ev.UserIdentity = identity(res.Caller)
		ev.RecipientAccountID = res.Caller.Principal.Account
	}
	if err != nil {
		return nil, asCallError(err)
	}
	server := *res.Caller
	server.Origin = sts.Origin{SourceIP: remoteIP(r), SecureTransport: r.TLS != nil, Region: res.Signed.Scope.Region}
	if err := h.o.Service.CheckAccess(r.Context(), server, sts.AccessRequest{Action: "keyless:AuthorizeRequest", Resource: "*"}); err != nil {
		return nil, asCallError(err)
	}

	var call Call
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&call); err != nil || dec.More() {
		return nil, &callError{"ValidationError", "The call is not a valid authorization request (see docs/authorization-api.md).", "call_malformed", http.StatusBadRequest}
	}
	ev.RequestParameters = map[string]any{"service": call.Service, "action": call.Action, "resource": call.Resource, "method": call.Request.Method}
	fwd, err := forwarded(&call.Request)
	sourceIP := remoteIP(r)
	if call.Request.SourceIP != "" {
		ip, perr := netip.ParseAddr(call.Request.SourceIP)
		sourceIP, err = ip.String(), errors.Join(err, perr)
	}
	if err != nil || call.Service == "" {
		return nil, &callError{"ValidationError", "The forwarded request is incomplete: service, method, path, host, headers and a 64-digit bodySha256 are required, and sourceIp must be an IP address.", "forwarded_malformed", http.StatusBadRequest}
	}

	// The forwarded request's signature, with the signer's credentials.
	ans := &Answer{}
	ev.ResponseElements = map[string]any{}
	fres, err := h.o.Auth.Authenticate(r.Context(), fwd, call.Service, now)
	if fres.Signed != nil {
		ev.RequestParameters["accessKeyId"] = fres.Signed.AccessKeyID
	}
	if c := fres.Caller; c != nil {
		ans.Principal = &Principal{ARN: c.ARN(), UserID: c.UserID(), Account: c.Principal.Account, Type: string(c.Kind())}
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
		f := refusal(err)
		if f.Status >= 500 {
			return nil, &callError{f.Code, f.Message, reasonOf(err), f.Status}
		}
		ans.Error = f
		ev.AdditionalEventData = map[string]string{"decision": "deny", "reason": reasonOf(err)}
	}
	ev.ResponseElements["allowed"] = ans.Allowed
	return ans, nil
}

// forwarded turns the forwarded request into what the verifier needs.
func forwarded(f *Forwarded) (*sigv4.Request, error) {
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

func identity(c *sts.Caller) audit.UserIdentity {
	return audit.UserIdentity{Type: string(c.Kind()), PrincipalID: c.UserID(), ARN: c.ARN(), AccountID: c.Principal.Account, AccessKeyID: c.AccessKeyID}
}

// stsStatus maps refusals to AWS codes and statuses, as the STS edge does.
var stsStatus = map[sts.Code]struct {
	code   string
	status int
}{
	sts.AccessDenied:         {"AccessDenied", http.StatusForbidden},
	sts.InvalidClientTokenID: {"InvalidClientTokenId", http.StatusForbidden},
	sts.ExpiredToken:         {"ExpiredToken", http.StatusForbidden},
	sts.ServiceUnavailable:   {"ServiceUnavailable", http.StatusServiceUnavailable},
}

var sigStatus = map[sigv4.Failure]struct {
	code   string
	status int
}{
	sigv4.Missing:    {"MissingAuthenticationToken", http.StatusForbidden},
	sigv4.Incomplete: {"IncompleteSignature", http.StatusBadRequest},
	sigv4.Mismatch:   {"SignatureDoesNotMatch", http.StatusForbidden},
}

func refusal(err error) *Refusal {
	var se *sts.Error
	var ve *sigv4.Error
	switch {
	case errors.As(err, &se):
		if c, ok := stsStatus[se.Code]; ok {
			return &Refusal{Code: c.code, Status: c.status, Message: se.Msg, EncodedMessage: se.Encoded}
		}
	case errors.As(err, &ve):
		if c, ok := sigStatus[ve.Failure]; ok {
			return &Refusal{Code: c.code, Status: c.status, Message: ve.Msg}
		}
	}
	return &Refusal{Code: "InternalFailure", Status: http.StatusInternalServerError, Message: "An internal error occurred."}
}

func reasonOf(err error) string {
	var se *sts.Error
	if errors.As(err, &se) {
		return se.Reason
	}
	var ve *sigv4.Error
	if errors.As(err, &ve) {
		return "signature_" + strings.ToLower(sigStatus[ve.Failure].code)
	}
	return "internal"
}

// asCallError refuses the resource server's own call.
func asCallError(err error) *callError {
	f := refusal(err)
	return &callError{f.Code, f.Message, reasonOf(err), f.Status}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
