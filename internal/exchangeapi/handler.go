package exchangeapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awserrors"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/strictjson"
	"github.com/keyless-dev/keyless/internal/sts"
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
	// Endpoint and Region go into issued credential documents.
	Endpoint string
	Region   string
}

// Handler serves the token exchange.
type Handler struct{ o Options }

// New returns a Handler.
func New(o Options) *Handler { return &Handler{o: o} }

// Surface is the token exchange's four paths: JSON answers, RFC 6749
// errors.
func (h *Handler) Surface() *edge.Surface {
	route := func(path, event string, handle edge.Handler) edge.Route {
		return edge.Route{Pattern: path, Handle: handle, MaxBody: maxBody,
			Event: &edge.Event{Source: "keyless", Name: event, Category: "Data", Region: h.o.Region, Params: true}}
	}
	return &edge.Surface{Name: "exchange", Wire: wire{}, Routes: []edge.Route{
		route(PathExchange, "ExchangeExternalToken", h.post(h.exchangeJSON)),
		route(PathToken, "ExchangeToken", h.post(h.token)),
		route(PathChallenge, "GetExchangeChallenge", h.post(h.challenge)),
		route(PathExplain, "ExplainExchange", h.post(h.explain)),
	}}
}

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

// fail is a refusal on the wire: an RFC 6749 section 5.2 error code, the
// status, and the reason for the audit log.
func fail(code string, status int, reason string) *edge.Refusal {
	return &edge.Refusal{Code: code, Status: status, Reason: reason}
}

// post reads a POST body and runs serve on it.
func (h *Handler) post(serve func(c *edge.Call, raw []byte) (any, error)) edge.Handler {
	return func(c *edge.Call) (any, error) {
		if c.Request.Method != http.MethodPost {
			f := fail("method_not_allowed", http.StatusMethodNotAllowed, "method_not_post")
			f.Allow = http.MethodPost // RFC 9110 section 15.5.6
			return nil, f
		}
		raw, err := c.Body()
		if err != nil {
			return nil, err
		}
		return serve(c, raw)
	}
}

// wire writes JSON answers and RFC 6749 errors.
type wire struct{}

// Refuse is the exchange's error table (security.md 3.H, 3.I): every
// token problem is invalid_request; an upstream or identity provider
// outage is 503 temporarily_unavailable, so clients retry; explain's
// SigV4 refusals are access_denied.
func (wire) Refuse(err error) edge.Refusal {
	if e, ok := errors.AsType[*exchange.Error](err); ok {
		switch e.Code {
		case exchange.InvalidTarget:
			return *fail("invalid_target", http.StatusBadRequest, e.Reason)
		case exchange.Unavailable:
			return edge.Refusal{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable, Reason: e.Reason, Cause: e.Cause}
		}
		return *fail("invalid_request", http.StatusBadRequest, e.Reason)
	}
	if e, ok := errors.AsType[*edge.Error](err); ok {
		switch e.Failure {
		case edge.BodyTooLarge:
			return *fail("invalid_request", http.StatusRequestEntityTooLarge, "body_too_large")
		case edge.BodyUnreadable:
			return *fail("invalid_request", http.StatusBadRequest, "body_unreadable")
		case edge.AuditUnavailable:
			return edge.Refusal{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable, Reason: "audit_unavailable", Cause: e}
		case edge.Unavailable:
			return edge.Refusal{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable, Reason: "not_accepting", Cause: e}
		case edge.Throttled:
			// RFC 8628 section 3.5's slow_down, with 429 (RFC 6585 section 4).
			return edge.Refusal{Code: "slow_down", Status: http.StatusTooManyRequests, Reason: "throttled"}
		}
		return edge.Refusal{Code: "server_error", Status: http.StatusInternalServerError, Reason: "panic", Cause: e}
	}
	_, isSTS := errors.AsType[*sts.Error](err)
	_, isSig := errors.AsType[*sigv4.Error](err)
	if isSTS || isSig {
		d := awserrors.Refuse(err)
		if d.Status >= 500 {
			return edge.Refusal{Code: "temporarily_unavailable", Status: d.Status, Reason: d.Reason, Cause: d.Cause}
		}
		return *fail("access_denied", d.Status, d.Reason)
	}
	return edge.Refusal{Code: "server_error", Status: http.StatusInternalServerError, Reason: "internal", Cause: err}
}

