package signin

import (
	"cmp"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyless-dev/keyless/internal/awserrors"
	"github.com/keyless-dev/keyless/internal/edge"
)

// CSP allows only the pages' own script and style sheet: no inline script
// or style, no framing, forms posted back to keyless only.
const CSP = "default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Headers sets the headers of every sign-in response: no caching of pages
// that carry assertions or credentials, no framing, no sniffing, no
// referrer.
func Headers(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}

// Wire writes sign-in answers: a *Page or a File, and a refusal as the
// error page (its code, message and request id, never anything of the
// posted form). Its error table is AWS's.
type Wire struct{ Pages *Pages }

// Refuse maps err through AWS's error table.
func (Wire) Refuse(err error) edge.Refusal { return awserrors.Refuse(err) }

// Write writes the answer or the error page.
func (w Wire) Write(rw http.ResponseWriter, c *edge.Call, answer any, f *edge.Refusal) {
	Headers(rw.Header())
	if f != nil {
		w.Pages.render(rw, c.Logger(), f.Status, &Page{Name: "error", Title: "Sign-in failed", RequestID: c.ID,
			Code: f.Code, Message: f.Message, Encoded: f.Detail})
		return
	}
	switch a := answer.(type) {
	case *Page:
		if len(a.FormTargets) > 0 {
			rw.Header().Set("Content-Security-Policy", strings.Replace(CSP, "form-action 'self'", "form-action 'self' "+strings.Join(a.FormTargets, " "), 1))
		}
		a.RequestID = c.ID
		w.Pages.render(rw, c.Logger(), cmp.Or(a.Status, http.StatusOK), a)
	case *Redirect:
		for _, ck := range a.Cookies {
			http.SetCookie(rw, ck)
		}
		rw.Header().Set("Location", a.URL)
		writeBody(rw, http.StatusSeeOther, nil)
	case File:
		rw.Header().Set("Content-Type", a.Type)
		writeBody(rw, http.StatusOK, a.Body)
	default:
		w.Pages.render(rw, c.Logger(), http.StatusInternalServerError, &Page{Name: "error", Title: "Sign-in failed", RequestID: c.ID,
			Code: "InternalFailure", Message: awserrors.MsgInternal})
	}
}

// Redirect answers a form post with 303 See Other (RFC 9110 section
// 15.4.4) to URL, setting Cookies.
type Redirect struct {
	URL     string
	Cookies []*http.Cookie
}

// MethodNotAllowed refuses a method; the edge sends allow as the Allow
// header (RFC 9110 section 15.5.6).
func MethodNotAllowed(allow string) *edge.Refusal {
	r := awserrors.New("MethodNotAllowed", http.StatusMethodNotAllowed, "method_not_allowed", "This page accepts only "+allow+".")
	r.Allow = allow
	return r
}

// ReadForm reads a posted application/x-www-form-urlencoded form (HTML
// 4.01 section 17.13.4) within the route's bound; each field of single
// may be given at most once.
func ReadForm(c *edge.Call, single ...string) (url.Values, error) {
	if mt, _, err := mime.ParseMediaType(c.Request.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, awserrors.New("UnsupportedMediaType", http.StatusUnsupportedMediaType, "content_type",
			"Post the form as application/x-www-form-urlencoded.")
	}
	raw, err := c.Body()
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, Invalid("form_malformed", "The form is not valid application/x-www-form-urlencoded.")
	}
	for _, k := range single {
		if len(form[k]) > 1 {
			return nil, Invalid("parameter_repeated", "The form field "+k+" is given more than once.")
		}
	}
	return form, nil
}

// Invalid is a 400 ValidationError.
func Invalid(reason, msg string) *edge.Refusal {
	return awserrors.New("ValidationError", http.StatusBadRequest, reason, msg)
}
