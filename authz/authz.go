package authz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/sigv4"
)

// Client calls the authorization API.
type Client struct {
	// Endpoint is keyless's base URL, such as http://127.0.0.1:8080.
	Endpoint string
	// The resource server's own keyless credentials.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Region signs the calls; us-east-1 if empty.
	Region string
	// HTTPClient defaults to a client with a 10-second timeout.
	HTTPClient *http.Client
	// Now defaults to time.Now.
	Now func() time.Time
}

// Question is what a resource server asks about a request it received.
type Question struct {
	// Service is the SigV4 service name the request was signed for.
	Service  string
	Action   string // IAM action, such as s3:GetObject
	Resource string // ARN, such as arn:aws:s3:::bucket/key
	// Context holds service condition keys (never aws: keys).
	Context map[string][]string
	// ResourcePolicy is the resource's own policy, if any, owned by
	// ResourceAccount.
	ResourcePolicy, ResourceAccount string
}

// Call is the body of POST /v1/authorize (docs/authorization-api.md).
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

// Decision is keyless's answer.
type Decision struct {
	Allowed   bool       `json:"allowed"`
	Principal *Principal `json:"principal,omitempty"`
	Error     *Refusal   `json:"error,omitempty"`
}

// Principal is who signed the request.
type Principal struct {
	ARN     string `json:"arn"`
	UserID  string `json:"userId"`
	Account string `json:"account"`
	Type    string `json:"type"`
}

// Refusal is why a request is not allowed, with the AWS error code and
// HTTP status to answer with. EncodedMessage is for
// sts:DecodeAuthorizationMessage.
type Refusal struct {
	Code           string `json:"code"`
	Status         int    `json:"status"`
	Message        string `json:"message"`
	EncodedMessage string `json:"encodedMessage,omitempty"`
}

// CallError is a refusal of the resource server's own call.
type CallError struct {
	Status  int
	Code    string
	Message string
}

func (e *CallError) Error() string {
	return fmt.Sprintf("keyless authorization API: %d %s: %s", e.Status, e.Code, e.Message)
}

// MaxBody bounds the request body the middleware reads to hash.
const MaxBody = 8 << 20

// Check asks keyless about r, whose body was body (r.Body is not read).
func (c *Client) Check(ctx context.Context, r *http.Request, body []byte, q Question) (*Decision, error) {
	sum := sha256.Sum256(body)
	payload, err := json.Marshal(Call{
		Service: q.Service,
		Request: Forwarded{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Host: r.Host, Headers: r.Header,
			BodySHA256: hex.EncodeToString(sum[:]), SourceIP: clientIP(r), SecureTransport: r.TLS != nil},
		Action: q.Action, Resource: q.Resource, Context: q.Context, ResourcePolicy: q.ResourcePolicy, ResourceAccount: q.ResourceAccount,
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Endpoint, "/")+"/v1/authorize", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	c.sign(req, payload)
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(raw, &e)
		return nil, &CallError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	var d Decision
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (c *Client) sign(req *http.Request, payload []byte) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	region := c.Region
	if region == "" {
		region = "us-east-1"
	}
	sr := &sigv4.Request{Method: req.Method, EscapedURI: req.URL.EscapedPath(), Query: req.URL.Query(), Host: req.URL.Host,
		Header: req.Header, BodySHA256: sha256.Sum256(payload)}
	sigv4.Sign(sr, c.AccessKeyID, c.SecretAccessKey, c.SessionToken, region, "keyless", now())
}

// Mapper maps a request to the IAM action and resource it needs; ok false
// refuses the request as not found.
type Mapper func(*http.Request) (q Question, ok bool)

type principalKey struct{}

// PrincipalFrom returns the principal the middleware authorized.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// Middleware serves next only for requests keyless allows, and answers
// every other with the AWS-style XML error keyless gave (including the
// encoded authorization message on AccessDenied). service is the SigV4
// service name clients sign for.
func (c *Client) Middleware(service string, mapQ Mapper, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			writeError(w, &Refusal{Code: "RequestEntityTooLarge", Status: http.StatusRequestEntityTooLarge, Message: "The request body is too large."})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		q, ok := mapQ(r)
		if !ok {
			writeError(w, &Refusal{Code: "NotFound", Status: http.StatusNotFound, Message: "No such resource."})
			return
		}
		q.Service = service
		d, err := c.Check(r.Context(), r, body, q)
		switch {
		case err != nil:
			// Fail closed: no answer from keyless is a refusal.
			writeError(w, &Refusal{Code: "ServiceUnavailable", Status: http.StatusServiceUnavailable, Message: "Authorization is unavailable."})
			return
		case !d.Allowed:
			writeError(w, d.Error)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, d.Principal)))
	})
}

func writeError(w http.ResponseWriter, f *Refusal) {
	msg := f.Message
	if f.EncodedMessage != "" {
		msg += " Encoded authorization failure message: " + f.EncodedMessage
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(f.Status)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
	}{Code: f.Code, Message: msg})
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}
