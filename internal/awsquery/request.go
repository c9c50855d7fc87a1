package awsquery

import (
	"mime"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxParams bounds how many parameters one request may carry.
const MaxParams = 256

// Params are the action parameters of one request, each name with exactly one
// value. The decoder marks which ones an action read, so that unknown
// parameters can be refused.
type Params struct {
	m    map[string]string
	used map[string]bool
}

// ParseError is a request that is not valid AWS Query. Code is the AWS error
// code to answer with.
type ParseError struct {
	Code string
	Msg  string
}

func (e *ParseError) Error() string { return e.Msg }

// Error codes ParseRequest returns.
const (
	CodeValidation       = "ValidationError"
	CodeMissingAction    = "MissingAction"
	CodeInvalidAction    = "InvalidAction"
	CodeMissingParameter = "MissingParameter"
)

// ParseRequest merges the query string's parameters (except those for which
// skip reports true, such as SigV4's X-Amz-*) with those of a form body. A
// name given twice, in either place or in both, is refused rather than
// resolved by "first wins" or "last wins".
func ParseRequest(query url.Values, skip func(string) bool, contentType string, body []byte) (*Params, error) {
	p := &Params{m: make(map[string]string, 8), used: make(map[string]bool, 8)}
	if err := p.add(query, skip); err != nil {
		return nil, err
	}
	if len(body) > 0 {
		if err := checkContentType(contentType); err != nil {
			return nil, err
		}
		if err := p.addForm(string(body)); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addForm parses an application/x-www-form-urlencoded body (WHATWG URL
// standard, section 5.1) straight into p, with url.ParseQuery's strictness:
// bad percent-escapes and ';' separators are errors.
func (p *Params) addForm(body string) error {
	bad := &ParseError{CodeValidation, "The request body is not valid application/x-www-form-urlencoded data."}
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if pair == "" {
			continue
		}
		if strings.Contains(pair, ";") {
			return bad
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return bad
		}
		if err := p.set(key, val); err != nil {
			return err
		}
	}
	return nil
}

func checkContentType(ct string) error {
	if ct == "" {
		return &ParseError{CodeValidation, "A request with a body must have Content-Type application/x-www-form-urlencoded."}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return &ParseError{CodeValidation, "Content-Type must be application/x-www-form-urlencoded."}
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return &ParseError{CodeValidation, "Content-Type must be application/x-www-form-urlencoded with no parameter other than charset=utf-8."}
		}
	}
	return nil
}

func (p *Params) add(v url.Values, skip func(string) bool) error {
	for k, vs := range v {
		if skip != nil && skip(k) {
			continue
		}
		if len(vs) != 1 {
			return &ParseError{CodeValidation, "The parameter " + quote(k, false) + " appears more than once."}
		}
		if err := p.set(k, vs[0]); err != nil {
			return err
		}
	}
	return nil
}

// set adds one parameter; a name already present (from the query string or
// earlier in the body) is an error, never "first wins" or "last wins".
func (p *Params) set(k, v string) error {
	if _, dup := p.m[k]; dup {
		return &ParseError{CodeValidation, "The parameter " + quote(k, false) + " appears more than once."}
	}
	if !utf8.ValidString(k) || !utf8.ValidString(v) {
		return &ParseError{CodeValidation, "Parameters must be valid UTF-8."}
	}
	if len(p.m) >= MaxParams {
		return &ParseError{CodeValidation, "The request has too many parameters."}
	}
	p.m[k] = v
	return nil
}

// Action returns the Action parameter after checking Version, which must be
// version.
func (p *Params) Action(version string) (string, error) {
	action, ok := p.m["Action"]
	p.used["Action"], p.used["Version"] = true, true
	if !ok || action == "" {
		return "", &ParseError{CodeMissingAction, "Missing Action"}
	}
	v, ok := p.m["Version"]
	if !ok {
		return action, &ParseError{CodeMissingParameter, "The request must contain the parameter Version."}
	}
	if v != version {
		return action, &ParseError{CodeInvalidAction, "Could not find operation " + quote(action, false) + " for version " + quote(v, false) + "."}
	}
	return action, nil
}

// get returns a parameter and marks it read.
func (p *Params) get(name string) (string, bool) {
	v, ok := p.m[name]
	p.used[name] = true
	return v, ok
}

// unused returns the parameters no decoder read, sorted.
func (p *Params) unused() []string {
	var out []string
	for k := range p.m {
		if !p.used[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Names returns every parameter name, sorted; for audit records.
func (p *Params) Names() []string {
	out := make([]string, 0, len(p.m))
	for k := range p.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
