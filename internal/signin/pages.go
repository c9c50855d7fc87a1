package signin

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/signin.js static/signin.css
var staticFS embed.FS

// Page is what a template renders. html/template escapes every value for
// where it appears.
type Page struct {
	// Name is the template: "chooser", "credentials", "error", or one of
	// the method's own.
	Name      string
	Title     string
	Sub       string // the header's subtitle, the method's name
	Static    string // root-relative path of signin.js and signin.css
	RequestID string

	// The chooser: who signed in, the roles by account, the fields posted
	// back with the choice, and the nonce that ties the choice to the
	// cookie set with the page.
	Subject string
	Groups  []Group
	Hidden  []Field
	Nonce   string

	// Issuer is the identity provider, shown with Subject on the
	// credentials page.
	Issuer string
	Creds  *Credentials
	// SessionsURL, if set, links the credentials page to the browser's
	// sessions (the sign-in is kept as one).
	SessionsURL string

	// The error page.
	Code, Message, Encoded string

	// Method is the method's own data for its own templates.
	Method any

	// Cookies are set with a page answered 200, never with a refusal.
	Cookies []*http.Cookie
	// FormTargets are origins the page's forms may end at besides
	// keyless itself (CSP form-action applies to a form's redirects):
	// the loopback callback of an aws login consent.
	FormTargets []string
	// Status, if set, answers the page with it instead of 200 (a form
	// shown again after a refused post; its cookies are then not set).
	Status int
}

// Field is a hidden form field.
type Field struct{ Name, Value string }

// Pages renders the shared templates and a method's own.
type Pages struct {
	t      *template.Template
	sub    string
	static string
}

// NewPages parses the shared templates and those of the method in
// methodFS matching patterns. sub is the header's subtitle; static the
// root-relative path the static files are served under.
func NewPages(sub, static string, methodFS fs.FS, patterns ...string) *Pages {
	t := template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))
	if methodFS != nil {
		t = template.Must(t.ParseFS(methodFS, patterns...))
	}
	return &Pages{t: t, sub: sub, static: static}
}

// render writes p with status.
func (ps *Pages) render(w http.ResponseWriter, log *slog.Logger, status int, p *Page) {
	p.Sub, p.Static = ps.sub, ps.static
	var buf bytes.Buffer
	if err := ps.t.ExecuteTemplate(&buf, p.Name, p); err != nil {
		log.Error("rendering a sign-in page failed", "request_id", p.RequestID, "page", p.Name, "err", err)
		buf.Reset()
		status = http.StatusInternalServerError
		buf.WriteString("<!doctype html><title>Internal error</title><p>An internal error occurred.</p>\n")
	}
	if status == http.StatusOK {
		for _, c := range p.Cookies {
			http.SetCookie(w, c)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	writeBody(w, status, buf.Bytes())
}

// File is a static answer: the pages' script and style sheet, or a
// method's document such as SAML metadata.
type File struct {
	Body []byte
	Type string
}

// Static files of the pages, by name.
var (
	Script = mustStatic("signin.js", "text/javascript; charset=utf-8")
	Style  = mustStatic("signin.css", "text/css; charset=utf-8")
)

func mustStatic(name, ctype string) File {
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		panic("signin: " + err.Error())
	}
	return File{Body: b, Type: ctype}
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
