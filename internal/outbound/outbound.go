package outbound

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is wrapped by every refusal on policy grounds: scheme, URL
// shape, address, redirect, body size, certificate thumbprint. Any other
// error is a network or upstream failure.
var ErrRefused = errors.New("refused by outbound policy")

// ErrRedirect is wrapped by the refusal of a 3xx answer (it wraps
// ErrRefused), so that a caller can tell it from other refusals.
var ErrRedirect = fmt.Errorf("%w: redirect", ErrRefused)

const (
	defaultTimeout  = 5 * time.Second
	defaultMaxBytes = 1 << 20
	maxMaxBytes     = 1 << 30 // bodies are held in memory
	maxURLBytes     = 2048
	maxHeaderBytes  = 64 << 10
	maxRequestBytes = 1 << 20 // a POST body
	maxIdlePerHost  = 16
)

// Options configure a Client. Zero values give the safe defaults.
type Options struct {
	// Timeout bounds the whole request, body included. Default 5s.
	Timeout time.Duration
	// MaxBytes caps the body. Default 1 MiB. A longer body is an error.
	MaxBytes int64
	// AllowPrivate permits RFC 1918, CGNAT (RFC 6598), unique-local
	// (fc00::/7) and link-local unicast, except cloud metadata addresses.
	AllowPrivate bool
	// AllowLoopback permits 127.0.0.0/8 and ::1, and plain http:// to a
	// loopback IP literal or "localhost" (development only).
	AllowLoopback bool
	// RootCAs verifies servers; nil means the system roots.
	RootCAs *x509.CertPool
	// Thumbprints, if set, are lower-case hex SHA-1 fingerprints (40
	// characters); some certificate of the verified chain must match one,
	// as for an IAM OIDC provider.
	Thumbprints []string
	// KeepAlive reuses connections (each was checked when it was dialed):
	// for a client that calls the same few hosts on every request.
	KeepAlive bool
	// Dialer, for tests only, replaces the network dial. It is called with
	// an IP literal that has already passed the address check.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// Resolver, for tests only, replaces DNS resolution of host names (IP
	// literals are not resolved). Its answers pass the same address check
	// as real ones, so a test can make a name resolve to 127.0.0.1.
	Resolver func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Client fetches operator-configured URLs. It is safe for concurrent use.
type Client struct {
	timeout  time.Duration
	maxBytes int64
	secure   *http.Client
	plain    *http.Client // http:// to loopback; nil unless AllowLoopback
}

// Response is a fetched document. Body holds at most MaxBytes bytes.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// New validates o and returns a Client with its own Transport.
func New(o Options) (*Client, error) {
	c := &Client{timeout: o.Timeout, maxBytes: o.MaxBytes}
	switch {
	case c.timeout < 0:
		return nil, errors.New("outbound: negative Timeout")
	case c.timeout == 0:
		c.timeout = defaultTimeout
	}
	switch {
	case c.maxBytes < 0 || c.maxBytes > maxMaxBytes:
		return nil, fmt.Errorf("outbound: MaxBytes must be between 0 and %d", maxMaxBytes)
	case c.maxBytes == 0:
		c.maxBytes = defaultMaxBytes
	}
	for _, t := range o.Thumbprints {
		if !validThumbprint(t) {
			return nil, fmt.Errorf("outbound: thumbprint %q is not 40 lower-case hex digits", t)
		}
	}
	thumbs := slices.Clone(o.Thumbprints)

	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs}
	if len(thumbs) > 0 {
		tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
			for _, chain := range cs.VerifiedChains {
				for _, cert := range chain {
					sum := sha1.Sum(cert.Raw)
					if slices.Contains(thumbs, hex.EncodeToString(sum[:])) {
						return nil
					}
				}
			}
			return fmt.Errorf("%w: no certificate presented by %s matches a configured thumbprint", ErrRefused, cs.ServerName)
		}
	}
	p := policy{allowPrivate: o.AllowPrivate, allowLoopback: o.AllowLoopback}
	c.secure = newHTTPClient(dialer(p, o.Dialer, o.Resolver), tlsConf, o.KeepAlive)
	if o.AllowLoopback {
		c.plain = newHTTPClient(dialer(policy{loopbackOnly: true}, o.Dialer, o.Resolver), nil, o.KeepAlive)
	}
	return c, nil
}

