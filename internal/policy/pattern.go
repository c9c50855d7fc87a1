package policy

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// segKind is one piece of a compiled value.
type segKind uint8

const (
	segLit  segKind = iota // literal text
	segStar                // * : any run of characters
	segOne                 // ? : exactly one character
	segVar                 // ${key} or ${key, 'default'}
)

type seg struct {
	kind   segKind
	text   string // literal text, or the lower-cased key of a variable
	def    string // a variable's default
	hasDef bool
}

// pattern is a value from a policy: literal text, wildcards (where the
// element allows them) and policy variables (in 2012-10-17 documents, in
// Resource and string and ARN condition values;
// reference_policies_variables).
type pattern struct {
	segs   []seg
	vars   bool // has a variable
	wild   bool // has a wildcard
	static string
}

// compileOpts say what a value may contain.
type compileOpts struct {
	vars bool // ${...} is a variable (2012-10-17)
	wild bool // * and ? are wildcards
}

var errVariable = errors.New("invalid policy variable")

// compile splits s into segments. The escapes ${*}, ${?} and ${$} stand
// for the literal characters; a variable's default is quoted with ' and
// ” is a quote inside it (reference_policies_variables, "Specifying
// default values").
func compile(s string, o compileOpts) (pattern, error) {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.segs = append(p.segs, seg{kind: segLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case o.vars && c == '$' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return pattern{}, errVariable
			}
			body := s[i+2 : i+2+end]
			i += end + 3
			switch body {
			case "*", "?", "$":
				lit.WriteString(body)
				continue
			}
			v, err := parseVariable(body)
			if err != nil {
				return pattern{}, err
			}
			flush()
			p.segs = append(p.segs, v)
			p.vars = true
		case o.wild && c == '*':
			flush()
			if n := len(p.segs); n == 0 || p.segs[n-1].kind != segStar { // ** is *
				p.segs = append(p.segs, seg{kind: segStar})
			}
			p.wild = true
			i++
		case o.wild && c == '?':
			flush()
			p.segs = append(p.segs, seg{kind: segOne})
			p.wild = true
			i++
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	if !p.vars && !p.wild && len(p.segs) == 1 {
		p.static = p.segs[0].text // one literal, escapes resolved
	}
	return p, nil
}

// parseVariable parses "key" or "key, 'default'" with blanks around
// either part ignored.
func parseVariable(body string) (seg, error) {
	key, rest, hasDef := strings.Cut(body, ",")
	key = strings.TrimSpace(key)
	if !validKey(key) {
		return seg{}, errVariable
	}
	v := seg{kind: segVar, text: strings.ToLower(key)}
	if hasDef {
		rest = strings.TrimSpace(rest)
		if len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' {
			return seg{}, errVariable
		}
		inner := rest[1 : len(rest)-1]
		// A lone quote inside the default is an error; '' is a quote.
		if strings.Count(strings.ReplaceAll(inner, "''", ""), "'") != 0 {
			return seg{}, errVariable
		}
		v.def, v.hasDef = strings.ReplaceAll(inner, "''", "'"), true
	}
	return v, nil
}

// validKey reports whether k looks like a condition key: "prefix:name"
// with a non-empty prefix and name and no blanks or braces.
func validKey(k string) bool {
	prefix, name, ok := strings.Cut(k, ":")
	if !ok || prefix == "" || name == "" || len(k) > 256 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c == '{' || c == '}' || c == '$' || c == '\'' || c == ',' || c >= 0x7f {
			return false
		}
	}
	return true
}

// resolve replaces variables by their values from ctx. It reports false
// when a variable is absent or has several values and no default: the
// value then matches nothing (reference_policies_variables, "Policy
// variables with no value"). A variable's value is always literal text.
func (p *pattern) resolve(ctx *Context, buf []seg) ([]seg, bool) {
	if !p.vars {
		return p.segs, true
	}
	for _, s := range p.segs {
		if s.kind != segVar {
			buf = append(buf, s)
			continue
		}
		vals, ok := ctx.get(s.text)
		switch {
		case ok && len(vals) == 1:
			buf = append(buf, seg{kind: segLit, text: vals[0]})
		case s.hasDef:
			buf = append(buf, seg{kind: segLit, text: s.def})
		default:
			return nil, false
		}
	}
	return buf, true
}

// text returns the resolved value of a pattern without wildcards.
func (p *pattern) text(ctx *Context) (string, bool) {
	if !p.vars {
		return p.static, true
	}
	var buf [8]seg
	segs, ok := p.resolve(ctx, buf[:0])
	if !ok {
		return "", false
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteString(s.text)
	}
	return b.String(), true
}

// match reports whether s matches the pattern, wildcards included.
func (p *pattern) match(ctx *Context, s string) bool {
	if !p.vars && !p.wild {
		return p.static == s
	}
	var buf [8]seg
	segs, ok := p.resolve(ctx, buf[:0])
	return ok && glob(segs, s)
}

// glob matches s against literal, * and ? segments. ? is one character
// (one UTF-8 sequence). Backtracking returns only to the last *, which is
// enough for this pattern language and keeps the time O(len(segs)*len(s)).
func glob(segs []seg, s string) bool {
	i, pos := 0, 0
	star, starPos := -1, 0
	for {
		if i < len(segs) {
			switch sg := segs[i]; sg.kind {
			case segLit:
				if strings.HasPrefix(s[pos:], sg.text) {
					pos += len(sg.text)
					i++
					continue
				}
			case segOne:
				if pos < len(s) {
					_, n := utf8.DecodeRuneInString(s[pos:])
					pos += n
					i++
					continue
				}
			case segStar:
				star, starPos = i, pos
				i++
				continue
			}
		} else if pos == len(s) {
			return true
		}
		if star < 0 || starPos >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starPos:])
		starPos += n
		i, pos = star+1, starPos
	}
}

// arnPattern is an ARN with wildcards, matched component by component:
// "Each of the six colon-delimited components of the ARN is checked
// separately" (reference_policies_elements_condition_operators, ARN
// condition operators). The last component takes the rest, colons
// included. "*" alone matches anything; a pattern of fewer components
// matches only values of as many.
type arnPattern struct {
	any   bool
	parts []pattern
}

func compileARN(s string, o compileOpts) (arnPattern, error) {
	if s == "*" && o.wild {
		return arnPattern{any: true}, nil
	}
	var parts []pattern
	for _, raw := range splitARN(s) {
		p, err := compile(raw, o)
		if err != nil {
			return arnPattern{}, err
		}
		parts = append(parts, p)
	}
	return arnPattern{parts: parts}, nil
}

// splitARN splits s at the first five colons that are not inside a
// policy variable.
func splitARN(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s) && len(out) < 5; i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == ':' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func (a *arnPattern) match(ctx *Context, s string) bool {
	if a.any {
		return true
	}
	n := len(a.parts)
	for i := range n {
		var comp string
		if i == n-1 {
			if n < 6 && strings.Contains(s, ":") {
				return false // a short pattern never spans components
			}
			comp, s = s, ""
		} else {
			c, rest, ok := strings.Cut(s, ":")
			if !ok {
				return false
			}
			comp, s = c, rest
		}
		if !a.parts[i].match(ctx, comp) {
			return false
		}
	}
	return true
}
