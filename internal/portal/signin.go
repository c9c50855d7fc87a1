package portal

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/signin"
	"github.com/keyless-dev/keyless/internal/sts"
)

// knownUser are the refusals of a sign-in that named an existing user.
var knownUser = map[string]bool{"signin_password_wrong": true, "signin_no_password": true, "signin_mfa_missing": true,
	"signin_mfa_code_invalid": true, "signin_mfa_code_reused": true, "signin_mfa_locked_out": true}

// formView is the sign-in form's own data.
type formView struct {
	Action, Next, Account, User string
	Nonce                       string
	Others                      []Link // other ways to sign in, their paths carrying next
}

// form is the sign-in page, its nonce the cookie's if the browser has
// one (two tabs share it), else a new one set with the page.
func (h *Handler) form(c *edge.Call, nextPath, account, user string) *signin.Page {
	p := &signin.Page{Name: "password", Title: "Sign in"}
	v := formView{Action: h.url(PathSignIn), Next: signin.Next(nextPath), Account: account, User: user}
	for _, l := range h.o.OIDC {
		v.Others = append(v.Others, Link{Name: l.Name, Path: h.url(l.Path) + "?next=" + url.QueryEscape(v.Next)})
	}
	if ck, err := c.Request.Cookie(formNonce.Cookie); err == nil && len(ck.Value) == 32 && isHex(ck.Value) {
		v.Nonce = ck.Value
	} else if nonce, cookie, err := formNonce.New(c.Random(), h.secure); err == nil {
		v.Nonce, p.Cookies = nonce, []*http.Cookie{cookie}
	}
	p.Method = v
	return p
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// signIn serves the sign-in page and signs in a posted form.
func (h *Handler) signIn(c *edge.Call) (any, error) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead:
		q := c.Request.URL.Query()
		return h.form(c, q.Get("next"), q.Get("account"), ""), nil
	case http.MethodPost:
	default:
		return nil, signin.MethodNotAllowed("GET, HEAD, POST")
	}
	ev := c.Event
	form, err := signin.ReadForm(c, "account", "username", "password", "mfa_code", "next", formNonce.Field)
	if err != nil {
		return nil, err
	}
	account, user := form.Get("account"), form.Get("username")
	ev.RequestParameters = nil
	// Where the sign-in continues, without the authorization request's
	// parameters (its state and challenge are the client's).
	loginTo, _, _ := strings.Cut(signin.Next(form.Get("next")), "?")
	ev.AdditionalEventData = map[string]string{"LoginTo": h.url(loginTo), "MobileVersion": "No"}
	if !formNonce.Check(c.Request, form) {
		return nil, denied("form_not_shown", "Sign in from keyless's sign-in page. Reload it and try again.")
	}
	p, mfa, err := h.o.Users.PasswordSignIn(c.Context(), sts.PasswordSignIn{Account: account, User: user,
		Password: secret.NewString(form.Get("password")), MFACode: secret.NewString(form.Get("mfa_code")),
		Source: edge.SourceKey(c.SourceIP), Origin: c.Origin(h.o.Region)})
	if err != nil {
		// As CloudTrail's ConsoleLogin: the user name only if it names a
		// user (people type their password into the wrong field).
		ev.UserIdentity.UserName = "HIDDEN_DUE_TO_SECURITY_REASONS"
		if e, ok := errors.AsType[*sts.Error](err); ok && knownUser[e.Reason] && len(user) <= 64 && len(account) <= 64 {
			ev.UserIdentity.AccountID, ev.UserIdentity.UserName = account, user
		}
		return nil, err
	}
	ev.UserIdentity = signin.UserIdentity(p)
	c.Proven()
	method, used := "password", "No"
	if mfa {
		method, used = "password+mfa", "Yes"
	}
	ev.AdditionalEventData["MFAUsed"] = used
	session, err := h.o.Sessions.Start(c, p, method, 0)
	if err != nil {
		return nil, unavailable(err)
	}
	ev.ResponseElements = map[string]any{"ConsoleLogin": "Success"}
	spent := &http.Cookie{Name: formNonce.Cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteStrictMode}
	return &signin.Redirect{URL: h.url(signin.Next(form.Get("next"))), Cookies: []*http.Cookie{session, spent}}, nil
}
