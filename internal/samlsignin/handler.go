package samlsignin

import (
	"context"
	"embed"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awserrors"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/signin"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Paths served besides BASE/REGION/saml.
const (
	// PathSignIn is the global sign-in page, as
	// https://signin.aws.amazon.com/saml.
	PathSignIn = "/saml"
	// PathMetadata is keyless's service provider metadata.
	PathMetadata = "/saml/metadata.xml"
	// PathScript and PathStyle are the pages' only script and style sheet.
	PathScript = "/saml/static/signin.js"
	PathStyle  = "/saml/static/signin.css"
)

// Bounds of a posted form.
const (
	// MaxBody bounds a POST body, read whole before it is parsed: the
	// largest SAMLResponse STS takes, form-encoded, and the rest (as the
	// STS edge, stsapi.DefaultMaxBody).
	MaxBody = 192 << 10
	// maxAssertion is SAMLAssertion's maximum length (STS API reference,
	// AssumeRoleWithSAML).
	maxAssertion = 100000
	// maxARN is the length limit of RoleArn and PrincipalArn (STS API
	// reference, arnType).
	maxARN = 2048
)

// Service is what the pages need of the domain: *sts.Service.
type Service interface {
	SAMLRoles(ctx context.Context, req sts.SAMLRolesRequest) (sts.SAMLOffer, error)
	SignInWithSAML(ctx context.Context, req sts.SAMLRequest) (sts.SAMLResult, sts.RoleSignIn, error)
}

// Options wire a Handler.
type Options struct {
	Service Service
	// BaseURL is keyless's public URL as browsers reach it, without a
	// trailing slash; the sign-in pages are BaseURL+"/saml" and
	// BaseURL+"/"+region+"/saml".
	BaseURL string
	// Regions are served at BASE/REGION/saml.
	Regions []string
	// Region is the region of sessions signed in at BASE/saml and of
	// audit events there; Regions[0] (or us-east-1) when empty.
	Region string
	// EntityID is keyless's SP entity ID in its metadata; the first
	// accepted audience. Default urn:amazon:webservices.
	EntityID string
	// SignInURLs are the assertion consumer service URLs the metadata
	// lists, the first the default. Default: BASE/saml and
	// BASE/REGION/saml for each region.
	SignInURLs []string
	// STSEndpoint is the endpoint URL printed for the CLI. Default
	// BaseURL.
	STSEndpoint string
	// Sessions, if set, keeps the sign-in as a browser session (for aws
	// login and the sessions page), its principal made by Principal.
	Sessions  *signin.Sessions
	Principal func(sts.RoleSignIn) (login.Principal, error)
}

// Handler serves the sign-in pages, the metadata and the static files.
type Handler struct {
	o        Options
	base     string          // BaseURL without a trailing slash
	prefix   string          // BaseURL's path
	regions  map[string]bool // served at /REGION/saml
	metadata []byte
	pages    *signin.Pages
}

//go:embed templates/*.html
var templateFS embed.FS

// choice ties a role choice to the chooser (signin.Choice).
var choice = signin.Choice{Cookie: nonceCookie, Field: "signin"}

// nonceCookie carries the chooser's nonce (SameSite=Strict, HttpOnly).
const nonceCookie = "keyless-saml-signin"

// New returns a Handler, with the defaults of Options filled in.
func New(o Options) *Handler {
	base := strings.TrimRight(o.BaseURL, "/")
	if o.Region == "" {
		o.Region = "us-east-1"
		if len(o.Regions) > 0 {
			o.Region = o.Regions[0]
		}
	}
	if o.EntityID == "" {
		o.EntityID = DefaultEntityID
	}
	if len(o.SignInURLs) == 0 {
		o.SignInURLs = append(o.SignInURLs, base+PathSignIn)
		for _, r := range o.Regions {
			o.SignInURLs = append(o.SignInURLs, base+"/"+r+PathSignIn)
		}
	}
	if o.STSEndpoint == "" {
		o.STSEndpoint = base
	}
	h := &Handler{o: o, base: base, regions: map[string]bool{}}
	for _, r := range o.Regions {
		h.regions[r] = true
	}
	static := "/saml/static"
	if u, err := url.Parse(base); err == nil {
		h.prefix = strings.TrimRight(u.EscapedPath(), "/")
		static = h.prefix + "/saml/static"
	}
	h.metadata = Metadata(o.EntityID, o.SignInURLs)
	h.pages = signin.NewPages("SAML sign-in", static, templateFS, "templates/*.html")
	return h
}

// Surface is the sign-in pages at /saml and /REGION/saml (any single
// path segment: an unconfigured region is answered 404, with a page), the
// metadata and the static files. Every POST records one event.
func (h *Handler) Surface() *edge.Surface {
	event := &edge.Event{Source: "keyless", Name: EventRoles, Category: "Data", Region: h.o.Region, ReadOnly: true, Params: true}
	route := func(pattern string, handle edge.Handler) edge.Route {
		return edge.Route{Pattern: pattern, Handle: handle, Event: event, PostsOnly: true, MaxBody: MaxBody, Operation: "SAMLSignInPage"}
	}
	return &edge.Surface{Name: "signin", Wire: signin.Wire{Pages: h.pages}, Routes: []edge.Route{
		route(PathSignIn, h.page),
		route("/{region}"+PathSignIn, h.page),
		route(PathMetadata, h.file(signin.File{Body: h.metadata, Type: metadataMediaType})),
		route(PathScript, h.file(signin.Script)),
		route(PathStyle, h.file(signin.Style)),
	}}
}

// file serves a document: GET and HEAD only.
func (h *Handler) file(f signin.File) edge.Handler {
	return func(c *edge.Call) (any, error) {
		if m := c.Request.Method; m != http.MethodGet && m != http.MethodHead {
			return nil, signin.MethodNotAllowed("GET, HEAD")
		}
		return f, nil
	}
}

// page serves a sign-in page: the landing page, or a posted sign-in.
func (h *Handler) page(c *edge.Call) (any, error) {
	region, ok := h.route(c.Request)
	switch m := c.Request.Method; {
	case !ok:
		return nil, notFound()
	case m == http.MethodPost:
		return h.signIn(c, region)
	case m != http.MethodGet && m != http.MethodHead:
		return nil, signin.MethodNotAllowed("GET, HEAD, POST")
	}
	return &signin.Page{Name: "landing", Title: "SAML sign-in", Method: landing{SignInURL: h.signInURL(region), MetadataURL: h.base + PathMetadata}}, nil
}

// landing is the landing page's own data.
type landing struct{ SignInURL, MetadataURL string }

// route is the region of a sign-in path ("" for /saml); false for a
// region not served.
func (h *Handler) route(r *http.Request) (string, bool) {
	region := r.PathValue("region")
	return region, region == "" || h.regions[region]
}

// signInURL is the page's own URL: the only Recipient its assertions
// may name (SAML profiles 4.1.4.2).
func (h *Handler) signInURL(region string) string {
	if region == "" {
		return h.base + PathSignIn
	}
	return h.base + "/" + region + PathSignIn
}

func notFound() *edge.Refusal {
	return awserrors.New("NotFound", http.StatusNotFound, "path_not_found", "There is no SAML sign-in page at this address.")
}

// signIn reads the posted form (SAML bindings 3.5.4) and lists the roles
// or, with a role chosen, signs in.
func (h *Handler) signIn(c *edge.Call, region string) (any, error) {
	ev := c.Event
	recipient := h.signInURL(region)
	if region == "" {
		region = h.o.Region
	}
	ev.AWSRegion = region
	ev.RequestParameters["recipient"] = recipient
	form, err := signin.ReadForm(c, "SAMLResponse", "RelayState", "role")
	if err != nil {
		return nil, err
	}
	// The binding's base64 may be broken into lines (RFC 2045); the
	// decoded bytes are the same without them.
	assertion := strings.Map(func(c rune) rune {
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			return -1
		}
		return c
	}, form.Get("SAMLResponse"))
	switch {
	case assertion == "":
		return nil, signin.Invalid("assertion_missing", "The form has no SAMLResponse. Start the sign-in from your identity provider.")
	case len(assertion) > maxAssertion:
		return nil, signin.Invalid("assertion_too_long", "SAMLResponse must be at most 100000 characters.")
	}
	if _, chosen := form["role"]; chosen {
		if !choice.Check(c.Request, form) {
			return nil, awserrors.New("AccessDenied", http.StatusForbidden, "chooser_not_shown",
				"Choose the role on the sign-in page. Start the sign-in from your identity provider.")
		}
		return h.assume(c, form.Get("role"), assertion, recipient, region)
	}
	return h.roles(c, assertion, recipient)
}

