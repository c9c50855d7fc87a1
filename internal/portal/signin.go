package portal

import (
	"encoding/hex"
	"net/http"
	"net/url"

	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/signin"
	"github.com/keyless-dev/keyless/internal/sts"
)

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
	v := formView{Action: h.url(PathSignIn), Next: next(nextPath), Account: account, User: user}
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
	ev.AdditionalEventData = map[string]string{"LoginTo": h.url(next(form.Get("next"))), "MobileVersion": "No"}
	if len(account) <= 64 && len(user) <= 64 {
		// CloudTrail's ConsoleLogin names the user tried, never the password.
		ev.UserIdentity.AccountID, ev.UserIdentity.UserName = account, user
	}
	if !formNonce.Check(c.Request, form) {
		return nil, denied("form_not_shown", "Sign in from keyless's sign-in page. Reload it and try again.")
	}
	p, mfa, err := h.o.Users.PasswordSignIn(c.Context(), sts.PasswordSignIn{Account: account, User: user,
		Password: secret.NewString(form.Get("password")), MFACode: secret.NewString(form.Get("mfa_code")),
		Source: edge.SourceKey(c.SourceIP), Origin: c.Origin(h.o.Region)})
	if err != nil {
		ev.ResponseElements = map[string]any{"ConsoleLogin": "Failure"}
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
	return &signin.Redirect{URL: h.url(next(form.Get("next"))), Cookies: []*http.Cookie{session, spent}}, nil
}
