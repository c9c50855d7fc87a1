package policy_test

import (
	"testing"

	"github.com/keyless-dev/keyless/internal/policy"
)

// A lazy context computes its keys once, when a policy first reads one:
// a policy without conditions never does; keys set explicitly before
// win over the ones it fills in.
func TestLazyContext(t *testing.T) {
	fills := 0
	newCtx := func() *policy.Context {
		return policy.NewLazyContext(4, func(c *policy.Context) {
			fills++
			c.Set("aws:PrincipalTag/team", "platform")
			c.Set("aws:MultiFactorAuthPresent", "false")
		})
	}
	plain, err := policy.Parse(policy.Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"keyless:Get*","Resource":"*"}}`)
	if err != nil {
		t.Fatal(err)
	}
	cond, err := policy.Parse(policy.Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"keyless:Get*","Resource":"*",
		"Condition":{"StringEquals":{"aws:PrincipalTag/team":"platform"},"Bool":{"aws:MultiFactorAuthPresent":"true"}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	decide := func(doc *policy.Document, ctx *policy.Context) bool {
		set := &policy.Set{Identity: []policy.Named{{Name: "p", Doc: doc}}}
		return policy.Decide(set, &policy.Request{Principal: policy.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/u"},
			Action: "keyless:GetIntegration", Resource: "arn:aws:keyless::111122223333:integration/s/n", Context: ctx}).Allowed
	}
	if !decide(plain, newCtx()) || fills != 0 {
		t.Errorf("a policy without conditions: fills %d", fills)
	}
	ctx := newCtx()
	if decide(cond, ctx) || fills != 1 {
		t.Errorf("the filled MFA key is false: allowed, or fills %d", fills)
	}
	ctx = newCtx()
	ctx.Set("aws:MultiFactorAuthPresent", "true") // this request verified a code
	if !decide(cond, ctx) || fills != 2 {
		t.Errorf("the explicit key lost to the filled one, or fills %d", fills)
	}
	n := 0
	ctx.Each(func(string, []string) { n++ })
	if n != 2 || fills != 2 {
		t.Errorf("Each saw %d keys after %d fills", n, fills)
	}
}
