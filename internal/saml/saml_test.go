package saml

import (
	"crypto/sha1"
	"encoding/base64"
	"slices"
	"testing"
	"time"
)

func TestSubjectType(t *testing.T) {
	for in, want := range map[string]string{
		"urn:oasis:names:tc:SAML:2.0:nameid-format:transient":    "transient",
		"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent":   "persistent",
		"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		"": UnspecifiedFormat,
	} {
		if got := SubjectType(in); got != want {
			t.Errorf("SubjectType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNameQualifier(t *testing.T) {
	// IAM User Guide: BASE64(SHA1("https://example.com/saml" + "123456789012" + "/MySAMLIdP")).
	sum := sha1.Sum([]byte("https://example.com/saml123456789012/MySAMLIdP"))
	if got := NameQualifier("https://example.com/saml", "123456789012", "MySAMLIdP"); got != base64.StdEncoding.EncodeToString(sum[:]) || len(got) != 28 {
		t.Fatalf("NameQualifier = %q", got)
	}
}

func TestRolePairs(t *testing.T) {
	const role, idp = "arn:aws:iam::111122223333:role/R", "arn:aws:iam::111122223333:saml-provider/P"
	got := RolePairs([]string{role + "," + idp, idp + ", " + role, role, role + "," + idp + ",x", role + "," + role})
	if !slices.Equal(got, []RolePair{{role, idp}, {role, idp}}) {
		t.Fatalf("pairs %v", got)
	}
}

func TestConditionKeysMergeAliases(t *testing.T) {
	a := &Assertion{Issuer: "i", Subject: "s", Attributes: []Attribute{
		{Name: "urn:oid:1.3.6.1.4.1.5923.1.1.1.1", Values: []string{"staff"}},
		{Name: "urn:oid:1.3.6.1.4.1.5923.1.1.1.1", Values: []string{"member"}},
		{Name: "urn:oid:0.9.2342.19200300.100.1.3", Values: []string{"a@x"}},
	}}
	keys, err := ConditionKeys(a, "https://k/saml", "111122223333", "P")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, k := range keys {
		got[k.Name] = k.Values
	}
	if !slices.Equal(got["saml:edupersonaffiliation"], []string{"staff", "member"}) || !slices.Equal(got["saml:mail"], []string{"a@x"}) ||
		got["saml:aud"][0] != "https://k/saml" || got["saml:doc"][0] != "111122223333/P" {
		t.Fatalf("keys %v", got)
	}
}

// Leeway works both ways at its exact edges (SAML-14, SAML-15).
func TestCheckLeewayEdges(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	e := Expectations{Issuer: "i", Audiences: []string{"aud"}, Recipients: []string{"r"}, Leeway: time.Minute, MaxAge: 5 * time.Minute}
	valid := func() *Assertion {
		return &Assertion{ID: "_1", Issuer: "i", Subject: "s", IssueInstant: now, AudienceRestrictions: [][]string{{"aud"}},
			Confirmations: []Confirmation{{Method: Bearer, Recipient: "r", NotOnOrAfter: now.Add(time.Minute), HasData: true}}}
	}
	for _, tc := range []struct {
		name   string
		edit   func(a *Assertion)
		reason string
	}{
		{"valid", func(a *Assertion) {}, ""},
		{"expired within leeway", func(a *Assertion) { a.Confirmations[0].NotOnOrAfter = now.Add(-time.Minute + time.Second) }, ""},
		{"expired at leeway", func(a *Assertion) { a.Confirmations[0].NotOnOrAfter = now.Add(-time.Minute) }, "confirmation_expired"},
		{"not yet valid within leeway", func(a *Assertion) { a.NotBefore = now.Add(time.Minute) }, ""},
		{"not yet valid beyond leeway", func(a *Assertion) { a.NotBefore = now.Add(time.Minute + time.Second) }, "not_yet_valid"},
		{"issued 6 min ago", func(a *Assertion) { a.IssueInstant = now.Add(-6 * time.Minute) }, ""},
		{"issued 6 min 1 s ago", func(a *Assertion) { a.IssueInstant = now.Add(-6*time.Minute - time.Second) }, "issued_too_long_ago"},
		{"second audience restriction not ours", func(a *Assertion) { a.AudienceRestrictions = append(a.AudienceRestrictions, []string{"other"}) }, "audience_mismatch"},
	} {
		a := valid()
		tc.edit(a)
		_, err := Check(a, e, now)
		got := ""
		if err != nil {
			got = err.(*Error).Reason
		}
		if got != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.name, got, tc.reason)
		}
	}
}