func validThumbprint(t string) bool {
	if len(t) != 2*sha1.Size {
		return false
	}
	for _, r := range t {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

func newHTTPClient(dial func(context.Context, string, string) (net.Conn, error), tlsConf *tls.Config, keepAlive bool) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil, // never via a proxy: the check is on the peer we dial
			DialContext:            dial,
			TLSClientConfig:        tlsConf,
			TLSNextProto:           map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only
			DisableKeepAlives:      !keepAlive,
			MaxIdleConnsPerHost:    maxIdlePerHost,
			IdleConnTimeout:        30 * time.Second,
			DisableCompression:     true, // MaxBytes counts bytes on the wire
			MaxResponseHeaderBytes: maxHeaderBytes,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dialer checks the resolved peer address at dial time, so that DNS
// rebinding cannot slip past a check done on the name.
func dialer(p policy, custom func(context.Context, string, string) (net.Conn, error), resolve func(context.Context, string) ([]netip.Addr, error)) func(context.Context, string, string) (net.Conn, error) {
	d := &net.Dialer{
		ControlContext: func(_ context.Context, network, address string, _ syscall.RawConn) error {
			return p.checkPeer(network, address)
		},
	}
	if custom == nil && resolve == nil {
		return d.DialContext
	}
	dial := custom
	if dial == nil {
		dial = d.DialContext // the control hook checks again
	}
	lookup := func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	if resolve != nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			if ip, err := netip.ParseAddr(host); err == nil {
				return []netip.Addr{ip}, nil
			}
			return resolve(ctx, host)
		}
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := lookup(ctx, host)
		if err != nil {
			return nil, err
		}
		err = fmt.Errorf("%w: no addresses for %s", ErrRefused, host)
		for _, ip := range ips {
			ip = ip.Unmap()
			if err = p.check(ip); err == nil {
				return dial(ctx, network, net.JoinHostPort(ip.String(), port))
			}
		}
		return nil, err
	}
}

// checkPeer is the net.Dialer control hook: address is the resolved "ip:port".
func (p policy) checkPeer(network, address string) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: network %s", ErrRefused, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable peer address %q", ErrRefused, address)
	}
	return p.check(ap.Addr())
}

// Get fetches rawURL. A status other than 3xx is returned as a Response;
// a 3xx is a refusal, since redirects are never followed. Errors never
// contain the response body.
func (c *Client) Get(ctx context.Context, rawURL string) (Response, error) {
	return c.send(ctx, http.MethodGet, rawURL, http.Header{"Accept": {"application/json"}}, nil)
}

// Post sends body to rawURL with the caller's header fields, under the same
// checks, caps and redirect rule as Get. User-Agent is always keyless's;
// Host, framing and hop-by-hop fields (RFC 9110 section 7.6.1, RFC 9112
// section 6) are refused, since the transport sets them. The request is
// sent once: the caller decides whether a failure may be retried.
func (c *Client) Post(ctx context.Context, rawURL string, header http.Header, body []byte) (Response, error) {
	if len(body) > maxRequestBytes {
		return Response{}, fmt.Errorf("outbound: %w: request body longer than %d bytes", ErrRefused, maxRequestBytes)
	}
	if err := checkRequestHeader(header); err != nil {
		return Response{}, fmt.Errorf("outbound: %w", err)
	}
	return c.send(ctx, http.MethodPost, rawURL, header, body)
}

// reservedHeaders are set by the transport, never by a caller of Post.
var reservedHeaders = []string{
	"Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
	"Te", "Trailer", "Upgrade", "Proxy-Connection", "Proxy-Authorization", "Expect",
}

// checkRequestHeader refuses reserved names, malformed names and values
// that are not a single line of visible text (RFC 9110 section 5.5).
func checkRequestHeader(h http.Header) error {
	total := 0
	seen := make(map[string]bool, len(h))
	for name, values := range h {
		if !IsToken(name) {
			return fmt.Errorf("%w: malformed header name", ErrRefused)
		}
		canon := http.CanonicalHeaderKey(name)
		if slices.Contains(reservedHeaders, canon) {
			return fmt.Errorf("%w: header %s is set by the transport", ErrRefused, canon)
		}
		if seen[canon] {
			return fmt.Errorf("%w: header %s given under two spellings", ErrRefused, canon)
		}
		seen[canon] = true
		for _, v := range values {
			total += len(name) + len(v) + 4
			for i := 0; i < len(v); i++ {
				if b := v[i]; b < 0x20 && b != '\t' || b == 0x7f {
					return fmt.Errorf("%w: control character in header %s", ErrRefused, canon)
				}
			}
		}
	}
	if total > maxHeaderBytes {
		return fmt.Errorf("%w: request header longer than %d bytes", ErrRefused, maxHeaderBytes)
	}
	return nil
}