// roles verifies the assertion and renders the role chooser.
func (h *Handler) roles(c *edge.Call, assertion, recipient string) (any, error) {
	ev := c.Event
	offer, err := h.o.Service.SAMLRoles(c.Context(), sts.SAMLRolesRequest{Assertion: secret.NewString(assertion), Recipient: recipient})
	recordOffer(ev, offer)
	if err != nil {
		return nil, err
	}
	groups, values := signin.Chooser(roles(offer.Roles))
	ev.ResponseElements = map[string]any{"roles": values}
	if len(values) == 0 {
		return nil, awserrors.New("AccessDenied", http.StatusForbidden, "no_roles", "The SAML response offers no role to sign in to.")
	}
	nonce, cookie, err := choice.New(c.Random(), c.Request.TLS != nil)
	if err != nil {
		return nil, awserrors.New("InternalFailure", http.StatusInternalServerError, "random_failed", awserrors.MsgInternal)
	}
	return &signin.Page{Name: "chooser", Title: "Select a role", Subject: offer.Subject, Groups: groups,
		Hidden: []signin.Field{{Name: "SAMLResponse", Value: assertion}}, Nonce: nonce, Cookies: []*http.Cookie{cookie}}, nil
}

// roles are the chooser's roles: the Role attribute's pairs.
func roles(pairs []saml.RolePair) []signin.Role {
	out := make([]signin.Role, len(pairs))
	for i, p := range pairs {
		out[i] = signin.Role{ARN: p.Role, Provider: p.Provider}
	}
	return out
}

