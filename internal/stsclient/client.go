package stsclient

import (
	"context"
	"crypto/sha256"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/keyless-dev/keyless/internal/integration"
	"github.com/keyless-dev/keyless/internal/outbound"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sigv4"
)

// Version is the STS API version.
const Version = "2011-06-15"

// maxAnswer bounds an answer: credentials and an ARN are far below it.
const maxAnswer = 64 << 10

// Client calls target STS endpoints. It is safe for concurrent use.
type Client struct {
	// Now is the signing clock.
	Now     func() time.Time
	mu      sync.Mutex
	clients map[[2]bool]*outbound.Client
}

// New returns a Client.
func New(now func() time.Time) *Client {
	return &Client{Now: now, clients: map[[2]bool]*outbound.Client{}}
}

var _ integration.Target = (*Client)(nil)

// client is the outbound client for an endpoint's network allowances.
func (c *Client) client(ep integration.Endpoint) (*outbound.Client, error) {
	k := [2]bool{ep.AllowHTTPLoopback, ep.AllowPrivateNetwork}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[k]; ok {
		return cl, nil
	}
	cl, err := outbound.New(outbound.Options{AllowLoopback: ep.AllowHTTPLoopback, AllowPrivate: ep.AllowPrivateNetwork,
		MaxBytes: maxAnswer, KeepAlive: true, Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	c.clients[k] = cl
	return cl, nil
}

// call posts a Query request, signed with creds when they are given, and
// decodes the answer into out.
func (c *Client) call(ctx context.Context, ep integration.Endpoint, creds *integration.Credentials, form url.Values, out any) error {
	cl, err := c.client(ep)
	if err != nil {
		return &integration.TargetError{Unreachable: true, Cause: err}
	}
	u, err := url.Parse(ep.URL)
	if err != nil {
		return &integration.TargetError{Unreachable: true, Cause: err}
	}
	form.Set("Version", Version)
	body := []byte(form.Encode())
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	if creds != nil {
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		host := u.Host
		if p := u.Port(); p == "443" && u.Scheme == "https" || p == "80" && u.Scheme == "http" {
			host = u.Hostname()
		}
		req := &sigv4.Request{Method: http.MethodPost, EscapedURI: path, Query: url.Values{}, Host: host, Header: hdr,
			BodySHA256: sha256.Sum256(body)}
		sigv4.Sign(req, creds.AccessKeyID, creds.Secret.Reveal(), creds.SessionToken.Reveal(), ep.Region, "sts", c.Now())
	}
	resp, err := cl.Post(ctx, ep.URL, hdr, body)
	if err != nil {
		return &integration.TargetError{Unreachable: true, Cause: err}
	}
	if resp.Status != http.StatusOK {
		var e struct {
			Code    string `xml:"Error>Code"`
			Message string `xml:"Error>Message"`
		}
		_ = xml.Unmarshal(resp.Body, &e)
		if e.Code == "" {
			e.Code = "HTTP" + strconv.Itoa(resp.Status)
		}
		// A target that echoes what it was sent must not put the token or
		// a session token into the diagnosis, and so into the audit trail
		// and the log.
		msg := e.Message
		for _, v := range []string{form.Get("WebIdentityToken"), sessionToken(creds)} {
			if v != "" {
				msg = strings.ReplaceAll(msg, v, "[redacted]")
			}
		}
		return &integration.TargetError{Code: bound(e.Code, 64), Message: bound(msg, 512), Status: resp.Status}
	}
	if err := xml.Unmarshal(resp.Body, out); err != nil {
		return &integration.TargetError{Code: "MalformedAnswer", Message: "the answer is not STS XML", Status: resp.Status, Cause: err}
	}
	return nil
}

func sessionToken(c *integration.Credentials) string {
	if c == nil {
		return ""
	}
	return c.SessionToken.Reveal()
}

// bound keeps at most n printable characters of a target's text.
func bound(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return s
}

// credentials is the Credentials element of an answer.
type credentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

func (c credentials) session(assumed string) (integration.Session, error) {
	exp, err := time.Parse(time.RFC3339, c.Expiration)
	if err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return integration.Session{}, &integration.TargetError{Code: "MalformedAnswer", Message: "the answer has no usable credentials", Status: 200}
	}
	return integration.Session{AssumedRoleARN: assumed, Credentials: integration.Credentials{AccessKeyID: c.AccessKeyID,
		Secret: secret.NewString(c.SecretAccessKey), SessionToken: secret.NewString(c.SessionToken), Expiration: exp}}, nil
}

func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// AssumeRoleWithWebIdentity implements integration.Target.
func (c *Client) AssumeRoleWithWebIdentity(ctx context.Context, ep integration.Endpoint, r integration.WebIdentityRequest) (integration.Session, error) {
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "RoleArn": {r.RoleARN}, "RoleSessionName": {r.SessionName},
		"WebIdentityToken": {r.Token.Reveal()}}
	if r.Duration > 0 {
		form.Set("DurationSeconds", seconds(r.Duration))
	}
	var out struct {
		Creds   credentials `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
		Assumed string      `xml:"AssumeRoleWithWebIdentityResult>AssumedRoleUser>Arn"`
	}
	if err := c.call(ctx, ep, nil, form, &out); err != nil {
		return integration.Session{}, err
	}
	return out.Creds.session(out.Assumed)
}

// AssumeRole implements integration.Target.
func (c *Client) AssumeRole(ctx context.Context, ep integration.Endpoint, key integration.Credentials, r integration.RoleRequest) (integration.Session, error) {
	form := url.Values{"Action": {"AssumeRole"}, "RoleArn": {r.RoleARN}, "RoleSessionName": {r.SessionName}}
	if r.Duration > 0 {
		form.Set("DurationSeconds", seconds(r.Duration))
	}
	if r.ExternalID != "" {
		form.Set("ExternalId", r.ExternalID)
	}
	var out struct {
		Creds   credentials `xml:"AssumeRoleResult>Credentials"`
		Assumed string      `xml:"AssumeRoleResult>AssumedRoleUser>Arn"`
	}
	if err := c.call(ctx, ep, &key, form, &out); err != nil {
		return integration.Session{}, err
	}
	return out.Creds.session(out.Assumed)
}

// GetSessionToken implements integration.Target.
func (c *Client) GetSessionToken(ctx context.Context, ep integration.Endpoint, key integration.Credentials, d time.Duration) (integration.Session, error) {
	form := url.Values{"Action": {"GetSessionToken"}}
	if d > 0 {
		form.Set("DurationSeconds", seconds(d))
	}
	var out struct {
		Creds credentials `xml:"GetSessionTokenResult>Credentials"`
	}
	if err := c.call(ctx, ep, &key, form, &out); err != nil {
		return integration.Session{}, err
	}
	return out.Creds.session("")
}

// GetCallerIdentity implements integration.Target.
func (c *Client) GetCallerIdentity(ctx context.Context, ep integration.Endpoint, creds integration.Credentials) (string, error) {
	var out struct {
		ARN string `xml:"GetCallerIdentityResult>Arn"`
	}
	if err := c.call(ctx, ep, &creds, url.Values{"Action": {"GetCallerIdentity"}}, &out); err != nil {
		return "", err
	}
	if out.ARN == "" {
		return "", &integration.TargetError{Code: "MalformedAnswer", Message: "GetCallerIdentity named no ARN", Status: 200}
	}
	return out.ARN, nil
}
