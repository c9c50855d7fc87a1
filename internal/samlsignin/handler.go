package samlsignin

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/stsapi"
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

// Security headers of every response.
const (
	// CSP allows only the page's own script and style sheet: no inline
	// script or style, no framing, forms posted back to keyless only.
	CSP = "default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

// Service is what the pages need of the domain: *sts.Service.
type Service interface {
	SAMLRoles(ctx context.Context, req sts.SAMLRolesRequest) (sts.SAMLOffer, error)
	AssumeRoleWithSAML(ctx context.Context, req sts.SAMLRequest) (sts.SAMLResult, error)
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
	Audit  audit.Recorder
	Clock  clock.Clock
	Random io.Reader
	Logger *slog.Logger
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
}

// Handler serves the sign-in pages, the metadata and the static files.
type Handler struct {
	o        Options
	base     string          // BaseURL without a trailing slash
	static   string          // root-relative path of the static files
	regions  map[string]bool // served at /REGION/saml
	metadata []byte
	pages    *template.Template
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/signin.js static/signin.css
var staticFS embed.FS

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
	if u, err := url.Parse(base); err == nil {
		h.static = strings.TrimRight(u.EscapedPath(), "/") + "/saml/static"
	} else {
		h.static = "/saml/static"
	}
	h.metadata = Metadata(o.EntityID, o.SignInURLs)
	h.pages = template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))
	return h
}

// Serves reports whether path is one of the handler's: /saml, its
// metadata and static files, and /SEGMENT/saml for any single path
// segment (an unconfigured region is answered 404 here, with a page).
func (h *Handler) Serves(path string) bool {
	switch path {
	case PathSignIn, PathMetadata, PathScript, PathStyle:
		return true
	}
	_, ok := regionOf(path)
	return ok
}

// regionOf is REGION of a path /REGION/saml.
func regionOf(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return "", false
	}
	region, ok := strings.CutSuffix(rest, PathSignIn)
	if !ok || region == "" || strings.Contains(region, "/") {
		return "", false
	}
	return region, true
}

// signInURL is the page's own URL: the only Recipient its assertions
// may name (SAML profiles 4.1.4.2).
func (h *Handler) signInURL(region string) string {
	if region == "" {
		return h.base + PathSignIn
	}
	return h.base + "/" + region + PathSignIn
}

// setHeaders sets the headers of every response: no caching of pages
// that carry assertions or credentials, no framing, no sniffing, no
// referrer.
func setHeaders(hdr http.Header) {
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Content-Security-Policy", CSP)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
}

// ServeHTTP routes a request. Every POST records exactly one audit event.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setHeaders(w.Header())
	requestID := audit.UUID(h.o.Random)
	w.Header().Set("x-amzn-RequestId", requestID)
	if r.Method == http.MethodPost {
		switch r.URL.Path {
		case PathMetadata, PathScript, PathStyle:
			w.Header().Set("Allow", "GET, HEAD")
		}
		h.post(w, r, requestID)
		return
	}
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch r.URL.Path {
	case PathMetadata, PathScript, PathStyle:
		if !get {
			h.methodNotAllowed(w, requestID, "GET, HEAD")
			return
		}
		h.file(w, r.URL.Path)
		return
	}
	region, ok := h.route(r.URL.Path)
	switch {
	case !ok:
		h.fail(w, requestID, notFound())
	case !get:
		h.methodNotAllowed(w, requestID, "GET, HEAD, POST")
	default:
		h.render(w, http.StatusOK, "landing", &page{Title: "SAML sign-in", RequestID: requestID, SignInURL: h.signInURL(region),
			MetadataURL: h.base + PathMetadata})
	}
}

// route is the region of a sign-in path ("" for /saml); false for any
// other path or a region not served.
func (h *Handler) route(path string) (string, bool) {
	if path == PathSignIn {
		return "", true
	}
	region, ok := regionOf(path)
	return region, ok && h.regions[region]
}

