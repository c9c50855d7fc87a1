package arn_test

import (
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/arn"
)

func TestParse(t *testing.T) {
	good := map[string]arn.ARN{
		"arn:aws:iam::111122223333:user/alice":              {"aws", "iam", "", "111122223333", "user/alice"},
		"arn:aws:sts::111122223333:assumed-role/R/s:x":      {"aws", "sts", "", "111122223333", "assumed-role/R/s:x"},
		"arn:aws-us-gov:s3:us-gov-west-1::bucket/key":       {"aws-us-gov", "s3", "us-gov-west-1", "", "bucket/key"},
		"arn:aws:iam::111122223333:mfa/bob":                 {"aws", "iam", "", "111122223333", "mfa/bob"},
		"arn:aws:iam::aws:policy/AdministratorAccess":       {"aws", "iam", "", "aws", "policy/AdministratorAccess"},
		"arn:aws:iam::111122223333:role/path/with/many/one": {"aws", "iam", "", "111122223333", "role/path/with/many/one"},
	}
	for s, want := range good {
		got, err := arn.Parse(s)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("round trip %q -> %q", s, got.String())
		}
	}
	for _, s := range []string{"", "arn", "nothing-valid-in-here", "arn:aws:iam::1", "arn::iam::1:x", "arn:aws:::1:x", "arn:aws:iam::1:", "urn:aws:iam::1:x"} {
		if _, err := arn.Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded", s)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	for s, want := range map[string]bool{"111122223333": true, "11112222333": false, "1111222233334": false, "11112222333a": false} {
		if arn.IsAccountID(s) != want {
			t.Errorf("IsAccountID(%q) != %v", s, want)
		}
	}
	for s, want := range map[string]bool{"alice": true, "a.b@c-d_e+f=g,h": true, "": false, "a b": false, "a/b": false, "a:b": false, string(make([]byte, 65)): false} {
		if arn.IsName(s) != want {
			t.Errorf("IsName(%q) != %v", s, want)
		}
	}
	for s, want := range map[string]bool{"/": true, "/a/": true, "/a/b/": true, "": false, "a/": false, "/a": false, "//": false, "/a b/": false} {
		if arn.IsPath(s) != want {
			t.Errorf("IsPath(%q) != %v", s, want)
		}
	}
	if got := arn.User("111122223333", "/dev/", "alice"); got != "arn:aws:iam::111122223333:user/dev/alice" {
		t.Errorf("User = %s", got)
	}
}

func TestCharacterClasses(t *testing.T) {
	for s, want := range map[string]bool{"arn:aws:iam::1:mfa/bob": true, "GAHT12345678": true, "a b": false, "a#b": false, "": true} {
		if arn.IsSerialChars(s) != want {
			t.Errorf("IsSerialChars(%q) != %v", s, want)
		}
	}
	for s, want := range map[string]bool{"AKIA_1a": true, "AKIA-1": false, "AKIA 1": false, "a/b": false} {
		if arn.IsWordChars(s) != want {
			t.Errorf("IsWordChars(%q) != %v", s, want)
		}
	}
}

func TestParseIAM(t *testing.T) {
	good := map[string][3]string{
		"arn:aws:iam::111122223333:role/Demo":           {"111122223333", "/", "Demo"},
		"arn:aws:iam::111122223333:role/team/a/Demo":    {"111122223333", "/team/a/", "Demo"},
		"arn:aws:iam::111122223333:role/x.y@z+=,-":      {"111122223333", "/", "x.y@z+=,-"},
		"arn:aws:iam::111122223333:policy/p/" + long128: {"111122223333", "/p/", long128},
	}
	for in, want := range good {
		typ := "role"
		if strings.Contains(in, ":policy/") {
			typ = "policy"
		}
		a, p, n, ok := arn.ParseIAM(in, typ)
		if !ok || [3]string{a, p, n} != want {
			t.Errorf("%s: %q %q %q %v", in, a, p, n, ok)
		}
	}
	for _, in := range []string{
		"arn:aws:iam::12:role/x",                    // AR-02: short account
		"arn:aws-cn:iam::111122223333:role/x",       // AR-02: other partition
		"arn:aws:iam::111122223333:user/x",          // AR-02: not a role
		"arn:aws:iam::111122223333:role/../admin",   // AR-02: traversal
		"arn:aws:iam::111122223333:role/a/./admin",  // AR-02: dot segment
		"arn:aws:iam::111122223333:role/x ",         // AR-02: trailing space
		"arn:aws:iam::111122223333:role/x\x00",      // AR-02: NUL
		"arn:aws:iam:us-east-1:111122223333:role/x", // region
		"arn:aws:sts::111122223333:role/x",          // service
		"arn:aws:iam::111122223333:role/",           // no name
		"arn:aws:iam::111122223333:role/" + long128, // name too long for a role
		"arn:aws:iam::111122223333:role//x",         // empty path segment
	} {
		if _, _, _, ok := arn.ParseIAM(in, "role"); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

var long128 = strings.Repeat("n", 128)
