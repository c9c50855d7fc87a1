package authzapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/internal/awserrors"
	"github.com/keyless-dev/keyless/internal/edge"
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

// Options wire a Handler.
type Options struct {
	Service *sts.Service
	Auth    *sigauth.Authenticator
}

// Handler serves the authorization API.
type Handler struct{ o Options }

// New returns a Handler.
func New(o Options) *Handler { return &Handler{o: o} }

// Surface is the API at Path: JSON answers with AWS's error codes.
func (h *Handler) Surface() *edge.Surface {
	return &edge.Surface{Name: "authorize", Wire: wire{}, Routes: []edge.Route{{
		Pattern: Path, Handle: h.serve, MaxBody: maxBody,
		Event: &edge.Event{Source: "keyless", Name: "AuthorizeRequest", Category: "Data", ReadOnly: true},
	}}}
}

// serve authenticates and authorizes the caller, then decides the
// forwarded request.
func (h *Handler) serve(c *edge.Call) (any, error) {
	r, ev := c.Request, c.Event
	if r.URL.Path != Path || r.Method != http.MethodPost {
		return nil, awserrors.New("NotFound", http.StatusNotFound, "path_not_found", "POST "+Path+" is the only operation.")
	}
	body, err := c.Body()
	if err != nil {
		return nil, err
	}
	// The resource server's own signature.
	caller, err := c.Authenticate(h.o.Auth, SigningService, nil, body)
	if err != nil {
		return nil, err
	}
	if err := h.o.Service.CheckAccess(c.Context(), *caller, sts.AccessRequest{Action: "keyless:AuthorizeRequest", Resource: "*"}); err != nil {
		return nil, err
	}

	var call authz.Call
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&call); err != nil || dec.More() {
		return nil, awserrors.New("ValidationError", http.StatusBadRequest, "call_malformed",
			"The call is not a valid authorization request (see docs/authorization-api.md).")
	}
	ev.RequestParameters = map[string]any{"service": call.Service, "action": call.Action, "resource": call.Resource, "method": call.Request.Method}
	fwd, err := forwarded(&call.Request)
	sourceIP := c.SourceIP
	if call.Request.SourceIP != "" {
		ip, perr := netip.ParseAddr(call.Request.SourceIP)
		sourceIP, err = ip.String(), errors.Join(err, perr)
	}
	if err != nil || call.Service == "" {
		return nil, awserrors.New("ValidationError", http.StatusBadRequest, "forwarded_malformed",
			"The forwarded request is incomplete: service, method, path, host, headers and a 64-digit bodySha256 are required, and sourceIp must be an IP address.")
	}

	// The forwarded request's signature, with the signer's credentials.
	ans := &authz.Decision{}
	ev.ResponseElements = map[string]any{}
	fres, err := h.o.Auth.Authenticate(c.Context(), fwd, call.Service, c.Now())
	if fres.Signed != nil {
		ev.RequestParameters["accessKeyId"] = fres.Signed.AccessKeyID
	}
	if fc := fres.Caller; fc != nil {
		ans.Principal = &authz.Principal{ARN: fc.ARN(), UserID: fc.UserID(), Account: fc.Principal.Account, Type: string(fc.Kind())}
		ev.RequestParameters["principalArn"] = fc.ARN()
	}
	if err == nil {
		fc := *fres.Caller
		fc.Origin = sts.Origin{SourceIP: sourceIP, SecureTransport: call.Request.SecureTransport, Region: fres.Signed.Scope.Region}
		err = h.o.Service.CheckAccess(c.Context(), fc, sts.AccessRequest{Action: call.Action, Resource: call.Resource, Keys: call.Context,
			ResourcePolicy: call.ResourcePolicy, ResourceAccount: call.ResourceAccount})
	}
	se, isSTS := errors.AsType[*sts.Error](err)
	switch {
	case err == nil:
		ans.Allowed = true
	case isSTS && (se.Code == sts.ValidationError || se.Code == sts.MalformedPolicyDocument):
		// The resource server's question was malformed, not the request.
		return nil, awserrors.New("ValidationError", http.StatusBadRequest, se.Reason, se.Msg)
	default:
		d := awserrors.Refuse(err)
		if d.Status >= 500 {
			return nil, &d
		}
		ans.Error = &authz.Refusal{Code: d.Code, Status: d.Status, Message: d.Message, EncodedMessage: d.Detail}
		ev.AdditionalEventData = map[string]string{"decision": "deny", "reason": d.Reason}
	}
	ev.ResponseElements["allowed"] = ans.Allowed
	return ans, nil
}

// wire writes JSON: the decision, or {"error": {"code", "message"}}
// refusing the call itself.
type wire struct{}

func (wire) Refuse(err error) edge.Refusal { return awserrors.Refuse(err) }

func (wire) Write(w http.ResponseWriter, _ *edge.Call, answer any, f *edge.Refusal) {
	body, status := answer, http.StatusOK
	if f != nil {
		body = map[string]any{"error": map[string]string{"code": f.Code, "message": f.Message}}
		status = f.Status
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
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
