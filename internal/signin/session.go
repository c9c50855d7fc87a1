package signin

import (
	"net/http"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/websession"
)

// Sessions is the browser session every sign-in method ends in: its
// cookie (HttpOnly, SameSite=Lax, Secure and __Host- prefixed on https)
// and the store behind it.
type Sessions struct {
	Store  *websession.Service
	Secure bool          // the public URL is https
	MaxAge time.Duration // the cookie's, the sessions' absolute life
}

// CookieName is the session cookie's name.
func (s *Sessions) CookieName() string {
	if s.Secure {
		return "__Host-keyless-session" // RFC 6265bis section 4.1.3.2
	}
	return "keyless-session"
}

// Cookie carries a browser's cookie value; "" clears it.
func (s *Sessions) Cookie(v secret.String) *http.Cookie {
	c := &http.Cookie{Name: s.CookieName(), Value: v.Reveal(), Path: "/", MaxAge: int(s.MaxAge / time.Second), HttpOnly: true,
		Secure: s.Secure, SameSite: http.SameSiteLaxMode}
	if v.IsZero() {
		c.MaxAge = -1
	}
	return c
}

// Browser is the request's cookie and its browser's sessions
// (websession.ErrNone if it has none).
func (s *Sessions) Browser(c *edge.Call) (secret.String, websession.Browser, error) {
	ck, err := c.Request.Cookie(s.CookieName())
	if err != nil {
		return secret.String{}, websession.Browser{}, websession.ErrNone
	}
	cookie := secret.NewString(ck.Value)
	b, err := s.Store.Load(c.Context(), cookie)
	return cookie, b, err
}

// Start adds p's session to the request's browser and returns the cookie
// to set: a new value at every sign-in, whatever the browser presented
// (session fixation), the old one forgotten.
func (s *Sessions) Start(c *edge.Call, p login.Principal, method string, maxSession time.Duration) (*http.Cookie, error) {
	var old secret.String
	if ck, err := c.Request.Cookie(s.CookieName()); err == nil {
		old = secret.NewString(ck.Value)
	}
	fresh, _, err := s.Store.SignIn(c.Context(), old, websession.Session{Principal: p, Method: method, MaxSession: maxSession})
	if err != nil {
		return nil, err
	}
	return s.Cookie(fresh), nil
}

// Paths every sign-in method continues to.
const (
	// PathSessions is the browser's sessions page.
	PathSessions = "/signin/sessions"
	// PathAuthorize is aws login's authorization request.
	PathAuthorize = "/v1/authorize"
)

// Next is where a sign-in continues, given the path it was asked to: an
// aws login authorization request, else the sessions page. Never a URL a
// request chose (no open redirect).
func Next(v string) string {
	if strings.HasPrefix(v, PathAuthorize+"?") && len(v) <= 4096 && !strings.ContainsAny(v, "\r\n#\\") {
		return v
	}
	return PathSessions
}
