package strictjson

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// ErrStrict is every refusal: the input is not one strict JSON object.
var ErrStrict = errors.New("strictjson: not strict JSON")

// maxDepth bounds nesting.
const maxDepth = 16

// ParseObject reads exactly one JSON object (RFC 8259) and returns its
// members' raw values. No object at any depth may have two members whose
// names are equal or equal under Unicode case folding ("sub" and "Sub", or
// "ſub"), names compared after their escapes are decoded: decoders disagree
// on which one wins (security.md section 1.11, JWT-20).
func ParseObject(b []byte) (map[string]json.RawMessage, error) {
	s := scanner{b: b}
	s.space()
	top := map[string]json.RawMessage{}
	if err := s.object(0, top); err != nil {
		return nil, err
	}
	s.space()
	if s.i != len(s.b) {
		return nil, ErrStrict
	}
	return top, nil
}

// Check is ParseObject without the members.
func Check(b []byte) error {
	_, err := ParseObject(b)
	return err
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) next(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads an object at s.i; members, if not nil, receives its members.
func (s *scanner) object(depth int, members map[string]json.RawMessage) error {
	if depth >= maxDepth || !s.next('{') {
		return ErrStrict
	}
	seen := map[string]bool{}
	s.space()
	if s.next('}') {
		return nil
	}
	for {
		s.space()
		start := s.i
		if err := s.str(); err != nil {
			return err
		}
		name, err := decodeName(s.b[start:s.i])
		if err != nil {
			return err
		}
		folded := strings.ToLower(strings.ToUpper(name))
		if seen[folded] {
			return ErrStrict
		}
		seen[folded] = true
		s.space()
		if !s.next(':') {
			return ErrStrict
		}
		s.space()
		vstart := s.i
		if err := s.value(depth + 1); err != nil {
			return err
		}
		if members != nil {
			members[name] = json.RawMessage(s.b[vstart:s.i])
		}
		s.space()
		if s.next('}') {
			return nil
		}
		if !s.next(',') {
			return ErrStrict
		}
	}
}

func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return ErrStrict
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth, nil)
	case c == '[':
		if depth >= maxDepth {
			return ErrStrict
		}
		s.i++
		s.space()
		if s.next(']') {
			return nil
		}
		for {
			s.space()
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.space()
			if s.next(']') {
				return nil
			}
			if !s.next(',') {
				return ErrStrict
			}
		}
	case c == '"':
		return s.str()
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	for _, lit := range []string{"true", "false", "null"} {
		if strings.HasPrefix(string(s.b[s.i:min(len(s.b), s.i+5)]), lit) {
			s.i += len(lit)
			return nil
		}
	}
	return ErrStrict
}

// str reads a string: no raw control characters, only the escapes RFC 8259
// section 7 defines.
func (s *scanner) str() error {
	if !s.next('"') {
		return ErrStrict
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c < 0x20:
			return ErrStrict
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return ErrStrict
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex(s.b[s.i+2:s.i+6]) {
					return ErrStrict
				}
				s.i += 6
			default:
				return ErrStrict
			}
		default:
			s.i++
		}
	}
	return ErrStrict
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() error {
	s.next('-')
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.next('0') {
		if s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			return ErrStrict
		}
	} else if digits() == 0 {
		return ErrStrict
	}
	if s.next('.') && digits() == 0 {
		return ErrStrict
	}
	if s.next('e') || s.next('E') {
		if !s.next('+') {
			s.next('-')
		}
		if digits() == 0 {
			return ErrStrict
		}
	}
	return nil
}

// decodeName returns a member name without its quotes, escapes decoded.
func decodeName(quoted []byte) (string, error) {
	inner := quoted[1 : len(quoted)-1]
	if !strings.ContainsRune(string(inner), '\\') {
		if !utf8.Valid(inner) {
			return "", ErrStrict
		}
		return string(inner), nil
	}
	var name string
	if err := json.Unmarshal(quoted, &name); err != nil {
		return "", ErrStrict
	}
	return name, nil
}

// Unquote decodes a JSON string value; ok is false for anything else.
func Unquote(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if !strings.ContainsRune(string(inner), '\\') {
		return string(inner), true
	}
	var v string
	return v, json.Unmarshal(raw, &v) == nil
}
