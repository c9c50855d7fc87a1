package policy

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// family is a condition operator family
// (reference_policies_elements_condition_operators).
type family uint8

const (
	famString family = iota + 1
	famStringIgnoreCase
	famStringLike
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famARN
	famNull
)

// cmp is the comparison of a numeric or date operator.
type cmp uint8

const (
	cmpEq cmp = iota
	cmpLT
	cmpLE
	cmpGT
	cmpGE
)

type opInfo struct {
	fam    family
	cmp    cmp
	negate bool
}

// operators maps every operator name, without IfExists or a set prefix.
var operators = map[string]opInfo{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negate: true},
	"StringEqualsIgnoreCase":    {fam: famStringIgnoreCase},
	"StringNotEqualsIgnoreCase": {fam: famStringIgnoreCase, negate: true},
	"StringLike":                {fam: famStringLike},
	"StringNotLike":             {fam: famStringLike, negate: true},
	"NumericEquals":             {fam: famNumeric},
	"NumericNotEquals":          {fam: famNumeric, negate: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLT},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLE},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGT},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGE},
	"DateEquals":                {fam: famDate},
	"DateNotEquals":             {fam: famDate, negate: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLT},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLE},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGT},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGE},
	"Bool":                      {fam: famBool},
	"BinaryEquals":              {fam: famBinary},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negate: true},
	"ArnEquals":                 {fam: famARN},
	"ArnLike":                   {fam: famARN},
	"ArnNotEquals":              {fam: famARN, negate: true},
	"ArnNotLike":                {fam: famARN, negate: true},
	"Null":                      {fam: famNull},
}

// setOp is a ForAllValues: or ForAnyValue: qualifier.
type setOp uint8

const (
	setNone setOp = iota
	setAll
	setAny
)

// condition is one (operator, key, values) triple of a Condition block.
type condition struct {
	op string // as written, for messages
	opInfo
	ifExists bool
	set      setOp
	key      string // lower-cased
	keyName  string // as written
	values   []condValue
}

type condValue struct {
	pat    pattern    // string families
	arn    arnPattern // ARN family
	num    float64
	time   time.Time
	bool   bool
	bin    []byte
	prefix netip.Prefix
}

// parseOperator splits "ForAnyValue:StringLikeIfExists" into its parts.
func parseOperator(name string) (condition, bool) {
	c := condition{op: name}
	rest := name
	if r, ok := strings.CutPrefix(rest, "ForAllValues:"); ok {
		c.set, rest = setAll, r
	} else if r, ok := strings.CutPrefix(rest, "ForAnyValue:"); ok {
		c.set, rest = setAny, r
	}
	info, ok := operators[rest]
	if !ok {
		base, cut := strings.CutSuffix(rest, "IfExists")
		if !cut {
			return c, false
		}
		if info, ok = operators[base]; !ok || info.fam == famNull {
			return c, false
		}
		c.ifExists = true
	}
	if info.fam == famNull && c.set != setNone {
		return c, false
	}
	c.opInfo = info
	return c, true
}

// compileValue checks and compiles one policy value for the operator.
func (c *condition) compileValue(raw string, vars bool) (condValue, error) {
	var v condValue
	var err error
	switch c.fam {
	case famString, famStringIgnoreCase:
		v.pat, err = compile(raw, compileOpts{vars: vars})
	case famStringLike:
		v.pat, err = compile(raw, compileOpts{vars: vars, wild: true})
	case famARN:
		v.arn, err = compileARN(raw, compileOpts{vars: vars, wild: true})
	case famNumeric:
		var ok bool
		if v.num, ok = parseNumber(raw); !ok {
			err = fmt.Errorf("invalid number %q", raw)
		}
	case famDate:
		var ok bool
		if v.time, ok = parseDate(raw); !ok {
			err = fmt.Errorf("invalid date %q", raw)
		}
	case famBool, famNull:
		switch strings.ToLower(raw) {
		case "true":
			v.bool = true
		case "false":
		default:
			err = fmt.Errorf("invalid boolean %q", raw)
		}
	case famBinary:
		v.bin, err = base64.StdEncoding.DecodeString(raw)
	case famIP:
		v.prefix, err = parsePrefix(raw)
	}
	if err != nil {
		return condValue{}, fmt.Errorf("invalid value for %s: %q", c.op, raw)
	}
	return v, nil
}

