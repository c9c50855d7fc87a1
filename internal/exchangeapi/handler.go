package exchangeapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/strictjson"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/stsapi"
)

// Paths served.
const (
	// PathExchange is Mondoo's ExchangeExternalToken, with a JSON body.
	PathExchange = "/SecureTokenService/ExchangeExternalToken"
	// PathToken is the RFC 8693 token endpoint.
	PathToken = "/v1/token"
	// PathChallenge issues a challenge to sign into an AWS request.
	PathChallenge = "/SecureTokenService/Challenge"
	// PathExplain is the operator's explain, SigV4-signed.
	PathExplain = "/SecureTokenService/ExplainExchange"
)

// Paths lists every path the handler serves.
var Paths = []string{PathExchange, PathToken, PathChallenge, PathExplain}

// Subject token types (RFC 8693 section 3; Google STS for AWS requests).
const (
	TokenTypeJWT     = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAWS     = "urn:ietf:params:aws:token-type:aws4_request"
	// TokenTypeCredentials is what keyless issues: a base64 credential
	// document, not an OAuth access token (token_type N_A, RFC 8693
	// section 2.2.1).
	TokenTypeCredentials = "urn:keyless:params:oauth:token-type:aws-credentials"
)

// ExplainAction is the IAM action an operator needs to call explain.
const ExplainAction = "keyless:ExplainExchange"

// maxBody bounds a request: a 64 KiB proof, escaped, and the rest.
const maxBody = 160 << 10

// Options wire a Handler.
type Options struct {
	Exchange   *exchange.Service
	Challenges *exchange.Challenges
	// Service and Auth authenticate and authorize explain's callers.
	Service *sts.Service
	Auth    *sigauth.Authenticator
	Audit   audit.Recorder
	Clock   clock.Clock
	Random  io.Reader
	Logger  *slog.Logger
	// Endpoint and Region go into issued credential documents.
	Endpoint string
	Region   string
}

// Handler serves the token exchange.
type Handler struct{ o Options }

// New returns a Handler.
func New(o Options) *Handler { return &Handler{o: o} }

