package policy

import (
	"reflect"
	"testing"
)

func TestBindPrincipals(t *testing.T) {
	d, err := Parse(Trust, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/alice","111122223333","arn:aws:iam::444455556666:role/x"]},"Action":"sts:AssumeRole"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	bound := d.BindPrincipals(func(p string) (string, bool) {
		if p == "arn:aws:iam::111122223333:user/alice" {
			return "AIDAOLDALICEOLDALICE1", true
		}
		return "", false
	})
	if got, want := bound.AWSPrincipals(), []string{"AIDAOLDALICEOLDALICE1", "111122223333", "arn:aws:iam::444455556666:role/x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("bound principals %v, want %v", got, want)
	}
	if got := d.AWSPrincipals()[0]; got != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("the original document changed: %s", got)
	}
	set := func(doc *Document) *Set {
		return &Set{Resource: &Named{Doc: doc}, ResourceAccount: "111122223333", RequireResource: true}
	}
	newAlice := &Request{Principal: Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice", UniqueID: "AIDANEWALICENEWALICE1"}, Action: "sts:AssumeRole"}
	if d := Decide(set(bound), newAlice); d.Reason != NoIdentityAllow {
		// Still trusted through the account principal, which delegates
		// to identity policies she does not have.
		t.Errorf("re-created alice: %+v", d)
	}
	if d := Decide(set(d), newAlice); !d.Allowed {
		t.Errorf("unbound document: %+v", d)
	}
}

func TestBroadTrust(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want []string
	}{
		{`{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}`, []string{"statement 1 trusts every principal"}},
		{`{"Statement":{"Sid":"X","Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}}`, []string{"statement 1 (X) trusts every principal"}},
		{`{"Statement":{"Effect":"Allow","Principal":{"AWS":["444455556666","arn:aws:iam::777788889999:root","111122223333"]},"Action":"sts:AssumeRole"}}`,
			[]string{"statement 1 trusts every principal of account 444455556666", "statement 1 trusts every principal of account 777788889999"}},
		{`{"Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity"}}`,
			[]string{"statement 1 trusts every identity of arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}},
		// Conditions, a Deny, or the own account or a named principal are fine.
		{`{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}}`, nil},
		{`{"Statement":{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}}`, nil},
		{`{"Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:role/ci"]},"Action":"sts:AssumeRole"}}`, nil},
	} {
		d, err := Parse(Trust, c.doc)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.BroadTrust("111122223333"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", c.doc, got, c.want)
		}
	}
}

func TestCharCount(t *testing.T) {
	if n := CharCount("{ \"a\" :\n\t\"b c\" }"); n != 10 {
		t.Errorf("CharCount = %d, want 10", n)
	}
}

// TestFederatedGrantsScoping pins which conditions count as scoping trust
// in a multi-tenant provider to one tenant (security.md V-21).
func TestFederatedGrantsScoping(t *testing.T) {
	const p = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
	cases := []struct {
		cond string
		want bool
	}{
		{`{"StringEquals": {"k:sub": "repo:org/app:ref:refs/heads/main"}}`, true},
		{`{"StringLike": {"k:sub": "repo:org/app:*"}}`, true},
		{`{"StringLike": {"k:sub": "repo:org/*"}}`, true},
		{`{"StringLike": {"k:sub": "repo:*"}}`, false},
		{`{"StringLike": {"k:sub": "repo:org*"}}`, false},
		{`{"StringLike": {"k:sub": "*"}}`, false},
		{`{"StringLike": {"k:sub": ["repo:org/*", "*"]}}`, false},
		{`{"StringEquals": {"k:sub": "*"}}`, true}, // a literal asterisk
		{`{"StringNotEquals": {"k:sub": "repo:org/app"}}`, false},
		{`{"StringEqualsIfExists": {"k:sub": "repo:org/app"}}`, false},
		{`{"ForAllValues:StringEquals": {"k:sub": "repo:org/app"}}`, false},
		{`{"Null": {"k:sub": "false"}}`, false},
		{`{"NumericEquals": {"k:repository_id": "123"}}`, true},
		{`{"NumericGreaterThan": {"k:repository_id": "0"}}`, false},
	}
	for _, c := range cases {
		doc, err := Parse(Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"`+p+
			`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":`+c.cond+`}}`)
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		g := doc.FederatedGrants(p)
		if len(g) != 1 || (len(g[0].Keys) == 1) != c.want {
			t.Errorf("%s: grants %+v, want restricting=%v", c.cond, g, c.want)
		}
	}
}
