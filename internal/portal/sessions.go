package portal

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/signin"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/websession"
)

// sessionView is one session on a page.
type sessionView struct {
	ID, ARN, Account, Name, Method string
	SignedInAt, Ends               string
	Current                        bool
}

// sessionsView is the sessions page's own data.
type sessionsView struct {
	Action, SignInURL, CSRF string
	Sessions                []sessionView
}

func (h *Handler) views(b websession.Browser) []sessionView {
	out := make([]sessionView, len(b.Sessions))
	for i, s := range b.Sessions {
		id := signin.UserIdentity(s.Principal)
		name := id.UserName
		if _, session, ok := strings.Cut(s.Principal.ARN, ":assumed-role/"); ok {
			name = session // ROLE/SESSION
		} else if name == "" {
			name = s.Principal.ARN
		}
		out[i] = sessionView{ID: s.ID, ARN: s.Principal.ARN, Account: id.AccountID, Name: name, Method: methodNames[s.Method],
			SignedInAt: s.SignedInAt.UTC().Format(time.RFC3339), Ends: s.Ends(h.o.SessionMax).UTC().Format(time.RFC3339), Current: i == 0}
	}
	return out
}

// methodNames say how a session signed in, on the pages.
var methodNames = map[string]string{"password": "a password", "password+mfa": "a password and MFA", "saml": "SAML", "oidc": "OpenID Connect"}

// Form purposes (websession.Browser.FormToken).
const (
	purposeSessions  = "sessions"
	purposeAuthorize = "authorize"
)

// sessions lists the browser's sessions and carries out their forms:
// switch, credentials, sign out (one or all).
func (h *Handler) sessions(c *edge.Call) (any, error) {
	m := c.Request.Method
	if m != http.MethodGet && m != http.MethodHead && m != http.MethodPost {
		return nil, signin.MethodNotAllowed("GET, HEAD, POST")
	}
	cookie, b, err := h.browser(c)
	switch {
	case errors.Is(err, websession.ErrNone) && m != http.MethodPost:
		return &signin.Redirect{URL: h.url(PathSignIn)}, nil
	case errors.Is(err, websession.ErrNone):
		return nil, denied("no_session", "This browser has no session. Sign in again.")
	case err != nil:
		return nil, unavailable(err)
	}
	if m != http.MethodPost {
		return &signin.Page{Name: "sessions", Title: "Sessions", Method: sessionsView{Action: h.url(PathSessions),
			SignInURL: h.url(PathSignIn) + "?next=" + PathSessions, CSRF: b.FormToken(purposeSessions), Sessions: h.views(b)}}, nil
	}
	ev := c.Event
	form, err := signin.ReadForm(c, "action", "session", "csrf")
	if err != nil {
		return nil, err
	}
	if !b.CheckForm(purposeSessions, form.Get("csrf")) {
		return nil, denied("csrf_token_invalid", "The form is not this browser's. Reload the page and try again.")
	}
	id := form.Get("session")
	i := slices.IndexFunc(b.Sessions, func(s websession.Session) bool { return s.ID == id })
	if i >= 0 {
		ev.UserIdentity = signin.UserIdentity(b.Sessions[i].Principal)
	} else {
		ev.UserIdentity = signin.UserIdentity(b.Sessions[0].Principal) // the browser's current identity
	}
	c.Proven() // a form of a signed-in browser, and who it is
	ev.RequestParameters["action"] = form.Get("action")
	switch form.Get("action") {
	case "switch":
		ev.EventName = "SwitchSession"
		if _, err := h.o.Sessions.Store.Use(c.Context(), cookie, id); errors.Is(err, websession.ErrNone) {
			return nil, denied("session_unknown", "This browser has no such session.")
		} else if err != nil {
			return nil, unavailable(err)
		}
		return &signin.Redirect{URL: h.url(PathSessions)}, nil
	case "signout":
		ev.EventName = "SignOut"
		if id == "" {
			ev.RequestParameters["all"] = true
		} else if i < 0 {
			return nil, denied("session_unknown", "This browser has no such session.")
		}
		if err := h.o.Sessions.Store.SignOut(c.Context(), cookie, id); err != nil {
			return nil, unavailable(err)
		}
		if id == "" || len(b.Sessions) == 1 {
			return &signin.Redirect{URL: h.url(PathSignIn), Cookies: []*http.Cookie{h.o.Sessions.Cookie(secret.String{})}}, nil
		}
		return &signin.Redirect{URL: h.url(PathSessions)}, nil
	case "credentials":
		ev.EventName, ev.EventSource = "GetSignInCredentials", "keyless"
		if i < 0 {
			return nil, denied("session_unknown", "This browser has no such session.")
		}
		return h.credentials(c, b.Sessions[i])
	}
	return nil, signin.Invalid("action_invalid", "action must be switch, credentials or signout.")
}

// credentials issues the session's principal credentials for an hour, or
// until the session ends, and shows them.
func (h *Handler) credentials(c *edge.Call, s websession.Session) (any, error) {
	expires := c.Now().Add(credentialsTT)
	if end := s.Ends(h.o.SessionMax); end.Before(expires) {
		expires = end
	}
	creds, err := h.o.Users.Credentials(c.Context(), s.Principal, expires)
	if err != nil {
		return nil, err
	}
	c.Event.IssuedKeyID = creds.AccessKeyID
	c.Event.ResponseElements = map[string]any{"accessKeyId": creds.AccessKeyID, "expiration": creds.Expiration.UTC().Format(time.RFC3339)}
	view, ok := signin.NewCredentials(s.Principal.ARN, h.o.Region, h.o.PublicURL,
		sts.AssumeRoleResult{Credentials: creds, AssumedRoleARN: s.Principal.ARN, AssumedRoleID: s.Principal.ID})
	if !ok {
		return nil, &edge.Refusal{Code: "InternalFailure", Message: "An internal error occurred.", Status: http.StatusInternalServerError,
			Reason: "credentials_unprintable"}
	}
	return &signin.Page{Name: "credentials", Title: "Credentials", Subject: s.Principal.ARN, Issuer: "keyless", Creds: view}, nil
}
