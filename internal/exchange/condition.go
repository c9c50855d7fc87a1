package exchange

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Operator is how a Condition compares a claim with its values.
type Operator string

// The claim condition operators.
const (
	Equals    Operator = "equals"     // a scalar equal to one of the values
	NotEquals Operator = "not_equals" // a scalar equal to none of the values
	Like      Operator = "like"       // a scalar matching one of the patterns
	NotLike   Operator = "not_like"   // a scalar matching none of the patterns
	AnyOf     Operator = "any_of"     // a scalar or array with an element among the values
	AllOf     Operator = "all_of"     // a scalar or non-empty array whose elements are all among the values
)

// Limits on a condition's values.
const (
	maxConditionValues   = 100
	maxConditionValueLen = 1024
	// maxExplainedValueLen is the longest claim value an explanation quotes.
	maxExplainedValueLen = 128
)

// Condition is a test on one claim of a Document. Build it with
// NewCondition; a Condition that was not fails every evaluation it cannot
// decide safely.
type Condition struct {
	Claim    string
	Op       Operator
	Values   []string
	patterns []Pattern // compiled Values, for Like and NotLike
}

// NewCondition checks and compiles a condition: claim is a ValidPath, op a
// known operator, and values 1–100 strings of at most 1024 bytes, which
// compile as patterns for Like and NotLike.
func NewCondition(claim string, op Operator, values []string) (Condition, error) {
	if !ValidPath(claim) {
		return Condition{}, fmt.Errorf("condition: invalid claim path %q", claim)
	}
	switch op {
	case Equals, NotEquals, Like, NotLike, AnyOf, AllOf:
	default:
		return Condition{}, fmt.Errorf("condition on %s: unknown operator %q", claim, string(op))
	}
	if len(values) == 0 {
		return Condition{}, fmt.Errorf("condition on %s: no values", claim)
	}
	if len(values) > maxConditionValues {
		return Condition{}, fmt.Errorf("condition on %s: %d values, more than %d", claim, len(values), maxConditionValues)
	}
	c := Condition{Claim: claim, Op: op, Values: append([]string(nil), values...)}
	for i, v := range values {
		if len(v) > maxConditionValueLen {
			return Condition{}, fmt.Errorf("condition on %s: value %d longer than %d bytes", claim, i+1, maxConditionValueLen)
		}
		if op == Like || op == NotLike {
			p, err := CompilePattern(v)
			if err != nil {
				return Condition{}, fmt.Errorf("condition on %s: value %d: %w", claim, i+1, err)
			}
			c.patterns = append(c.patterns, p)
		}
	}
	return c, nil
}

// Exact reports whether the condition only admits literal values: Equals
// or AnyOf, or Like whose patterns have no wildcard.
func (c Condition) Exact() bool {
	switch c.Op {
	case Equals, AnyOf:
		return len(c.Values) > 0
	case Like:
		if len(c.patterns) == 0 || len(c.patterns) != len(c.Values) {
			return false
		}
		for _, p := range c.patterns {
			if !p.Exact() {
				return false
			}
		}
		return true
	}
	return false
}

// Eval reports whether the condition holds for d and, when it does not, a
// short explanation. A missing claim fails every operator.
func (c Condition) Eval(d Document) (bool, string) {
	if len(c.Values) == 0 {
		return false, fmt.Sprintf("condition on claim %q has no values", c.Claim)
	}
	if (c.Op == Like || c.Op == NotLike) && len(c.patterns) != len(c.Values) {
		return false, fmt.Sprintf("condition on claim %q was not compiled", c.Claim)
	}
	v, ok := d.Lookup(c.Claim)
	if !ok {
		return false, fmt.Sprintf("claim %q is missing", c.Claim)
	}
	switch c.Op {
	case Equals, NotEquals, Like, NotLike:
		if _, isArray := v.([]any); isArray {
			return false, fmt.Sprintf("claim %q is an array; %s needs a single value (use any_of or all_of)", c.Claim, c.Op)
		}
		s, ok := Scalar(v)
		if !ok {
			return false, fmt.Sprintf("claim %q is not a string, number or boolean", c.Claim)
		}
		return c.evalScalar(s)
	case AnyOf, AllOf:
		elems, err := scalarElems(v)
		if err != nil {
			return false, fmt.Sprintf("claim %q %s", c.Claim, err)
		}
		return c.evalSet(elems)
	}
	return false, fmt.Sprintf("condition on claim %q has unknown operator %q", c.Claim, string(c.Op))
}

func (c Condition) evalScalar(s string) (bool, string) {
	switch c.Op {
	case Equals:
		if c.has(s) {
			return true, ""
		}
		return false, fmt.Sprintf("claim %q is %s, which equals none of the values", c.Claim, explainValue(s))
	case NotEquals:
		if !c.has(s) {
			return true, ""
		}
		return false, fmt.Sprintf("claim %q is %s, which is one of the excluded values", c.Claim, explainValue(s))
	case Like:
		for _, p := range c.patterns {
			if p.Match(s) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("claim %q is %s, which matches none of the patterns", c.Claim, explainValue(s))
	default: // NotLike
		for _, p := range c.patterns {
			if p.Match(s) {
				return false, fmt.Sprintf("claim %q is %s, which matches the excluded pattern %s", c.Claim, explainValue(s), explainValue(p.String()))
			}
		}
		return true, ""
	}
}

func (c Condition) evalSet(elems []string) (bool, string) {
	if c.Op == AnyOf {
		for _, e := range elems {
			if c.has(e) {
				return true, ""
			}
		}
		if len(elems) == 1 {
			return false, fmt.Sprintf("claim %q is %s, which is not among the values", c.Claim, explainValue(elems[0]))
		}
		return false, fmt.Sprintf("claim %q has none of the values among its %d elements", c.Claim, len(elems))
	}
	if len(elems) == 0 {
		return false, fmt.Sprintf("claim %q is an empty array", c.Claim)
	}
	for _, e := range elems {
		if !c.has(e) {
			return false, fmt.Sprintf("claim %q has the element %s, which is not among the values", c.Claim, explainValue(e))
		}
	}
	return true, ""
}

func (c Condition) has(s string) bool { return slices.Contains(c.Values, s) }

// scalarElems returns a scalar as one element, or the elements of an array
// of scalars.
func scalarElems(v any) ([]string, error) {
	if s, ok := Scalar(v); ok {
		return []string{s}, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, errors.New("is not a string, number, boolean or array of them")
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := Scalar(e)
		if !ok {
			return nil, fmt.Errorf("has element %d that is not a string, number or boolean", i+1)
		}
		out[i] = s
	}
	return out, nil
}

// explainValue quotes a value for an explanation, escaping control and
// other unprintable characters; values over 128 bytes are described, not
// shown.
func explainValue(s string) string {
	if len(s) > maxExplainedValueLen {
		return fmt.Sprintf("a %d-byte value", len(s))
	}
	return strconv.Quote(s)
}
