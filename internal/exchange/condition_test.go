package exchange

import (
	"strings"
	"testing"
)

func mustCondition(t testing.TB, claim string, op Operator, values ...string) Condition {
	t.Helper()
	c, err := NewCondition(claim, op, values)
	if err != nil {
		t.Fatalf("NewCondition(%q, %q, %q): %v", claim, op, values, err)
	}
	return c
}

func TestNewConditionErrors(t *testing.T) {
	many := make([]string, 101)
	for i := range many {
		many[i] = "v"
	}
	tests := []struct {
		name    string
		claim   string
		op      Operator
		values  []string
		wantErr string
	}{
		{"bad path", "a..b", Equals, []string{"x"}, "invalid claim path"},
		{"empty path", "", Equals, []string{"x"}, "invalid claim path"},
		{"unknown operator", "sub", "StringEquals", []string{"x"}, "unknown operator"},
		{"empty operator", "sub", "", []string{"x"}, "unknown operator"},
		{"no values", "sub", Equals, nil, "no values"},
		{"too many values", "sub", AnyOf, many, "101 values"},
		{"value too long", "sub", Equals, []string{"ok", strings.Repeat("x", 1025)}, "value 2 longer than 1024"},
		{"bad like pattern", "sub", Like, []string{"a***"}, "value 1: pattern"},
		{"empty like pattern", "sub", NotLike, []string{""}, "pattern: empty"},
		{"unprintable like pattern", "sub", Like, []string{"a\nb"}, "unprintable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCondition(tt.claim, tt.op, tt.values)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	for _, op := range []Operator{Equals, NotEquals, Like, NotLike, AnyOf, AllOf} {
		if _, err := NewCondition("sub", op, []string{strings.Repeat("x", 1024)}); err != nil {
			t.Errorf("%s with a 1024-byte value: %v", op, err)
		}
	}
	if _, err := NewCondition("sub", Equals, many[:100]); err != nil {
		t.Errorf("100 values: %v", err)
	}
	// An empty string is a valid literal value.
	if _, err := NewCondition("sub", Equals, []string{""}); err != nil {
		t.Errorf("empty equals value: %v", err)
	}
}

func TestNewConditionCopiesValues(t *testing.T) {
	values := []string{"a"}
	c := mustCondition(t, "sub", Equals, values...)
	values[0] = "b"
	if ok, _ := c.Eval(Document{"sub": "a"}); !ok {
		t.Fatal("condition changed with the caller's slice")
	}
}

func TestConditionEval(t *testing.T) {
	doc, err := DecodeDocument([]byte(`{
		"sub": "repo:octo-org/app:ref:refs/heads/main",
		"repository_owner": "octo-org",
		"run_attempt": 2,
		"ratio": 1.50,
		"private": true,
		"nothing": null,
		"obj": {"k": "v"},
		"groups": ["dev", "ops"],
		"one": ["dev"],
		"empty": [],
		"mixed": ["dev", {"x": 1}],
		"numbers": [1, 2],
		"aws_claims": {"account": "123456789012", "arn": "arn:aws:sts::123456789012:assumed-role/R/s"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		claim   string
		op      Operator
		values  []string
		want    bool
		wantWhy string // a substring of the explanation when it fails
	}{
		// equals
		{"repository_owner", Equals, []string{"octo-org"}, true, ""},
		{"repository_owner", Equals, []string{"x", "octo-org"}, true, ""},
		{"repository_owner", Equals, []string{"Octo-Org"}, false, `claim "repository_owner" is "octo-org", which equals none`},
		{"repository_owner", Equals, []string{"octo-org "}, false, "equals none"},
		{"run_attempt", Equals, []string{"2"}, true, ""},
		{"ratio", Equals, []string{"1.5"}, false, `is "1.50"`}, // numbers compare as text
		{"ratio", Equals, []string{"1.50"}, true, ""},
		{"private", Equals, []string{"true"}, true, ""},
		{"private", Equals, []string{"True"}, false, "equals none"},
		{"aws_claims.account", Equals, []string{"123456789012"}, true, ""},
		{"aws_claims.region", Equals, []string{"x"}, false, `claim "aws_claims.region" is missing`},
		{"missing", Equals, []string{"x"}, false, "is missing"},
		{"nothing", Equals, []string{""}, false, "not a string, number or boolean"},
		{"obj", Equals, []string{"x"}, false, "not a string, number or boolean"},
		{"groups", Equals, []string{"dev"}, false, "is an array; equals needs a single value"},
		{"one", Equals, []string{"dev"}, false, "is an array"},
		// not_equals
		{"repository_owner", NotEquals, []string{"evil"}, true, ""},
		{"repository_owner", NotEquals, []string{"evil", "octo-org"}, false, "one of the excluded values"},
		{"missing", NotEquals, []string{"evil"}, false, "is missing"},
		{"nothing", NotEquals, []string{"evil"}, false, "not a string"},
		{"groups", NotEquals, []string{"evil"}, false, "is an array"},
		// like
		{"sub", Like, []string{"repo:octo-org/app:*"}, false, "matches none of the patterns"},
		{"sub", Like, []string{"repo:octo-org/app:**"}, true, ""},
		{"sub", Like, []string{"repo:other/*:**", "repo:octo-org/*:ref:refs/heads/*"}, true, ""},
		{"sub", Like, []string{"repo:octo-org/app:ref:refs/heads/main"}, true, ""},
		{"missing", Like, []string{"**"}, false, "is missing"},
		{"groups", Like, []string{"**"}, false, "is an array; like needs"},
		{"run_attempt", Like, []string{"*"}, true, ""},
		// not_like
		{"sub", NotLike, []string{"repo:*/app:ref:refs/heads/dev"}, true, ""},
		{"sub", NotLike, []string{"x", "**:refs/heads/main"}, false, `matches the excluded pattern "**:refs/heads/main"`},
		{"missing", NotLike, []string{"x"}, false, "is missing"},
		{"groups", NotLike, []string{"x"}, false, "is an array"},
		{"obj", NotLike, []string{"x"}, false, "not a string"},
		// any_of
		{"groups", AnyOf, []string{"ops"}, true, ""},
		{"groups", AnyOf, []string{"admin", "dev"}, true, ""},
		{"groups", AnyOf, []string{"admin"}, false, "none of the values among its 2 elements"},
		{"repository_owner", AnyOf, []string{"octo-org", "x"}, true, ""},
		{"repository_owner", AnyOf, []string{"x"}, false, `is "octo-org", which is not among the values`},
		{"numbers", AnyOf, []string{"2"}, true, ""},
		{"empty", AnyOf, []string{"dev"}, false, "none of the values among its 0 elements"},
		{"mixed", AnyOf, []string{"dev"}, false, "element 2 that is not a string"},
		{"obj", AnyOf, []string{"x"}, false, "not a string, number, boolean or array"},
		{"nothing", AnyOf, []string{"x"}, false, "not a string, number, boolean or array"},
		{"missing", AnyOf, []string{"x"}, false, "is missing"},
		// all_of
		{"groups", AllOf, []string{"dev", "ops", "admin"}, true, ""},
		{"groups", AllOf, []string{"dev"}, false, `has the element "ops", which is not among the values`},
		{"one", AllOf, []string{"dev"}, true, ""},
		{"repository_owner", AllOf, []string{"octo-org"}, true, ""},
		{"repository_owner", AllOf, []string{"x"}, false, `"octo-org", which is not among`},
		{"empty", AllOf, []string{"dev"}, false, "is an empty array"},
		{"mixed", AllOf, []string{"dev"}, false, "element 2"},
		{"missing", AllOf, []string{"dev"}, false, "is missing"},
	}
	for _, tt := range tests {
		c := mustCondition(t, tt.claim, tt.op, tt.values...)
		ok, why := c.Eval(doc)
		if ok != tt.want {
			t.Errorf("%s %s %q = %v (%s), want %v", tt.claim, tt.op, tt.values, ok, why, tt.want)
			continue
		}
		if ok && why != "" {
			t.Errorf("%s %s %q held with explanation %q", tt.claim, tt.op, tt.values, why)
		}
		if !ok && !strings.Contains(why, tt.wantWhy) {
			t.Errorf("%s %s %q explanation = %q, want it to contain %q", tt.claim, tt.op, tt.values, why, tt.wantWhy)
		}
	}
}

func TestConditionExplanationHidesValues(t *testing.T) {
	long := strings.Repeat("s", 129)
	tests := []struct {
		value   string
		want    string
		notWant string
	}{
		{long, "a 129-byte value", long},
		{strings.Repeat("s", 128), `"` + strings.Repeat("s", 128) + `"`, ""},
		{"a\nb\x1b[31m", `"a\nb\x1b[31m"`, "\n"},
		{"x\u202ey", `"x\u202ey"`, "\u202e"},
		{"a\xffb", `"a\xffb"`, "\xff"},
	}
	for _, tt := range tests {
		c := mustCondition(t, "sub", Equals, "other")
		ok, why := c.Eval(Document{"sub": tt.value})
		if ok {
			t.Fatalf("%q held", tt.value)
		}
		if !strings.Contains(why, tt.want) || (tt.notWant != "" && strings.Contains(why, tt.notWant)) {
			t.Errorf("explanation for %q = %q, want it to contain %q and not %q", tt.value, why, tt.want, tt.notWant)
		}
	}
}

func TestConditionNotBuiltFailsClosed(t *testing.T) {
	doc := Document{"sub": "x"}
	tests := []Condition{
		{Claim: "sub", Op: NotLike, Values: []string{"y"}}, // patterns not compiled
		{Claim: "sub", Op: Like, Values: []string{"x"}},
		{Claim: "sub", Op: NotEquals},                     // no values
		{Claim: "sub", Op: AllOf},                         // no values
		{Claim: "sub", Op: "nope", Values: []string{"x"}}, // unknown operator
		{},
	}
	for _, c := range tests {
		if ok, why := c.Eval(doc); ok || why == "" {
			t.Errorf("%+v.Eval = %v, %q; want false with a reason", c, ok, why)
		}
	}
}

func TestConditionExact(t *testing.T) {
	tests := []struct {
		op     Operator
		values []string
		want   bool
	}{
		{Equals, []string{"octo-org"}, true},
		{AnyOf, []string{"a", "b"}, true},
		{Like, []string{"octo-org", "other"}, true},
		{Like, []string{"octo-org", "oth*"}, false},
		{Like, []string{"**"}, false},
		{NotEquals, []string{"a"}, false},
		{NotLike, []string{"a"}, false},
		{AllOf, []string{"a"}, false},
	}
	for _, tt := range tests {
		if got := mustCondition(t, "repository_owner", tt.op, tt.values...).Exact(); got != tt.want {
			t.Errorf("%s %q Exact = %v, want %v", tt.op, tt.values, got, tt.want)
		}
	}
	if (Condition{Claim: "sub", Op: Like, Values: []string{"x"}}).Exact() {
		t.Error("an uncompiled like condition reported Exact")
	}
	if (Condition{Claim: "sub", Op: Equals}).Exact() {
		t.Error("an equals condition without values reported Exact")
	}
}
