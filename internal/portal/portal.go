package portal

import (
	"context"
	"embed"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/awserrors"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/signin"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/websession"
)

// Paths, under the public URL's path.
const (
	PathSignIn    = "/signin"
	PathSessions  = signin.PathSessions
	PathConsent   = "/signin/authorize"
	PathScript    = "/signin/static/signin.js"
	PathStyle     = "/signin/static/signin.css"
	staticDir     = "/signin/static"
	eventSource   = "signin.amazonaws.com"
	maxFormBody   = 16 << 10
	credentialsTT = time.Hour // the credentials page's credentials, at most
)

// Users is what the pages need of the identities (the app's sign-in
// issuer over sts.Service).
type Users interface {
	// PasswordSignIn verifies a sign-in: who, and whether with MFA.
	PasswordSignIn(ctx context.Context, in sts.PasswordSignIn) (login.Principal, bool, error)
	// Authorize checks signin:AuthorizeOAuth2Access for p and client,
	// for a request from origin.
	Authorize(ctx context.Context, p login.Principal, client string, origin sts.Origin) error
	Credentials(ctx context.Context, p login.Principal, expires time.Time) (sts.Credentials, error)
}

// Codes issues authorization codes (login.Service).
type Codes interface {
	IssueCode(ctx context.Context, g login.Grant) (secret.String, error)
}

// Options wire a Handler.
type Options struct {
	Users    Users
	Sessions *signin.Sessions
	Codes    Codes
	// PublicURL is keyless's public URL without a trailing slash.
	PublicURL string
	// Region is the region of events and of the credentials page.
	Region string
	// SessionMax is a browser session's absolute life.
	SessionMax time.Duration
	// OIDC are the OpenID Connect providers the sign-in page offers:
	// name and the path that starts a sign-in with each.
	OIDC []Link
}

// Link is a way to sign in the sign-in page offers besides a password.
type Link struct{ Name, Path string }

// Handler serves the pages.
type Handler struct {
	o      Options
	prefix string // the public URL's path
	secure bool   // https: Secure cookies
	pages  *signin.Pages
}

//go:embed templates/*.html
var templateFS embed.FS

// formNonce ties the sign-in form to the page this browser was shown.
var formNonce = signin.Choice{Cookie: "keyless-signin-form", Field: "form"}

// New returns a Handler.
func New(o Options) *Handler {
	h := &Handler{o: o}
	if u, err := url.Parse(o.PublicURL); err == nil {
		h.prefix = strings.TrimRight(u.EscapedPath(), "/")
		h.secure = u.Scheme == "https"
	}
	h.pages = signin.NewPages("Sign-in", h.prefix+staticDir, templateFS, "templates/*.html")
	return h
}

// Surface mounts the pages. GET /v1/authorize shares its path with the
// authorization API (POST, JSON), which serves every other request.
func (h *Handler) Surface() *edge.Surface {
	ev := func(name string) *edge.Event {
		return &edge.Event{Source: eventSource, Name: name, Category: "Management", Management: true, Region: h.o.Region, Params: true}
	}
	route := func(pattern string, handle edge.Handler, event *edge.Event, op string) edge.Route {
		return edge.Route{Pattern: pattern, Handle: handle, Event: event, PostsOnly: true, MaxBody: maxFormBody, Operation: op}
	}
	authorize := route(PathAuthorize, h.authorize, nil, "AuthorizePage")
	authorize.Accepts = func(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }
	return &edge.Surface{Name: "signin", Wire: wire{signin.Wire{Pages: h.pages}, h}, Routes: []edge.Route{
		route(PathSignIn, h.signIn, ev("ConsoleLogin"), "SignInPage"),
		route(PathSessions, h.sessions, ev("UpdateSession"), "SessionsPage"),
		route(PathConsent, h.consent, ev("AuthorizeOAuth2Access"), "AuthorizeOAuth2Access"),
		authorize,
		route(PathConfirmation, h.confirmation, nil, "ConfirmationPage"),
		route(PathScript, file(signin.Script), nil, "Static"),
		route(PathStyle, file(signin.Style), nil, "Static"),
	}}
}

func file(f signin.File) edge.Handler {
	return func(c *edge.Call) (any, error) {
		if m := c.Request.Method; m != http.MethodGet && m != http.MethodHead {
			return nil, signin.MethodNotAllowed("GET, HEAD")
		}
		return f, nil
	}
}

// url is path under the public URL's path, for links and redirects.
func (h *Handler) url(path string) string { return h.prefix + path }

// browser is the request's browser and its sessions (none: ErrNone).
func (h *Handler) browser(c *edge.Call) (secret.String, websession.Browser, error) {
	return h.o.Sessions.Browser(c)
}

func unavailable(err error) *edge.Refusal {
	return &edge.Refusal{Code: "ServiceUnavailable", Message: "The sign-in service is unavailable. Try again.", Status: http.StatusServiceUnavailable,
		Reason: "sessions_unavailable", Cause: err}
}

func denied(reason, msg string) *edge.Refusal {
	return awserrors.New("AccessDenied", http.StatusForbidden, reason, msg)
}

// wire shows a refused sign-in as the form again, with the refusal's
// message; everything else as signin.Wire does.
type wire struct {
	signin.Wire
	h *Handler
}

func (w wire) Write(rw http.ResponseWriter, c *edge.Call, answer any, f *edge.Refusal) {
	if f != nil && c.Request.Method == http.MethodPost && c.Request.URL.Path == PathSignIn && f.Status < 500 && f.Status != http.StatusRequestEntityTooLarge {
		raw, _ := c.Body()
		form, _ := url.ParseQuery(string(raw))
		p := w.h.form(c, form.Get("next"), form.Get("account"), form.Get("username"))
		p.Status, p.Code, p.Message = f.Status, f.Code, f.Message
		p.Cookies = nil
		w.Wire.Write(rw, c, p, nil)
		return
	}
	w.Wire.Write(rw, c, answer, f)
}
