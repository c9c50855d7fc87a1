package edge

import (
	"crypto/sha256"
	"net/url"

	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Authenticate verifies the request's SigV4 signature for service,
// records in the event who signed it (the access key as soon as the
// signature parses, the caller once it verifies), and returns the caller
// with the request's origin. query is the parsed query string, nil to
// parse it here; body is the whole body. On an error the caller may be set
// (a verified signature whose session was refused) but must not be used.
func (c *Call) Authenticate(auth *sigauth.Authenticator, service string, query url.Values, body []byte) (*sts.Caller, error) {
	r := c.Request
	if query == nil {
		query = r.URL.Query()
	}
	req := &sigv4.Request{
		Method:     r.Method,
		EscapedURI: r.URL.EscapedPath(),
		Query:      query,
		Host:       r.Host,
		Header:     r.Header,
		BodySHA256: sha256.Sum256(body),
	}
	res, err := auth.Authenticate(c.Context(), req, service, c.Now())
	ev := c.Event
	if sig := res.Signed; sig != nil && ev != nil {
		ev.UserIdentity.AccessKeyID = sig.AccessKeyID
		ev.AWSRegion = sig.Scope.Region
	}
	caller := res.Caller
	if caller != nil {
		caller.Origin = sts.Origin{SourceIP: c.SourceIP, SecureTransport: r.TLS != nil, Region: res.Signed.Scope.Region}
		if ev != nil {
			ev.UserIdentity = CallerIdentity(caller)
			ev.RecipientAccountID = caller.Principal.Account
		}
	}
	if err == nil && caller != nil {
		c.authenticated = true
	}
	return caller, err
}

// Origin is where the request came from, for an unauthenticated action
// whose region is the server's: the condition keys aws:SourceIp,
// aws:SecureTransport and aws:RequestedRegion.
func (c *Call) Origin(region string) sts.Origin {
	return sts.Origin{SourceIP: c.SourceIP, SecureTransport: c.Request.TLS != nil, Region: region}
}

// Proven notes that the caller proved who it is other than by SigV4: a
// password that matched, a browser session whose form token checked. Its
// request, answered, then does not spend its source's budget of refused
// requests (Limits), as a signed one does not.
func (c *Call) Proven() { c.authenticated = true }
