package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// gen builds random but valid documents and requests over a small
// vocabulary, so that random pairs often overlap.
type gen struct{ r *rand.Rand }

var (
	genActions   = []string{"s3:GetObject", "s3:PutObject", "s3:*", "s3:Get*", "iam:GetUser", "sts:AssumeRole", "*"}
	genResources = []string{"*", "arn:aws:s3:::a/*", "arn:aws:s3:::b/*", "arn:aws:s3:::a/x", "arn:aws:iam::111122223333:user/*", "arn:aws:s3:::${aws:username}/*"}
	genConds     = []string{
		`{"StringEquals":{"aws:username":"alice"}}`,
		`{"StringNotEquals":{"aws:username":"alice"}}`,
		`{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`,
		`{"BoolIfExists":{"aws:MultiFactorAuthPresent":"true"}}`,
		`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`,
		`{"ForAllValues:StringLike":{"aws:TagKeys":["a*"]}}`,
		`{"ForAnyValue:StringEquals":{"aws:TagKeys":"b"}}`,
		`{"Null":{"aws:TokenIssueTime":"true"}}`,
		`{"DateLessThan":{"aws:CurrentTime":"2026-11-21T12:00:00Z"}}`,
	}
	genReqActions   = []string{"s3:GetObject", "s3:PutObject", "iam:GetUser", "sts:AssumeRole", "ec2:RunInstances"}
	genReqResources = []string{"arn:aws:s3:::a/x", "arn:aws:s3:::a/y", "arn:aws:s3:::b/z", "arn:aws:s3:::alice/k", "arn:aws:iam::111122223333:user/bob"}
)

func (g gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) statement(effect string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"Effect":%q`, effect)
	key := "Action"
	if g.r.IntN(8) == 0 {
		key = "NotAction"
	}
	fmt.Fprintf(&b, `,%q:[%q,%q]`, key, g.pick(genActions), g.pick(genActions))
	key = "Resource"
	if g.r.IntN(8) == 0 {
		key = "NotResource"
	}
	fmt.Fprintf(&b, `,%q:%q`, key, g.pick(genResources))
	if g.r.IntN(2) == 0 {
		fmt.Fprintf(&b, `,"Condition":%s`, g.pick(genConds))
	}
	b.WriteString("}")
	return b.String()
}

// doc returns a document of 1..4 statements; deny is the chance of each
// being a Deny, out of 10.
func (g gen) doc(t *testing.T, deny int) *Document {
	n := 1 + g.r.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		effect := "Allow"
		if g.r.IntN(10) < deny {
			effect = "Deny"
		}
		parts[i] = g.statement(effect)
	}
	d, err := Parse(Identity, `{"Version":"2012-10-17","Statement":[`+strings.Join(parts, ",")+`]}`)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (g gen) request() *Request {
	ctx := NewContext(4)
	if g.r.IntN(2) == 0 {
		ctx.Set("aws:username", g.pick([]string{"alice", "bob"}))
	}
	if g.r.IntN(2) == 0 {
		ctx.Set("aws:MultiFactorAuthPresent", g.pick([]string{"true", "false"}))
	}
	if g.r.IntN(2) == 0 {
		ctx.Set("aws:SourceIp", g.pick([]string{"10.1.2.3", "192.0.2.1"}))
	}
	if g.r.IntN(2) == 0 {
		ctx.Set("aws:TagKeys", g.pick([]string{"a1", "b"}), g.pick([]string{"a2", "b"}))
	}
	if g.r.IntN(2) == 0 {
		ctx.Set("aws:TokenIssueTime", "2026-11-21T09:00:00Z")
	}
	ctx.Set("aws:CurrentTime", g.pick([]string{"2026-11-21T11:00:00Z", "2026-11-21T13:00:00Z"}))
	return &Request{
		Principal: Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice"},
		Action:    g.pick(genReqActions),
		Resource:  g.pick(genReqResources),
		Context:   ctx,
	}
}

func named(ds ...*Document) []Named {
	out := make([]Named, len(ds))
	for i, d := range ds {
		out[i] = Named{Name: fmt.Sprint("p", i), Doc: d}
	}
	return out
}

// TestPropertyPoliciesOnlyNarrow: session policies, a permissions boundary
// and extra Deny statements can take permissions away but never add any;
// random session policies never allow what the identity policies do not
// (security.md AR-08, GFT-04).
func TestPropertyPoliciesOnlyNarrow(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(2026, 11))}
	const rounds = 4000
	narrowed := map[string]int{}
	allowedBase := 0
	for range rounds {
		identity := named(g.doc(t, 2), g.doc(t, 2))
		req := g.request()
		base := Decide(&Set{Identity: identity}, req).Allowed
		if base {
			allowedBase++
		}
		variants := map[string]*Set{
			"session policy": {Identity: identity, Session: named(g.doc(t, 3)), HasSession: true},
			"broad session":  {Identity: identity, Session: named(mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)), HasSession: true},
			"boundary":       {Identity: identity, Boundary: &named(g.doc(t, 3))[0]},
			"extra deny":     {Identity: append(append([]Named{}, identity...), named(g.doc(t, 10))...)},
			"session, none":  {Identity: identity, HasSession: true},
		}
		for name, set := range variants {
			got := Decide(set, req).Allowed
			if got && !base {
				t.Fatalf("%s widened: %+v on %s %s allowed, but not by the identity policies alone:\n%s",
					name, req.Context.vals, req.Action, req.Resource, docsText(set))
			}
			if base && !got {
				narrowed[name]++
			}
		}
	}
	// The generator must exercise both outcomes, or the property is empty.
	if allowedBase < rounds/20 || narrowed["session policy"] == 0 || narrowed["boundary"] == 0 || narrowed["extra deny"] == 0 {
		t.Fatalf("generator too weak: %d/%d allowed, narrowed %v", allowedBase, rounds, narrowed)
	}
	if narrowed["broad session"] != 0 {
		t.Fatalf("an allow-all session policy narrowed %d decisions", narrowed["broad session"])
	}
	if narrowed["session, none"] != allowedBase {
		t.Fatalf("a session with no session policy allowed %d decisions", allowedBase-narrowed["session, none"])
	}
}

// TestPropertyDenyWins: a statement that denies a request's action and
// resource unconditionally denies it, wherever it sits.
func TestPropertyDenyWins(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(7, 7))}
	for range 2000 {
		req := g.request()
		deny := mustParse(t, fmt.Sprintf(`{"Statement":{"Effect":"Deny","Action":%q,"Resource":%q}}`, req.Action, req.Resource))
		identity := named(g.doc(t, 0), g.doc(t, 0))
		for name, set := range map[string]*Set{
			"identity": {Identity: append(identity, named(deny)...)},
			"session":  {Identity: identity, Session: named(g.doc(t, 0), deny), HasSession: true},
			"boundary": {Identity: identity, Boundary: &named(deny)[0]},
		} {
			if d := Decide(set, req); d.Allowed || d.Reason != ExplicitDeny {
				t.Fatalf("%s deny did not win: %+v", name, d)
			}
		}
	}
}

func mustParse(t *testing.T, s string) *Document {
	t.Helper()
	d, err := Parse(Identity, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func docsText(s *Set) string {
	var b strings.Builder
	for _, n := range s.Identity {
		fmt.Fprintln(&b, "identity:", n.Doc.Text)
	}
	for _, n := range s.Session {
		fmt.Fprintln(&b, "session:", n.Doc.Text)
	}
	if s.Boundary != nil {
		fmt.Fprintln(&b, "boundary:", s.Boundary.Doc.Text)
	}
	return b.String()
}
