package exchange

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Limits on templates.
const (
	maxTemplateLen          = 512
	maxTemplatePlaceholders = 16
	maxSessionNameLen       = 64
)

// Template is literal text with {{ path }} placeholders, each replaced by a
// claim of a Document.
type Template struct {
	src   string
	parts []templatePart
}

// templatePart is a literal text, or a placeholder when path is set.
type templatePart struct {
	text string
	path string
}

// CompileTemplate parses a template: 1–512 bytes of printable UTF-8 with
// at most 16 placeholders "{{path}}" (spaces inside the braces optional),
// each path a ValidPath.
func CompileTemplate(s string) (Template, error) {
	if s == "" {
		return Template{}, errors.New("template: empty")
	}
	if len(s) > maxTemplateLen {
		return Template{}, fmt.Errorf("template: longer than %d bytes", maxTemplateLen)
	}
	if err := unprintableError(s); err != nil {
		return Template{}, errors.New("template: " + err.Error())
	}
	t := Template{src: s}
	placeholders := 0
	for rest, off := s, 0; rest != ""; {
		open := strings.Index(rest, "{{")
		if open < 0 {
			t.parts = append(t.parts, templatePart{text: rest})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, templatePart{text: rest[:open]})
		}
		end := strings.Index(rest[open+2:], "}}")
		if end < 0 {
			return Template{}, fmt.Errorf("template: %q at offset %d has no matching %q", "{{", off+open, "}}")
		}
		inner := rest[open+2 : open+2+end]
		path := strings.Trim(inner, " ")
		if strings.ContainsAny(path, "{}") || !ValidPath(path) {
			return Template{}, fmt.Errorf("template: invalid claim path %q at offset %d", inner, off+open)
		}
		placeholders++
		if placeholders > maxTemplatePlaceholders {
			return Template{}, fmt.Errorf("template: more than %d placeholders", maxTemplatePlaceholders)
		}
		t.parts = append(t.parts, templatePart{path: path})
		n := open + 2 + end + 2
		rest, off = rest[n:], off+n
	}
	return t, nil
}

// String returns the template's source text.
func (t Template) String() string { return t.src }

// Paths returns the claim paths of the placeholders, each once, in order
// of first use.
func (t Template) Paths() []string {
	var out []string
	for _, p := range t.parts {
		if p.path != "" && !slices.Contains(out, p.path) {
			out = append(out, p.path)
		}
	}
	return out
}

// Execute replaces each placeholder with its claim, which must be a
// string, number or boolean.
func (t Template) Execute(d Document) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.path == "" {
			b.WriteString(p.text)
			continue
		}
		v, ok := d.Lookup(p.path)
		if !ok {
			return "", fmt.Errorf("template: claim %q is missing", p.path)
		}
		s, ok := Scalar(v)
		if !ok {
			return "", fmt.Errorf("template: claim %q is not a string, number or boolean", p.path)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// SessionName turns any string into a valid RoleSessionName: each
// character outside [A-Za-z0-9+=,.@_-] becomes '-', the result is cut to
// 64 bytes and padded with '-' to at least 2.
func SessionName(s string) string {
	b := make([]byte, 0, min(len(s), maxSessionNameLen)+2)
	for _, r := range s {
		if len(b) == maxSessionNameLen {
			break
		}
		if r < 0x80 && isSessionNameByte(byte(r)) {
			b = append(b, byte(r))
		} else {
			b = append(b, '-')
		}
	}
	for len(b) < 2 {
		b = append(b, '-')
	}
	return string(b)
}

func isSessionNameByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("+=,.@_-", c) >= 0
}