// Write answers JSON. A refusal is one generic answer: which check failed
// is for the operator's explain and the audit log, never an oracle for
// the caller.
func (wire) Write(w http.ResponseWriter, c *edge.Call, answer any, f *edge.Refusal) {
	body, status := answer, http.StatusOK
	if f != nil {
		status = f.Status
		body = map[string]string{"error": f.Code, "error_description": describe(f.Code) + " Request id: " + c.ID + ".",
			"request_id": c.ID}
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store") // RFC 6749 section 5.1
	hdr.Set("Pragma", "no-cache")
	out, _ := json.Marshal(body)
	out = append(out, '\n')
	hdr.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// describe is the one sentence a caller gets per error code.
func describe(code string) string {
	switch code {
	case "invalid_target":
		return "No identity provider serves this audience."
	case "temporarily_unavailable":
		return "The exchange could not be completed now; retry later."
	case "slow_down":
		return "Too many refused requests from this address; retry later."
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
func (h *Handler) exchangeJSON(c *edge.Call, raw []byte) (any, error) {
	ev := c.Event
	fields, ok := jsonFields(c.Request, raw, []string{"audience", "issuer_uri", "jwt_token"}, []string{"audience", "issuer_uri", "jwt_token"})
	if !ok {
		return nil, fail("invalid_request", http.StatusBadRequest, "request_malformed")
	}
	ev.RequestParameters["audience"] = fields["audience"]
	ev.RequestParameters["issuerUri"] = fields["issuer_uri"]
	req := exchange.Request{Audience: fields["audience"], Issuer: fields["issuer_uri"], Proof: secret.NewString(fields["jwt_token"])}
	cred, _, err := h.run(c, req)
	if err != nil {
		return nil, err
	}
	return map[string]string{"base64_credential": cred}, nil
}

// tokenParams are the RFC 8693 section 2.1 parameters keyless reads.
var tokenParams = []string{"grant_type", "audience", "subject_token", "subject_token_type", "requested_token_type",
	"scope", "resource", "actor_token", "actor_token_type"}

// token is the RFC 8693 token endpoint.
func (h *Handler) token(c *edge.Call, raw []byte) (any, error) {
	r, ev := c.Request, c.Event
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
	cred, res, err := h.run(c, req)
	if err != nil {
		return nil, err
	}
	return map[string]any{"access_token": cred, "issued_token_type": TokenTypeCredentials, "token_type": "N_A",
		"expires_in": int64(res.Session.Credentials.Expiration.Sub(c.Now()) / time.Second)}, nil
}

// run carries out an exchange and records it; it returns the encoded
// credential document.
func (h *Handler) run(c *edge.Call, req exchange.Request) (string, exchange.Result, error) {
	ev := c.Event
	res, err := h.o.Exchange.Exchange(c.Context(), req)
	record(ev, res)
	if err != nil {
		recordUpstream(ev, err)
		return "", res, err
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

// recordUpstream keeps an upstream STS's error code in the event.
func recordUpstream(ev *audit.Event, err error) {
	if e, ok := errors.AsType[*exchange.Error](err); ok && e.Upstream != "" {
		if ev.AdditionalEventData == nil {
			ev.AdditionalEventData = map[string]string{}
		}
		ev.AdditionalEventData["upstreamErrorCode"] = e.Upstream
	}
}

// challenge issues a challenge: {"audience"} in, {"challenge",
// "header", "expires_at"} out.
func (h *Handler) challenge(c *edge.Call, raw []byte) (any, error) {
	ev := c.Event
	ev.ReadOnly = true
	fields, ok := jsonFields(c.Request, raw, []string{"audience"}, []string{"audience"})
	if !ok || len(fields["audience"]) > exchange.MaxAudience {
		return nil, fail("invalid_request", http.StatusBadRequest, "request_malformed")
	}
	ev.RequestParameters["audience"] = fields["audience"]
	value, expires, err := h.o.Challenges.Issue(fields["audience"])
	if err != nil {
		return nil, &edge.Refusal{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable, Reason: "challenge_unavailable", Cause: err}
	}
	return map[string]string{"challenge": value, "header": "X-Keyless-Challenge", "expires_at": expires.Format(time.RFC3339)}, nil
}

// explain runs an exchange without its effects for an operator allowed
// keyless:ExplainExchange, and returns how it was decided.
func (h *Handler) explain(c *edge.Call, raw []byte) (any, error) {
	r, ev := c.Request, c.Event
	ev.ReadOnly = true
	caller, err := c.Authenticate(h.o.Auth, "keyless", nil, raw)
	if err == nil {
		err = h.o.Service.CheckAccess(c.Context(), *caller, sts.AccessRequest{Action: ExplainAction, Resource: "*"})
	}
	if err != nil {
		return nil, err
	}
	fields, ok := jsonFields(r, raw, []string{"audience", "issuer_uri", "jwt_token", "subject_token_type"}, []string{"audience", "jwt_token"})
	if !ok {
		return nil, fail("invalid_request", http.StatusBadRequest, "request_malformed")
	}
	ev.RequestParameters["audience"] = fields["audience"]
	ev.RequestParameters["issuerUri"] = fields["issuer_uri"]
	req := exchange.Request{Audience: fields["audience"], Issuer: fields["issuer_uri"], Proof: secret.NewString(fields["jwt_token"]),
		DryRun: true, Account: caller.Principal.Account}
	switch fields["subject_token_type"] {
	case "":
	case TokenTypeJWT, TokenTypeIDToken:
		req.Kind = exchange.ProofJWT
	case TokenTypeAWS:
		req.Kind = exchange.ProofAWS
	default:
		return nil, fail("invalid_request", http.StatusBadRequest, "subject_token_type_unsupported")
	}
	res, err := h.o.Exchange.Exchange(c.Context(), req)
	operator := ev.UserIdentity
	record(ev, res)
	ev.UserIdentity = operator // the operator asked; the explained identity is in additionalEventData
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
		return nil, err
	}
	ev.ResponseElements = map[string]any{"granted": err == nil}
	return out, nil
}
