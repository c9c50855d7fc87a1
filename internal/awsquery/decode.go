package awsquery

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted replaces the value of a sensitive parameter in messages, as
// AWS's Coral framework does.
const Redacted = "*** Sensitive Data Redacted ***"

// String describes a string member's constraints (the botocore model's min,
// max and pattern).
type String struct {
	Name      string // wire name, e.g. "SerialNumber"
	Required  bool
	Min, Max  int
	Pattern   func(string) bool
	PatternRE string // the model's pattern, quoted in messages
	Sensitive bool   // never echo the value
}

// Int describes an integer member's constraints.
type Int struct {
	Name     string
	Required bool
	Min, Max int64
}

// Decoder reads typed members from Params, collecting every violation so that
// one ValidationError lists them all, as Coral does.
type Decoder struct {
	p          *Params
	violations []string
}

// NewDecoder starts decoding p.
func NewDecoder(p *Params) *Decoder { return &Decoder{p: p} }

// String reads a string member. ok is false if it is absent or invalid.
func (d *Decoder) String(c String) (v string, ok bool) {
	v, present := d.p.get(c.Name)
	if !present {
		if c.Required {
			d.violate("Value null at '" + member(c.Name) + "' failed to satisfy constraint: Member must not be null")
		}
		return "", false
	}
	n := utf8.RuneCountInString(v)
	shown := quote(v, c.Sensitive)
	switch {
	case c.Min > 0 && n < c.Min:
		d.violate("Value " + shown + " at '" + member(c.Name) + "' failed to satisfy constraint: Member must have length greater than or equal to " + strconv.Itoa(c.Min))
		return "", false
	case c.Max > 0 && n > c.Max:
		d.violate("Value " + shown + " at '" + member(c.Name) + "' failed to satisfy constraint: Member must have length less than or equal to " + strconv.Itoa(c.Max))
		return "", false
	case c.Pattern != nil && !c.Pattern(v):
		d.violate("Value " + shown + " at '" + member(c.Name) + "' failed to satisfy constraint: Member must satisfy regular expression pattern: " + c.PatternRE)
		return "", false
	}
	return v, true
}

// Int reads an integer member written in plain decimal.
func (d *Decoder) Int(c Int) (v int64, present, ok bool) {
	s, present := d.p.get(c.Name)
	if !present {
		if c.Required {
			d.violate("Value null at '" + member(c.Name) + "' failed to satisfy constraint: Member must not be null")
		}
		return 0, false, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s == "" || s[0] == '+' {
		d.violate("Value " + quote(s, false) + " at '" + member(c.Name) + "' failed to satisfy constraint: Member must be an integer")
		return 0, true, false
	}
	switch {
	case v < c.Min:
		d.violate("Value '" + s + "' at '" + member(c.Name) + "' failed to satisfy constraint: Member must have value greater than or equal to " + strconv.FormatInt(c.Min, 10))
		return 0, true, false
	case v > c.Max:
		d.violate("Value '" + s + "' at '" + member(c.Name) + "' failed to satisfy constraint: Member must have value less than or equal to " + strconv.FormatInt(c.Max, 10))
		return 0, true, false
	}
	return v, true, true
}

// Finish returns a ValidationError naming every violation and every
// parameter that the action does not define, or nil.
func (d *Decoder) Finish() error {
	for _, k := range d.p.unused() {
		d.violate("The parameter " + quote(k, false) + " is not recognized")
	}
	switch len(d.violations) {
	case 0:
		return nil
	case 1:
		return &ParseError{CodeValidation, "1 validation error detected: " + d.violations[0]}
	default:
		return &ParseError{CodeValidation, strconv.Itoa(len(d.violations)) + " validation errors detected: " + strings.Join(d.violations, "; ")}
	}
}

func (d *Decoder) violate(msg string) { d.violations = append(d.violations, msg) }

// Violate adds a constraint violation an action checks itself (a
// required list, which the model's shapes cannot say alone).
func (d *Decoder) Violate(msg string) { d.violate(msg) }

// member converts a wire name to Coral's lowerCamelCase member path.
func member(name string) string {
	if name == "" {
		return name
	}
	return strings.ToLower(name[:1]) + name[1:]
}

// quote renders a client value for an error message: single-quoted,
// bounded, and redacted when sensitive. Escaping for XML happens at encoding.
func quote(v string, sensitive bool) string {
	if sensitive {
		return "'" + Redacted + "'"
	}
	const max = 256
	if len(v) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut] + "..."
	}
	return "'" + v + "'"
}

// ListLen returns the number of members of the list name, given as
// name.member.1, name.member.2, ... (each possibly with a ".Field" suffix
// for lists of structures), or as "name=" with an empty value for an empty
// list, which botocore sends. Indexes are read as numbers, must start at 1
// and must have no gaps. present is false if the list is absent.
func (d *Decoder) ListLen(name string, maxItems int) (n int, present, ok bool) {
	prefix := name + ".member."
	seen := map[int]bool{}
	for k := range d.p.m {
		if k == name {
			present = true
			if d.p.m[k] != "" {
				d.violate("Value at '" + member(name) + "' failed to satisfy constraint: Member must be a list")
				return 0, true, false
			}
			d.p.used[k] = true
			continue
		}
		rest, found := strings.CutPrefix(k, prefix)
		if !found {
			continue
		}
		present = true
		idx, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(idx)
		if err != nil || i < 1 || idx[0] == '0' || i > maxItems+1 {
			d.violate("The parameter " + quote(k, false) + " has an invalid list index")
			return 0, true, false
		}
		seen[i] = true
	}
	for i := 1; i <= len(seen); i++ {
		if !seen[i] {
			d.violate("The list " + quote(name, false) + " skips member index " + strconv.Itoa(i))
			return 0, true, false
		}
	}
	if len(seen) > maxItems {
		d.violate("Value at '" + member(name) + "' failed to satisfy constraint: Member must have length less than or equal to " + strconv.Itoa(maxItems))
		return 0, true, false
	}
	return len(seen), present, true
}

// StringList reads a list of strings, each checked against elem (whose Name
// is ignored).
func (d *Decoder) StringList(name string, maxItems int, elem String) (vals []string, present, ok bool) {
	n, present, ok := d.ListLen(name, maxItems)
	if !ok {
		return nil, present, false
	}
	vals = make([]string, 0, n)
	for i := 1; i <= n; i++ {
		e := elem
		e.Name = name + ".member." + strconv.Itoa(i)
		e.Required = true
		v, good := d.String(e)
		if !good {
			ok = false
		}
		vals = append(vals, v)
	}
	return vals, present, ok
}