// IsToken reports whether s is an RFC 9110 section 5.6.2 token (a valid
// header name).
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func (c *Client) send(ctx context.Context, method, rawURL string, header http.Header, body []byte) (Response, error) {
	if len(rawURL) > maxURLBytes {
		return Response{}, fmt.Errorf("outbound: %w: URL longer than %d bytes", ErrRefused, maxURLBytes)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if method != http.MethodGet {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return Response{}, fmt.Errorf("outbound: %w: malformed URL", ErrRefused)
	}
	host := req.URL.Host
	fail := func(err error) (Response, error) {
		if host == "" {
			return Response{}, fmt.Errorf("outbound: %w", err)
		}
		return Response{}, fmt.Errorf("outbound: %s %s: %w", method, host, err)
	}
	hc, err := c.pick(req.URL)
	if err != nil {
		return fail(err)
	}
	for name, values := range header {
		req.Header[http.CanonicalHeaderKey(name)] = slices.Clone(values)
	}
	req.Header.Set("User-Agent", "keyless")

	resp, err := c.do(hc, req)
	if err != nil {
		return fail(err)
	}
	return resp, nil
}

// pick checks the URL's shape and returns the client for its scheme.
func (c *Client) pick(u *url.URL) (*http.Client, error) {
	switch {
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%w: URL has no host", ErrRefused)
	case u.User != nil:
		return nil, fmt.Errorf("%w: URL has userinfo", ErrRefused)
	case u.Scheme == "https":
		return c.secure, nil
	case u.Scheme != "http":
		return nil, fmt.Errorf("%w: scheme %q", ErrRefused, u.Scheme)
	case c.plain == nil:
		return nil, fmt.Errorf("%w: plain http", ErrRefused)
	}
	h := u.Hostname()
	if ip, err := netip.ParseAddr(h); (err != nil || !ip.Unmap().IsLoopback()) && !strings.EqualFold(h, "localhost") {
		return nil, fmt.Errorf("%w: plain http to a host that is not loopback", ErrRefused)
	}
	return c.plain, nil
}

func (c *Client) do(hc *http.Client, req *http.Request) (Response, error) {
	resp, err := hc.Do(req)
	if err != nil {
		// url.Error repeats the whole URL; the caller names the host.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return Response{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return Response{}, fmt.Errorf("%w (status %d) not followed", ErrRedirect, resp.StatusCode)
	}
	if resp.ContentLength > c.maxBytes {
		return Response{}, fmt.Errorf("%w: body longer than %d bytes", ErrRefused, c.maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err == nil {
		// On cancellation the transport sends close_notify, and a server
		// may answer by ending the body cleanly: a deadline is a failure
		// even if the read saw EOF.
		err = context.Cause(req.Context())
	}
	if err != nil {
		return Response{}, fmt.Errorf("reading body: %w", err)
	}
	if int64(len(body)) > c.maxBytes {
		return Response{}, fmt.Errorf("%w: body longer than %d bytes", ErrRefused, c.maxBytes)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// HTTPClient is c as a net/http client, for libraries that take one (the
// OpenID Connect relying party): each request passes the same checks
// (URL shape, address policy, timeout, body cap) and is read whole; a
// redirect is answered as an error, never followed.
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{Transport: roundTripper{c}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return fmt.Errorf("outbound: %w not followed", ErrRedirect)
	}}
}

type roundTripper struct{ c *Client }

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxRequestBytes+1))
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(b) > maxRequestBytes {
			return nil, fmt.Errorf("outbound: %w: request body longer than %d bytes", ErrRefused, maxRequestBytes)
		}
		body = b
	}
	if err := checkRequestHeader(req.Header); err != nil {
		return nil, fmt.Errorf("outbound: %w", err)
	}
	resp, err := rt.c.send(req.Context(), req.Method, req.URL.String(), req.Header, body)
	if err != nil {
		return nil, err
	}
	return &http.Response{Status: http.StatusText(resp.Status), StatusCode: resp.Status, Header: resp.Header, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(bytes.NewReader(resp.Body)), ContentLength: int64(len(resp.Body)), Request: req}, nil
}
