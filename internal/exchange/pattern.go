package exchange

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/internal/arn"
)

// maxPatternLen is the longest pattern CompilePattern accepts, in bytes.
const maxPatternLen = 1024

// Pattern is a compiled subject pattern. '*' matches any run, possibly
// empty, of characters other than '/' and ':'; '**' matches any run; every
// other character, '?' included, is literal. The zero Pattern matches
// nothing.
type Pattern struct {
	src string
	m   *patternMachine
}

// patternMachine is a pattern as a position automaton run bit-parallel:
// position i is "elems[:i] matched", position len(elems) accepts.
type patternMachine struct {
	words     int      // uint64 words per state set
	final     int      // accepting position
	prefixLen int      // bytes of src before the first wildcard
	exact     bool     // no wildcards
	double    bool     // has a '**'
	star      []uint64 // positions followed by '*'
	anyStar   []uint64 // positions followed by '*' or '**'
	dstar     []uint64 // positions followed by '**'
	byteIndex [256]uint16
	// lit[byteIndex[c]-1] has the positions followed by literal byte c.
	lit [][]uint64
}

const (
	patLiteral = iota
	patStar
	patDoubleStar
)

// CompilePattern parses a subject pattern: 1–1024 bytes of printable UTF-8,
// with no run of three or more '*'.
func CompilePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, errors.New("pattern: empty")
	}
	if len(s) > maxPatternLen {
		return Pattern{}, fmt.Errorf("pattern: longer than %d bytes", maxPatternLen)
	}
	if err := unprintableError(s); err != nil {
		return Pattern{}, errors.New("pattern: " + err.Error())
	}
	type elem struct {
		kind int
		b    byte
	}
	elems := make([]elem, 0, len(s))
	m := &patternMachine{prefixLen: -1}
	for i := 0; i < len(s); {
		if s[i] != '*' {
			elems = append(elems, elem{kind: patLiteral, b: s[i]})
			i++
			continue
		}
		if m.prefixLen < 0 {
			m.prefixLen = i
		}
		n := 1
		for i+n < len(s) && s[i+n] == '*' {
			n++
		}
		switch n {
		case 1:
			elems = append(elems, elem{kind: patStar})
		case 2:
			elems = append(elems, elem{kind: patDoubleStar})
			m.double = true
		default:
			return Pattern{}, fmt.Errorf("pattern: %d '*' in a row at offset %d (use '*' or '**')", n, i)
		}
		i += n
	}
	if m.prefixLen < 0 {
		m.prefixLen = len(s)
		m.exact = true
	}
	m.final = len(elems)
	m.words = m.final/64 + 1
	m.star = make([]uint64, m.words)
	m.anyStar = make([]uint64, m.words)
	m.dstar = make([]uint64, m.words)
	for i, e := range elems {
		w, bit := i/64, uint64(1)<<(i%64)
		switch e.kind {
		case patStar:
			m.star[w] |= bit
			m.anyStar[w] |= bit
		case patDoubleStar:
			m.dstar[w] |= bit
			m.anyStar[w] |= bit
		default:
			if m.byteIndex[e.b] == 0 {
				m.lit = append(m.lit, make([]uint64, m.words))
				m.byteIndex[e.b] = uint16(len(m.lit))
			}
			m.lit[m.byteIndex[e.b]-1][w] |= bit
		}
	}
	return Pattern{src: s, m: m}, nil
}

// unprintableError reports invalid UTF-8 and characters that are not
// printable (control, format and non-ASCII space characters).
func unprintableError(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("invalid UTF-8")
	}
	for i, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("unprintable character %U at offset %d", r, i)
		}
	}
	return nil
}

// String returns the pattern's source text.
func (p Pattern) String() string { return p.src }

// Exact reports whether the pattern has no wildcard.
func (p Pattern) Exact() bool { return p.m != nil && p.m.exact }

// HasDoubleStar reports whether the pattern contains '**'.
func (p Pattern) HasDoubleStar() bool { return p.m != nil && p.m.double }

// LiteralPrefix returns the text before the first wildcard (all of it for
// an exact pattern).
func (p Pattern) LiteralPrefix() string {
	if p.m == nil {
		return ""
	}
	return p.src[:p.m.prefixLen]
}

// Match reports whether the whole of s matches. It runs in
// O(len(p)·len(s)/64) time and allocates nothing.
func (p Pattern) Match(s string) bool {
	m := p.m
	if m == nil {
		return false
	}
	if m.exact {
		return s == p.src
	}
	if !strings.HasPrefix(s, p.src[:m.prefixLen]) {
		return false
	}
	var buf [maxPatternLen/64 + 1]uint64
	state := buf[:m.words]
	state[0] = 1
	m.closure(state)
	for i := 0; i < len(s); i++ {
		c := s[i]
		var lit []uint64
		if k := m.byteIndex[c]; k != 0 {
			lit = m.lit[k-1]
		}
		stay := m.dstar
		if c != '/' && c != ':' {
			stay = m.anyStar
		}
		var carry, alive uint64
		for w := range state {
			old := state[w]
			var adv uint64
			if lit != nil {
				adv = old & lit[w]
			}
			state[w] = adv<<1 | carry | old&stay[w]
			carry = adv >> 63
			alive |= state[w]
		}
		if alive == 0 {
			return false
		}
		m.closure(state)
	}
	return state[m.final/64]&(1<<(m.final%64)) != 0
}

// closure adds, for every live position followed by a wildcard, the
// position after it (the wildcard matching nothing). Wildcards are never
// adjacent, so one pass suffices.
func (m *patternMachine) closure(state []uint64) {
	var carry uint64
	for w := range state {
		skip := state[w] & m.anyStar[w]
		state[w] |= skip<<1 | carry
		carry = skip >> 63
	}
}

// AWSSubjects returns the strings an AWS caller ARN is matched as: the ARN
// itself and, for an assumed-role session arn:P:sts::A:assumed-role/R/S,
// the role's ARN arn:P:iam::A:role/R (without a path, which
// GetCallerIdentity does not report).
func AWSSubjects(callerARN string) []string {
	out := []string{callerARN}
	parts := strings.SplitN(callerARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "sts" || parts[3] != "" || !arn.IsAccountID(parts[4]) {
		return out
	}
	rest, ok := strings.CutPrefix(parts[5], "assumed-role/")
	if !ok {
		return out
	}
	role, session, ok := strings.Cut(rest, "/")
	if !ok || role == "" || session == "" || strings.Contains(session, "/") {
		return out
	}
	return append(out, "arn:"+parts[1]+":iam::"+parts[4]+":role/"+role)
}
