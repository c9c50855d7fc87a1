package sts

import (
	"fmt"
	"testing"
)

// The cache returns the same compiled document for the same text, never
// caches a malformed one, and stays bounded.
func TestPolicyCache(t *testing.T) {
	s := New(Options{})
	text := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`
	a, err := s.parseSessionPolicy(text)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := s.parseSessionPolicy(text); b != a {
		t.Error("the same text was compiled twice")
	}
	if _, err := s.parseSessionPolicy(`{"Version":"2012-10-17"}`); err == nil {
		t.Error("malformed policy accepted")
	}
	for i := range maxCachedSessionPolicies + 10 {
		if _, err := s.parseSessionPolicy(fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"S%d","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`, i)); err != nil {
			t.Fatal(err)
		}
		if n := len(s.compiled.docs); n > maxCachedSessionPolicies {
			t.Fatalf("cache holds %d documents", n)
		}
	}
}