// Credential is the document base64_credential (and RFC 8693's
// access_token) carries; `keyless credentials` and KEYLESS_CONFIG_BASE64
// read it.
type Credential struct {
	Version         int    `json:"version"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	SessionToken    string `json:"session_token"`
	Expiration      string `json:"expiration"` // RFC 3339
	Account         string `json:"account"`
	ARN             string `json:"arn"`
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
}

// failure is a refusal on the wire: an RFC 6749 section 5.2 error code.
type failure struct {
	code   string // invalid_request, invalid_target, ...
	status int
	reason string // for the audit log
}

func fail(code string, status int, reason string) *failure {
	return &failure{code: code, status: status, reason: reason}
}

// ServeHTTP answers one call and records one audit event.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.o.Audit.Begin()
	start := h.o.Clock.Now()
	ev := &audit.Event{
		EventVersion: audit.EventVersion, UserIdentity: audit.UserIdentity{Type: "Unknown"},
		EventTime: start.UTC().Format(time.RFC3339), EventSource: "keyless", EventName: eventName(r.URL.Path),
		AWSRegion: h.o.Region, SourceIPAddress: stsapi.RemoteIP(r), UserAgent: r.UserAgent(),
		RequestID: audit.UUID(h.o.Random), EventID: audit.UUID(h.o.Random),
		EventType: audit.EventType, ManagementEvent: false, EventCategory: "Data",
		RequestParameters: map[string]any{},
	}
	var (
		body any
		f    *failure
	)
	func() {
		defer func() {
			if p := recover(); p != nil {
				h.o.Logger.Error("panic in the token exchange", "request_id", ev.RequestID, "panic", p)
				body, f = nil, fail("server_error", http.StatusInternalServerError, "panic")
			}
		}()
		body, f = h.serve(r, ev)
	}()
	if f != nil {
		ev.ErrorCode = f.code
		if ev.AdditionalEventData == nil {
			ev.AdditionalEventData = map[string]string{}
		}
		ev.AdditionalEventData["reason"] = f.reason
		ev.ResponseElements = nil
	}
	if err := h.o.Audit.Record(r.Context(), ev, start, true); err != nil {
		h.o.Logger.Error("audit event not stored; refusing the call", "request_id", ev.RequestID, "err", err)
		body, f = nil, fail("temporarily_unavailable", http.StatusServiceUnavailable, "audit_unavailable")
	}
	status := http.StatusOK
	if f != nil {
		status = f.status
		// One generic answer: which check failed is for the operator's
		// explain and the audit log, never an oracle for the caller.
		body = map[string]string{"error": f.code, "error_description": describe(f.code) + " Request id: " + ev.RequestID + ".",
			"request_id": ev.RequestID}
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store") // RFC 6749 section 5.1
	hdr.Set("Pragma", "no-cache")
	hdr.Set("x-amzn-RequestId", ev.RequestID)
	out, _ := json.Marshal(body)
	out = append(out, '\n')
	hdr.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func eventName(path string) string {
	switch path {
	case PathExchange:
		return "ExchangeExternalToken"
	case PathToken:
		return "ExchangeToken"
	case PathChallenge:
		return "GetExchangeChallenge"
	case PathExplain:
		return "ExplainExchange"
	}
	return "Unknown"
}

// describe is the one sentence a caller gets per error code.
func describe(code string) string {
	switch code {
	case "invalid_target":
		return "No identity provider serves this audience."
	case "temporarily_unavailable":
		return "The exchange could not be completed now; retry later."
	case "unsupported_grant_type":
		return "Only grant_type urn:ietf:params:oauth:grant-type:token-exchange is supported."
	case "invalid_scope":
		return "Scopes are not supported."
	case "server_error", "access_denied":
		return "The request failed."
	case "method_not_allowed", "not_found":
		return "POST " + PathExchange + ", " + PathToken + " or " + PathChallenge + "."
	}
	return "The token exchange was refused."
}

func (h *Handler) serve(r *http.Request, ev *audit.Event) (any, *failure) {
	if r.Method != http.MethodPost {
		return nil, fail("method_not_allowed", http.StatusMethodNotAllowed, "method_not_post")
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, fail("invalid_request", http.StatusRequestEntityTooLarge, "body_too_large")
	}
	switch r.URL.Path {
	case PathExchange:
		return h.exchangeJSON(r, raw, ev)
	case PathToken:
		return h.token(r, raw, ev)
	case PathChallenge:
		return h.challenge(r, raw, ev)
	case PathExplain:
		return h.explain(r, raw, ev)
	}
	return nil, fail("not_found", http.StatusNotFound, "path_not_found")
}

// jsonFields reads a strict JSON object of string members, all of them
// named in allowed and those in required present.
func jsonFields(r *http.Request, raw []byte, allowed, required []string) (map[string]string, bool) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, false
	}
	members, err := strictjson.ParseObject(raw)
	if err != nil {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range members {
		s, ok := strictjson.Unquote(v)
		if !ok || !slices.Contains(allowed, k) {
			return nil, false
		}
		out[k] = s
	}
	for _, k := range required {
		if out[k] == "" {
			return nil, false
		}
	}
	return out, true
}

// exchangeJSON is ExchangeExternalToken: {"audience", "issuer_uri",
// "jwt_token"} in, {"base64_credential"} out.
func (h *Handler) exchangeJSON(r *http.Request, raw []byte, ev *audit.Event) (any, *failure) {
	fields, ok := jsonFields(r, raw, []string{"audience", "issuer_uri", "jwt_token"}, []string{"audience", "issuer_uri", "jwt_token"})
	if !ok {
		return nil, fail("invalid_request", http.StatusBadRequest, "request_malformed")
	}
	ev.RequestParameters["audience"] = fields["audience"]
	ev.RequestParameters["issuerUri"] = fields["issuer_uri"]
	req := exchange.Request{Audience: fields["audience"], Issuer: fields["issuer_uri"], Proof: secret.NewString(fields["jwt_token"])}
	cred, _, f := h.run(r, req, ev)
	if f != nil {
		return nil, f
	}
	return map[string]string{"base64_credential": cred}, nil
}

// tokenParams are the RFC 8693 section 2.1 parameters keyless reads.
var tokenParams = []string{"grant_type", "audience", "subject_token", "subject_token_type", "requested_token_type",
	"scope", "resource", "actor_token", "actor_token_type"}

// token is the RFC 8693 token endpoint.
func (h *Handler) token(r *http.Request, raw []byte, ev *audit.Event) (any, *failure) {
	bad := fail("invalid_request", http.StatusBadRequest, "request_malformed")
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, bad
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil || r.URL.RawQuery != "" {
		return nil, bad
	}
	p := map[string]string{}
	for k, vs := range form {
		if len(vs) != 1 {
			return nil, fail("invalid_request", http.StatusBadRequest, "parameter_repeated")
		}
		if slices.Contains(tokenParams, k) {
			p[k] = vs[0]
		}
	}
	ev.RequestParameters["audience"] = p["audience"]
	ev.RequestParameters["subjectTokenType"] = p["subject_token_type"]
	switch {
	case p["grant_type"] == "":
		return nil, fail("invalid_request", http.StatusBadRequest, "grant_type_missing")
	case p["grant_type"] != "urn:ietf:params:oauth:grant-type:token-exchange":
		return nil, fail("unsupported_grant_type", http.StatusBadRequest, "grant_type_unsupported")
	case p["actor_token"] != "" || p["actor_token_type"] != "":
		return nil, fail("invalid_request", http.StatusBadRequest, "delegation_unsupported")
	case p["scope"] != "":
		return nil, fail("invalid_scope", http.StatusBadRequest, "scope_unsupported")
	case p["resource"] != "":
		return nil, fail("invalid_target", http.StatusBadRequest, "resource_unsupported")
	case p["requested_token_type"] != "" && p["requested_token_type"] != TokenTypeCredentials:
		return nil, fail("invalid_request", http.StatusBadRequest, "requested_token_type_unsupported")
	case p["subject_token"] == "" || p["audience"] == "":
		return nil, fail("invalid_request", http.StatusBadRequest, "parameter_missing")
	}
	req := exchange.Request{Audience: p["audience"]}
	subject := p["subject_token"]
	switch p["subject_token_type"] {
	case TokenTypeJWT, TokenTypeIDToken:
		req.Kind = exchange.ProofJWT
	case TokenTypeAWS:
		req.Kind, req.Issuer = exchange.ProofAWS, exchange.AWSIssuer
		// Google's format: the JSON, URL-encoded once more inside the
		// form (google.aip.dev/auth/4117).
		if strings.HasPrefix(subject, "%7B") || strings.HasPrefix(subject, "%7b") {
			if subject, err = url.QueryUnescape(subject); err != nil {
				return nil, bad
			}
		}
	default:
		return nil, fail("invalid_request", http.StatusBadRequest, "subject_token_type_unsupported")
	}
	req.Proof = secret.NewString(subject)
	cred, res, f := h.run(r, req, ev)
	if f != nil {
		return nil, f
	}
	return map[string]any{"access_token": cred, "issued_token_type": TokenTypeCredentials, "token_type": "N_A",
		"expires_in": int64(res.Session.Credentials.Expiration.Sub(h.o.Clock.Now()) / time.Second)}, nil
}

// run carries out an exchange and records it; it returns the encoded
// credential document.
func (h *Handler) run(r *http.Request, req exchange.Request, ev *audit.Event) (string, exchange.Result, *failure) {
	res, err := h.o.Exchange.Exchange(r.Context(), req)
	record(ev, res)
	if err != nil {
		return "", res, h.refusal(err, ev)
	}
	s := res.Session
	ev.IssuedKeyID = s.Credentials.AccessKeyID
	ev.RecipientAccountID = res.Provider.Account
	ev.ResponseElements = map[string]any{
		"credentials":     map[string]any{"accessKeyId": s.Credentials.AccessKeyID, "expiration": s.Credentials.Expiration.UTC().Format(time.RFC3339)},
		"assumedRoleUser": map[string]any{"arn": s.AssumedRoleARN, "assumedRoleId": s.AssumedRoleID},
		"provider":        res.Provider.ARN(),
	}
	doc, _ := json.Marshal(Credential{
		Version: 1, AccessKeyID: s.Credentials.AccessKeyID, SecretAccessKey: s.Credentials.Secret.Reveal(),
		SessionToken: s.Credentials.SessionToken.Reveal(), Expiration: s.Credentials.Expiration.UTC().Format(time.RFC3339),
		Account: res.Provider.Account, ARN: s.AssumedRoleARN, Endpoint: h.o.Endpoint, Region: h.o.Region,
	})
	return base64.StdEncoding.EncodeToString(doc), res, nil
}

// record puts the external identity and the provider that matched into the
// event (peers.md (d) 8: the link from external token to issued key).
func record(ev *audit.Event, res exchange.Result) {
	id := res.Identity
	extra := map[string]string{}
	switch {
	case id.AWS != nil:
		a := id.AWS
		ev.UserIdentity = audit.UserIdentity{Type: "AWSAccount", PrincipalID: a.UserID, ARN: a.ARN, AccountID: a.Account,
			AccessKeyID: a.AccessKeyID, IdentityProvider: a.Endpoint}
		extra["awsAccessKeyId"], extra["upstream"] = a.AccessKeyID, a.Endpoint
	case id.Subject != "":
		ev.UserIdentity = audit.UserIdentity{Type: "WebIdentityUser", PrincipalID: id.Issuer + ":" + id.Subject,
			UserName: id.Subject, IdentityProvider: id.Issuer}
		if id.JTI != "" {
			extra["jti"] = id.JTI
		}
	}
	if id.Subject != "" {
		extra["subject"] = id.Subject
	}
	if res.Provider != nil {
		extra["identityProvider"] = res.Provider.ARN()
		extra["roleArn"] = res.RoleARN
	}
	if len(extra) > 0 {
		ev.AdditionalEventData = extra
	}
}

// refusal maps a domain refusal to its RFC 6749 code (security.md 3.H,
// 3.I): every token problem is invalid_request; an upstream or identity
// provider outage is 503 temporarily_unavailable, so clients retry.
func (h *Handler) refusal(err error, ev *audit.Event) *failure {
	e, ok := errors.AsType[*exchange.Error](err)
	if !ok {
		h.o.Logger.Error("token exchange failed", "request_id", ev.RequestID, "err", err)
		return fail("server_error", http.StatusInternalServerError, "internal")
	}
	if e.Upstream != "" {
		if ev.AdditionalEventData == nil {
			ev.AdditionalEventData = map[string]string{}
		}
		ev.AdditionalEventData["upstreamErrorCode"] = e.Upstream
	}
	switch e.Code {
	case exchange.InvalidTarget:
		return fail("invalid_target", http.StatusBadRequest, e.Reason)
	case exchange.Unavailable:
		h.o.Logger.Warn("token exchange unavailable", "request_id", ev.RequestID, "reason", e.Reason, "err", e.Cause)
		return fail("temporarily_unavailable", http.StatusServiceUnavailable, e.Reason)
	}
	return fail("invalid_request", http.StatusBadRequest, e.Reason)
}

// challenge issues a challenge: {"audience"} in, {"challenge",
// "header", "expires_at"} out.
func (h *Handler) challenge(r *http.Request, raw []byte, ev *audit.Event) (any, *failure) {
	ev.ReadOnly = true
	fields, ok := jsonFields(r, raw, []string{"audience"}, []string{"audience"})
	if !ok || len(fields["audience"]) > exchange.MaxAudience {
		return nil, fail("invalid_request", http.StatusBadRequest, "request_malformed")
	}
	ev.RequestParameters["audience"] = fields["audience"]
	value, expires, err := h.o.Challenges.Issue(fields["audience"])
	if err != nil {
		h.o.Logger.Error("issuing a challenge failed", "request_id", ev.RequestID, "err", err)
		return nil, fail("temporarily_unavailable", http.StatusServiceUnavailable, "challenge_unavailable")
	}
	return map[string]string{"challenge": value, "header": "X-Keyless-Challenge", "expires_at": expires.Format(time.RFC3339)}, nil
}

// explain runs an exchange without its effects for an operator allowed
// keyless:ExplainExchange, and returns how it was decided.
func (h *Handler) explain(r *http.Request, raw []byte, ev *audit.Event) (any, *failure) {
	ev.ReadOnly = true
	now := h.o.Clock.Now()
	auth, err := h.o.Auth.Authenticate(r.Context(), &sigv4.Request{Method: r.Method, EscapedURI: r.URL.EscapedPath(), Query: r.URL.Query(),
		Host: r.Host, Header: r.Header, BodySHA256: sha256.Sum256(raw)}, "keyless", now)
	if auth.Caller != nil {
		ev.UserIdentity = stsapi.UserIdentity(auth.Caller)
		ev.RecipientAccountID = auth.Caller.Principal.Account
	}
	if err == nil {
		c := *auth.Caller
		c.Origin = sts.Origin{SourceIP: stsapi.RemoteIP(r), SecureTransport: r.TLS != nil, Region: auth.Signed.Scope.Region}
		err = h.o.Service.CheckAccess(r.Context(), c, sts.AccessRequest{Action: ExplainAction, Resource: "*"})
	}
	if err != nil {
		d := stsapi.Describe(err)
		code := "access_denied"
		if d.Status >= 500 {
			code = "temporarily_unavailable"
		}
		return nil, fail(code, d.Status, d.Reason)
	}
	fields, ok := jsonFields(r, raw, []string{"audience", "issuer_uri", "jwt_token", "subject_token_type"}, []string{"audience", "jwt_token"})
	if !ok {
		return nil, fail("invalid_request", http.StatusBadRequest, "request_malformed")
	}
	ev.RequestParameters["audience"] = fields["audience"]
	ev.RequestParameters["issuerUri"] = fields["issuer_uri"]
	req := exchange.Request{Audience: fields["audience"], Issuer: fields["issuer_uri"], Proof: secret.NewString(fields["jwt_token"]),
		DryRun: true, Account: auth.Caller.Principal.Account}
	switch fields["subject_token_type"] {
	case "":
	case TokenTypeJWT, TokenTypeIDToken:
		req.Kind = exchange.ProofJWT
	case TokenTypeAWS:
		req.Kind = exchange.ProofAWS
	default:
		return nil, fail("invalid_request", http.StatusBadRequest, "subject_token_type_unsupported")
	}
	res, err := h.o.Exchange.Exchange(r.Context(), req)
	caller := ev.UserIdentity
	record(ev, res)
	ev.UserIdentity = caller // the operator asked; the explained identity is in additionalEventData
	out := map[string]any{"granted": err == nil, "trace": res.Trace}
	if res.Provider != nil {
		out["provider"] = res.Provider.ARN()
		out["role_arn"] = res.RoleARN
	}
	if res.Identity.Subject != "" {
		out["subject"] = res.Identity.Subject
	}
	if e, ok := errors.AsType[*exchange.Error](err); ok {
		out["reason"] = e.Reason
		if e.Upstream != "" {
			out["upstream_error_code"] = e.Upstream
		}
	} else if err != nil {
		return nil, h.refusal(err, ev)
	}
	ev.ResponseElements = map[string]any{"granted": err == nil}
	return out, nil
}
