package portal

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/signin"
	"github.com/keyless-dev/keyless/internal/websession"
)

// consentView is the consent page's own data.
type consentView struct {
	Action, Request, CSRF, SignInURL string
	CrossDevice                      bool
	Callback                         string // same-device: the loopback address credentials go to
	Sessions                         []sessionView
}

// confirmationView is the cross-device page's own data: what to paste
// back into the CLI.
type confirmationView struct{ Code string }

// refuseAuthorize shows a refused authorization request: back to the
// client's redirect when it is a valid one (RFC 6749 section 4.1.2.1),
// else as a page.
func refuseAuthorize(err error) (any, error) {
	ae, ok := errors.AsType[*AuthorizeError](err)
	if !ok {
		return nil, err
	}
	if ae.Redirect != "" {
		return &signin.Redirect{URL: ae.Redirect}, nil
	}
	return nil, signin.Invalid(ae.Reason, ae.Msg)
}

// authorize is GET /v1/authorize: an aws login client's authorization
// request. With no session in this browser, sign in first and come back;
// with sessions, ask which one, and whether to allow.
func (h *Handler) authorize(c *edge.Call) (any, error) {
	raw := c.Request.URL.RawQuery
	req, err := ParseAuthorize(raw, h.o.PublicURL)
	if err != nil {
		return refuseAuthorize(err)
	}
	_, b, err := h.browser(c)
	switch {
	case errors.Is(err, websession.ErrNone):
		return &signin.Redirect{URL: h.url(PathSignIn) + "?next=" + url.QueryEscape(PathAuthorize+"?"+raw)}, nil
	case err != nil:
		return nil, unavailable(err)
	}
	v := consentView{Action: h.url(PathConsent), Request: raw, CSRF: b.FormToken(purposeAuthorize),
		SignInURL:   h.url(PathSignIn) + "?next=" + url.QueryEscape(PathAuthorize+"?"+raw),
		CrossDevice: req.Client == login.CrossDevice, Sessions: h.views(b)}
	p := &signin.Page{Name: "consent", Title: "Allow access", Method: v}
	if !v.CrossDevice {
		// The allowed form ends at the CLI's loopback callback.
		v.Callback = req.RedirectURI
		u, _ := url.Parse(req.RedirectURI)
		p.Method, p.FormTargets = v, []string{"http://" + u.Host}
	}
	return p, nil
}

// consent is the consent form's post: the chosen session allows (or
// denies) the client, which gets an authorization code for it
// (AuthorizeOAuth2Access).
func (h *Handler) consent(c *edge.Call) (any, error) {
	if c.Request.Method != http.MethodPost {
		return nil, signin.MethodNotAllowed("POST")
	}
	ev := c.Event
	form, err := signin.ReadForm(c, "request", "csrf", "session", "decision")
	if err != nil {
		return nil, err
	}
	req, err := ParseAuthorize(form.Get("request"), h.o.PublicURL)
	if err != nil {
		return refuseAuthorize(err)
	}
	// CloudTrail's AuthorizeOAuth2Access parameters (never the state or
	// the challenge).
	ev.RequestParameters["client_id"], ev.RequestParameters["redirect_uri"] = req.Client, req.RedirectURI
	ev.RequestParameters["scope"], ev.RequestParameters["code_challenge_method"] = req.Scope, "SHA-256"
	ev.AdditionalEventData = map[string]string{"success": "false"}
	_, b, err := h.browser(c)
	switch {
	case errors.Is(err, websession.ErrNone):
		return nil, denied("no_session", "This browser has no session. Start again with aws login.")
	case err != nil:
		return nil, unavailable(err)
	}
	if !b.CheckForm(purposeAuthorize, form.Get("csrf")) {
		return nil, denied("csrf_token_invalid", "The form is not this browser's. Start again with aws login.")
	}
	i := slices.IndexFunc(b.Sessions, func(s websession.Session) bool { return s.ID == form.Get("session") })
	if i < 0 {
		return nil, denied("session_unknown", "This browser has no such session. Start again with aws login.")
	}
	s := b.Sessions[i]
	ev.UserIdentity = signin.UserIdentity(s.Principal)
	c.Proven() // a form of a signed-in browser, for one of its sessions
	if form.Get("decision") != "allow" {
		ev.AdditionalEventData["decision"] = "deny"
		if req.Client == login.SameDevice {
			return &signin.Redirect{URL: withQuery(req.RedirectURI, "error", "access_denied", "state", req.State)}, nil
		}
		return nil, denied("consent_denied", "You did not allow access. Nothing was issued.")
	}
	if err := h.o.Users.Authorize(c.Context(), s.Principal, req.Client, c.Origin(h.o.Region)); err != nil {
		return nil, err
	}
	code, err := h.o.Codes.IssueCode(c.Context(), login.Grant{Client: req.Client, RedirectURI: req.RedirectURI, Challenge: req.Challenge,
		Principal: s.Principal, SignedInAt: s.SignedInAt, MaxSession: s.MaxSession})
	if err != nil {
		return nil, unavailable(err)
	}
	ev.AdditionalEventData["success"] = "true"
	if req.Client == login.SameDevice {
		// iss: RFC 9207 (the authorization server's identifier).
		return &signin.Redirect{URL: withQuery(req.RedirectURI, "code", code.Reveal(), "state", req.State, "iss", h.o.PublicURL)}, nil
	}
	return confirmationPage(req.State, code.Reveal()), nil
}

// confirmation is the cross-device redirect URI. The consent itself
// shows the code to paste (confirmationPage); this page only says how
// to get one, whatever its query says (it would show any code a link
// put there, on keyless's own origin).
func (h *Handler) confirmation(c *edge.Call) (any, error) {
	if m := c.Request.Method; m != http.MethodGet && m != http.MethodHead {
		return nil, signin.MethodNotAllowed("GET, HEAD")
	}
	return &signin.Page{Name: "confirmation", Title: "Sign-in code"}, nil
}

func confirmationPage(state, code string) *signin.Page {
	v := "state=" + url.QueryEscape(state) + "&code=" + url.QueryEscape(code)
	return &signin.Page{Name: "confirmation", Title: "Sign-in code",
		Method: confirmationView{Code: base64.StdEncoding.EncodeToString([]byte(v))}}
}

// withQuery adds name/value pairs to a redirect URI's query (RFC 6749
// section 4.1.2).
func withQuery(uri string, kv ...string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}
