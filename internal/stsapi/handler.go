package stsapi

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awserrors"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/sts"
)

// APIVersion is the only Version STS accepts.
const APIVersion = "2011-06-15"

// DefaultMaxBody bounds a request body. The largest STS parameter (a SAML
// assertion, 100,000 characters) fits with its form encoding.
const DefaultMaxBody = 192 << 10

// Options wire a Handler.
type Options struct {
	Service *sts.Service
	Auth    *sigauth.Authenticator
	// Region is reported for requests that carry no signing region.
	Region  string
	MaxBody int64
}

// Handler serves the STS Query API.
type Handler struct {
	o       Options
	actions map[string]action
	bufs    sync.Pool
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	return &Handler{
		o:       o,
		actions: actions(),
		bufs:    sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
}

// Surface is the STS API at "/", with AWS's error table.
func (h *Handler) Surface() *edge.Surface {
	return &edge.Surface{Name: "sts", Wire: wire{h}, Routes: []edge.Route{{
		Pattern: "/", Handle: h.serve, MaxBody: h.o.MaxBody, Operation: "unknown",
		Event: &edge.Event{Source: audit.EventSource, Category: audit.Category, Management: true, Region: h.o.Region},
	}}}
}

// call is one request with the caller its signature established.
type call struct {
	*edge.Call
	caller *sts.Caller
}

// serve runs STS's own phases: path and method, parameters, action,
// signature, then the action.
func (h *Handler) serve(c *edge.Call) (any, error) {
	x := &call{Call: c}
	r := c.Request
	if !isRoot(r.URL) {
		return nil, awserrors.New("NotFound", http.StatusNotFound, "path_not_found", "There is no STS endpoint at this path; send requests to /.")
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, awserrors.New("MethodNotAllowed", http.StatusMethodNotAllowed, "method_not_allowed", "STS accepts only GET and POST.")
	}
	body, err := c.Body()
	if err != nil {
		return nil, err
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, awserrors.New("MalformedQueryString", http.StatusNotFound, "query_malformed", "The query string contains a syntax error.")
	}
	params, err := awsquery.ParseRequest(query, sigv4.IsAuthParam, r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	name, err := params.Action(APIVersion)
	act, known := h.actions[name]
	if known {
		c.Event.EventName = name
		c.Event.ReadOnly = act.readOnly
	}
	if err != nil {
		return nil, err
	}
	if !known {
		return nil, &awsquery.ParseError{Code: awsquery.CodeInvalidAction, Msg: "Could not find operation " + quoteAction(name) + " for version " + APIVersion}
	}
	if !act.unsigned {
		if x.caller, err = c.Authenticate(h.o.Auth, "sts", query, body); err != nil {
			return nil, err
		}
	}
	return act.run(h, x, awsquery.NewDecoder(params))
}

// wire writes STS answers: AWS Query XML, or JSON for Accept:
// application/json, with AWS's error table.
type wire struct{ h *Handler }

func (wire) Refuse(err error) edge.Refusal { return awserrors.Refuse(err) }

func (w wire) Write(rw http.ResponseWriter, c *edge.Call, answer any, f *edge.Refusal) {
	buf := w.h.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer w.h.bufs.Put(buf)
	json := wantsJSON(c.Request)
	status := http.StatusOK
	switch {
	case f != nil && json:
		awsquery.WriteErrorJSON(buf, f.Code, message(f), f.Status < 500, c.ID)
		status = f.Status
	case f != nil:
		awsquery.WriteErrorXML(buf, f.Code, message(f), f.Status < 500, c.ID)
		status = f.Status
	case json:
		awsquery.WriteJSON(buf, c.Event.EventName, answer.([]awsquery.Field), c.ID)
	default:
		awsquery.WriteXML(buf, c.Event.EventName, answer.([]awsquery.Field), c.ID)
	}
	hdr := rw.Header()
	if json {
		hdr.Set("Content-Type", "application/json")
	} else {
		hdr.Set("Content-Type", "text/xml")
	}
	// Declared, as AWS does: net/http would otherwise chunk any answer over
	// 2 KB (an AssumeRole answer with tags is), in more writes.
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	rw.WriteHeader(status)
	_, _ = rw.Write(buf.Bytes())
}

// message is the message the client sees: with an encoded authorization
// message appended the way AWS services append it.
func message(f *edge.Refusal) string {
	if f.Detail == "" {
		return f.Message
	}
	return f.Message + " Encoded authorization failure message: " + f.Detail
}

// isRoot reports whether the request is for "/", allowing what SigV4's own
// normalisation allows ("//" from Vault, "/./"), but no percent-encoding.
func isRoot(u *url.URL) bool {
	p := u.EscapedPath()
	return !strings.Contains(p, "%") && !strings.Contains(p, "..") && sigv4.NormalizePath(p) == "/"
}

func wantsJSON(r *http.Request) bool {
	for _, a := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(a), "application/json") {
			return true
		}
	}
	return false
}

// quoteAction bounds an unknown action name before it is echoed.
func quoteAction(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}