// assume exchanges the assertion for a session of the chosen role and
// renders the credentials page.
func (h *Handler) assume(c *edge.Call, choice, assertion, recipient, region string) (any, error) {
	ev := c.Event
	ev.EventSource, ev.EventName = audit.EventSource, EventAssume
	ev.ReadOnly, ev.ManagementEvent, ev.EventCategory = false, true, audit.Category
	ev.RequestParameters = map[string]any{}
	role, provider, ok := splitPair(choice)
	if !ok {
		return nil, signin.Invalid("role_malformed", "The chosen role is not a role ARN and a SAML provider ARN.")
	}
	ev.RequestParameters["roleArn"], ev.RequestParameters["principalArn"] = role, provider
	res, in, err := h.o.Service.SignInWithSAML(c.Context(), sts.SAMLRequest{
		RoleARN: role, PrincipalARN: provider, Assertion: secret.NewString(assertion), Recipient: recipient,
		Origin: c.Origin(region),
	})
	recordAssume(ev, res)
	if err != nil {
		return nil, err
	}
	view, ok := signin.NewCredentials(role, region, h.o.STSEndpoint, res.AssumeRoleResult)
	if !ok {
		return nil, &edge.Refusal{Code: "InternalFailure", Message: awserrors.MsgInternal, Status: http.StatusInternalServerError,
			Reason: "credentials_unprintable"}
	}
	page := &signin.Page{Name: "credentials", Title: "Signed in", Subject: res.Subject, Issuer: res.Issuer, Creds: view}
	if h.o.Sessions != nil {
		p, err := h.o.Principal(in)
		if err != nil {
			return nil, err
		}
		cookie, err := h.o.Sessions.Start(c, p, "saml", in.Ends.Sub(in.SignedInAt))
		if err != nil {
			return nil, &edge.Refusal{Code: "ServiceUnavailable", Message: "The sign-in service is unavailable. Try again.",
				Status: http.StatusServiceUnavailable, Reason: "sessions_unavailable", Cause: err}
		}
		page.Cookies, page.SessionsURL = []*http.Cookie{cookie}, h.prefix+"/signin/sessions"
	}
	return page, nil
}

// splitPair reads a chooser value "ROLEARN,PROVIDERARN".
func splitPair(v string) (role, provider string, ok bool) {
	role, provider, ok = strings.Cut(v, ",")
	if !ok || strings.Contains(provider, ",") || len(role) > maxARN || len(provider) > maxARN ||
		!strings.HasPrefix(role, "arn:") || !strings.Contains(role, ":role/") ||
		!strings.HasPrefix(provider, "arn:") || !strings.Contains(provider, ":saml-provider/") {
		return "", "", false
	}
	return role, provider, true
}