// file serves the metadata or a static file.
func (h *Handler) file(w http.ResponseWriter, path string) {
	var (
		body  []byte
		ctype string
	)
	switch path {
	case PathMetadata:
		// SAML metadata 4.1.1: the metadata MIME type.
		body, ctype = h.metadata, metadataMediaType
	case PathScript:
		body, _ = staticFS.ReadFile("static/signin.js")
		ctype = "text/javascript; charset=utf-8"
	case PathStyle:
		body, _ = staticFS.ReadFile("static/signin.css")
		ctype = "text/css; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// failure is a refusal as the page shows it: AWS error code, message,
// HTTP status, and the reason for the audit log.
type failure struct {
	code, msg string
	status    int
	reason    string
	encoded   string
}

func notFound() *failure {
	return &failure{code: "NotFound", msg: "There is no SAML sign-in page at this address.", status: http.StatusNotFound, reason: "path_not_found"}
}

func invalid(reason, msg string) *failure {
	return &failure{code: "ValidationError", msg: msg, status: http.StatusBadRequest, reason: reason}
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, requestID, allow string) {
	w.Header().Set("Allow", allow)
	h.fail(w, requestID, &failure{code: "MethodNotAllowed", msg: "This page accepts only " + allow + ".",
		status: http.StatusMethodNotAllowed, reason: "method_not_allowed"})
}

// domainFailure maps a domain error through the STS error table.
func (h *Handler) domainFailure(err error, requestID string) *failure {
	d := stsapi.Describe(err)
	if d.Status >= 500 {
		h.o.Logger.Error("SAML sign-in failed", "request_id", requestID, "code", d.Code, "reason", d.Reason, "err", err)
	}
	return &failure{code: d.Code, msg: d.Message, status: d.Status, reason: d.Reason, encoded: d.Encoded}
}

// post serves a form posted to a sign-in page and records its event.
func (h *Handler) post(w http.ResponseWriter, r *http.Request, requestID string) {
	h.o.Audit.Begin()
	start := h.o.Clock.Now()
	ev := &audit.Event{
		EventVersion: audit.EventVersion, UserIdentity: audit.UserIdentity{Type: "Unknown"},
		EventTime: start.UTC().Format(time.RFC3339), EventSource: "keyless", EventName: EventRoles,
		AWSRegion: h.o.Region, SourceIPAddress: stsapi.RemoteIP(r), UserAgent: r.UserAgent(),
		RequestID: requestID, EventID: audit.UUID(h.o.Random), EventType: audit.EventType,
		ReadOnly: true, ManagementEvent: false, EventCategory: "Data",
		RequestParameters: map[string]any{},
	}
	var (
		p *page
		f *failure
	)
	func() {
		defer func() {
			if v := recover(); v != nil {
				h.o.Logger.Error("panic in the SAML sign-in", "request_id", requestID, "panic", fmt.Sprint(v))
				p, f = nil, &failure{code: "InternalFailure", msg: "An internal error occurred.", status: http.StatusInternalServerError, reason: "panic"}
			}
		}()
		p, f = h.signIn(r, ev)
	}()
	if f != nil {
		ev.ErrorCode, ev.ErrorMessage = f.code, f.msg
		if ev.AdditionalEventData == nil {
			ev.AdditionalEventData = map[string]string{}
		}
		ev.AdditionalEventData["reason"] = f.reason
		ev.ResponseElements = nil
		ev.IssuedKeyID = ""
	}
	// Stored before anything is sent; nothing is handed out unrecorded.
	if err := h.o.Audit.Record(r.Context(), ev, start, true); err != nil {
		h.o.Logger.Error("audit event not stored; refusing the sign-in", "request_id", requestID, "event", ev.EventName, "err", err)
		p, f = nil, &failure{code: "ServiceUnavailable", msg: "Service is temporarily unavailable. Please try again.",
			status: http.StatusServiceUnavailable, reason: "audit_unavailable"}
	}
	if f != nil {
		h.fail(w, requestID, f)
		return
	}
	p.RequestID = requestID
	h.render(w, http.StatusOK, p.kind, p)
}

// signIn reads the posted form (SAML bindings 3.5.4) and lists the roles
// or, with a role chosen, signs in.
func (h *Handler) signIn(r *http.Request, ev *audit.Event) (*page, *failure) {
	region, ok := h.route(r.URL.Path)
	if !ok {
		if r.URL.Path == PathMetadata || r.URL.Path == PathScript || r.URL.Path == PathStyle {
			return nil, &failure{code: "MethodNotAllowed", msg: "This page accepts only GET, HEAD.", status: http.StatusMethodNotAllowed, reason: "method_not_allowed"}
		}
		return nil, notFound()
	}
	recipient := h.signInURL(region)
	if region == "" {
		region = h.o.Region
	}
	ev.AWSRegion = region
	ev.RequestParameters["recipient"] = recipient
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &failure{code: "UnsupportedMediaType", msg: "Post the form as application/x-www-form-urlencoded.",
			status: http.StatusUnsupportedMediaType, reason: "content_type"}
	}
	raw, err := readBody(r)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &failure{code: "RequestEntityTooLarge", msg: fmt.Sprintf("Request body must be at most %d bytes.", MaxBody),
				status: http.StatusRequestEntityTooLarge, reason: "body_too_large"}
		}
		return nil, &failure{code: "IncompleteBody", msg: "The request body could not be read.", status: http.StatusBadRequest, reason: "body_unreadable"}
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, invalid("form_malformed", "The form is not valid application/x-www-form-urlencoded.")
	}
	for _, k := range []string{"SAMLResponse", "RelayState", "role"} {
		if len(form[k]) > 1 {
			return nil, invalid("parameter_repeated", "The form field "+k+" is given more than once.")
		}
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
		return nil, invalid("assertion_missing", "The form has no SAMLResponse. Start the sign-in from your identity provider.")
	case len(assertion) > maxAssertion:
		return nil, invalid("assertion_too_long", "SAMLResponse must be at most 100000 characters.")
	}
	if _, chosen := form["role"]; chosen {
		// The choice must come from the chooser this browser was shown:
		// a cross-site form cannot send the SameSite cookie (login CSRF).
		c, err := r.Cookie(nonceCookie)
		if err != nil || c.Value == "" || len(form["signin"]) != 1 || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form.Get("signin"))) != 1 {
			return nil, &failure{code: "AccessDenied", msg: "Choose the role on the sign-in page. Start the sign-in from your identity provider.",
				status: http.StatusForbidden, reason: "chooser_not_shown"}
		}
		return h.assume(r, ev, form.Get("role"), assertion, recipient, region)
	}
	return h.roles(r, ev, assertion, recipient)
}