// parseDate accepts the ISO 8601 forms IAM documents and epoch seconds
// (reference_policies_elements_condition_operators, date operators).
func parseDate(s string) (time.Time, bool) {
	if s != "" && strings.Trim(s, "0123456789") == "" && len(s) <= 12 {
		n, err := strconv.ParseInt(s, 10, 64)
		return time.Unix(n, 0).UTC(), err == nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseNumber accepts plain decimal numbers only: no hexadecimal, no
// exponent, no Inf or NaN, which strconv would take.
func parseNumber(s string) (float64, bool) {
	t := strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(t, ".")
	if whole == "" || strings.Trim(whole, "0123456789") != "" || dot && (frac == "" || strings.Trim(frac, "0123456789") != "") || len(s) > 40 {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	return n, err == nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// eval decides the condition for ctx: values of one key are ORed, negated
// operators NOR them; an absent key makes positive operators false and
// negated ones true; ...IfExists is true when the key is absent;
// ForAllValues is true for an absent key, ForAnyValue false
// (reference_policies_multi-value-conditions,
// reference_policies_condition-single-vs-multi-valued-context-keys).
func (c *condition) eval(ctx *Context) bool {
	vals, _ := ctx.get(c.key)
	if c.fam == famNull {
		absent := len(vals) == 0
		for _, v := range c.values {
			if v.bool == absent {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		switch {
		case c.ifExists, c.set == setAll:
			return true
		case c.set == setAny:
			return false
		}
		return c.negate
	}
	switch c.set {
	case setAll:
		for _, v := range vals {
			if c.matches(ctx, v) == c.negate {
				return false
			}
		}
		return true
	case setAny:
		for _, v := range vals {
			if c.matches(ctx, v) != c.negate {
				return true
			}
		}
		return false
	}
	for _, v := range vals {
		if c.matches(ctx, v) {
			return !c.negate
		}
	}
	return c.negate
}

// matches reports whether one context value matches any policy value,
// ignoring negation.
func (c *condition) matches(ctx *Context, s string) bool {
	switch c.fam {
	case famString, famStringIgnoreCase:
		for i := range c.values {
			want, ok := c.values[i].pat.text(ctx)
			if !ok {
				continue
			}
			if c.fam == famString && want == s || c.fam == famStringIgnoreCase && strings.EqualFold(want, s) {
				return true
			}
		}
	case famStringLike:
		for i := range c.values {
			if c.values[i].pat.match(ctx, s) {
				return true
			}
		}
	case famARN:
		for i := range c.values {
			if c.values[i].arn.match(ctx, s) {
				return true
			}
		}
	case famNumeric:
		n, ok := parseNumber(s)
		if !ok {
			return false
		}
		for _, v := range c.values {
			if compare(c.cmp, cmpFloat(n, v.num)) {
				return true
			}
		}
	case famDate:
		t, ok := parseDate(s)
		if !ok {
			return false
		}
		for _, v := range c.values {
			if compare(c.cmp, t.Compare(v.time)) {
				return true
			}
		}
	case famBool:
		var b bool
		switch {
		case strings.EqualFold(s, "true"):
			b = true
		case strings.EqualFold(s, "false"):
		default:
			return false
		}
		for _, v := range c.values {
			if v.bool == b {
				return true
			}
		}
	case famBinary:
		got, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return false
		}
		for _, v := range c.values {
			if bytes.Equal(got, v.bin) {
				return true
			}
		}
	case famIP:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, v := range c.values {
			if v.prefix.Contains(a) {
				return true
			}
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compare(c cmp, r int) bool {
	switch c {
	case cmpLT:
		return r < 0
	case cmpLE:
		return r <= 0
	case cmpGT:
		return r > 0
	case cmpGE:
		return r >= 0
	}
	return r == 0
}