// nonceCookie carries the chooser's nonce (SameSite=Strict, HttpOnly).
const nonceCookie = "keyless-saml-signin"

// readBody reads at most MaxBody bytes.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, &http.MaxBytesError{Limit: MaxBody}
	}
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
}

// roles verifies the assertion and renders the role chooser.
func (h *Handler) roles(r *http.Request, ev *audit.Event, assertion, recipient string) (*page, *failure) {
	offer, err := h.o.Service.SAMLRoles(r.Context(), sts.SAMLRolesRequest{Assertion: secret.NewString(assertion), Recipient: recipient})
	recordOffer(ev, offer)
	if err != nil {
		return nil, h.domainFailure(err, ev.RequestID)
	}
	groups, pairs := chooser(offer)
	ev.ResponseElements = map[string]any{"roles": pairs}
	if len(pairs) == 0 {
		return nil, &failure{code: "AccessDenied", msg: "The SAML response offers no role to sign in to.", status: http.StatusForbidden, reason: "no_roles"}
	}
	nonce := make([]byte, 16)
	if _, err := io.ReadFull(h.o.Random, nonce); err != nil {
		return nil, &failure{code: "InternalFailure", msg: "An internal error occurred.", status: http.StatusInternalServerError, reason: "random_failed"}
	}
	n := hex.EncodeToString(nonce)
	return &page{kind: "chooser", Title: "Select a role", SignInURL: recipient, Subject: offer.Subject,
		Groups: groups, Assertion: assertion, Nonce: n,
		cookie: &http.Cookie{Name: nonceCookie, Value: n, Path: "/", MaxAge: 600, HttpOnly: true,
			Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}}, nil
}

// assume exchanges the assertion for a session of the chosen role and
// renders the credentials page.
func (h *Handler) assume(r *http.Request, ev *audit.Event, choice, assertion, recipient, region string) (*page, *failure) {
	ev.EventSource, ev.EventName = audit.EventSource, EventAssume
	ev.ReadOnly, ev.ManagementEvent, ev.EventCategory = false, true, audit.Category
	ev.RequestParameters = map[string]any{}
	role, provider, ok := splitPair(choice)
	if !ok {
		return nil, invalid("role_malformed", "The chosen role is not a role ARN and a SAML provider ARN.")
	}
	ev.RequestParameters["roleArn"], ev.RequestParameters["principalArn"] = role, provider
	res, err := h.o.Service.AssumeRoleWithSAML(r.Context(), sts.SAMLRequest{
		RoleARN: role, PrincipalARN: provider, Assertion: secret.NewString(assertion), Recipient: recipient,
		Origin: sts.Origin{SourceIP: stsapi.RemoteIP(r), SecureTransport: r.TLS != nil, Region: region},
	})
	recordAssume(ev, res)
	if err != nil {
		return nil, h.domainFailure(err, ev.RequestID)
	}
	view, ok := h.credentials(role, region, res)
	if !ok {
		h.o.Logger.Error("issued credentials have characters the page cannot show", "request_id", ev.RequestID)
		return nil, &failure{code: "InternalFailure", msg: "An internal error occurred.", status: http.StatusInternalServerError, reason: "credentials_unprintable"}
	}
	return &page{kind: "credentials", Title: "Signed in", SignInURL: recipient, Subject: res.Subject, Issuer: res.Issuer, Creds: view}, nil
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

// render writes a page.
func (h *Handler) render(w http.ResponseWriter, status int, name string, p *page) {
	p.Static = h.static
	var buf bytes.Buffer
	if err := h.pages.ExecuteTemplate(&buf, name, p); err != nil {
		h.o.Logger.Error("rendering a SAML sign-in page failed", "request_id", p.RequestID, "page", name, "err", err)
		buf.Reset()
		status = http.StatusInternalServerError
		buf.WriteString("<!doctype html><title>Internal error</title><p>An internal error occurred.</p>\n")
	}
	hdr := w.Header()
	if p.cookie != nil && status == http.StatusOK {
		http.SetCookie(w, p.cookie)
	}
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders the error page: code, message and request id, never
// anything of the posted form.
func (h *Handler) fail(w http.ResponseWriter, requestID string, f *failure) {
	h.render(w, f.status, "error", &page{Title: "Sign-in failed", RequestID: requestID, Code: f.code, Message: f.msg, Encoded: f.encoded})
}
