package sts

import (
	"encoding/json"
	"strings"

	"github.com/keyless-dev/keyless/internal/policy"
)

// access is one authorization question: may the subject do Action on
// Resource, with these request keys, under this resource policy?
type access struct {
	Action   string
	Resource string
	// Keys are the request's own condition keys, added to the caller's.
	Keys func(*policy.Context)
	// ResourcePolicy (a role's trust policy) and ResourceAccount, the
	// account that owns the resource.
	ResourcePolicy  *policy.Named
	ResourceAccount string
	// RequireResource: the resource policy must allow (a trust policy).
	RequireResource bool
	// Hide leaves the reason out of the message, for questions whose
	// answer must not tell whether the resource exists (AssumeRole).
	Hide bool
}

// rootPolicy is the root user's implicit identity policy: everything in
// its own account.
var rootPolicy = func() policy.Named {
	d, err := policy.Parse(policy.Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	if err != nil {
		panic(err)
	}
	return policy.Named{Name: "the account root's implicit permissions", Doc: d}
}()

// authorize decides an access. A refusal is AccessDenied with the message
// AWS writes ("User: ARN is not authorized to perform: ACTION on resource:
// RESOURCE ...") and an encoded authorization message that
// DecodeAuthorizationMessage opens.
func (s *Service) authorize(sub *subject, a access) error {
	ctx := sub.ctx
	if a.Keys != nil {
		a.Keys(ctx)
	}
	set := sub.policies
	set.Resource, set.ResourceAccount = a.ResourcePolicy, a.ResourceAccount
	set.RequireResource = a.RequireResource
	req := &policy.Request{Principal: sub.principal, Action: a.Action, Resource: a.Resource, Context: ctx}
	d := policy.Decide(&set, req)
	if d.Allowed {
		return nil
	}
	return s.deny(sub, req, d, a.Hide)
}

// deny builds the AccessDenied for a decision.
func (s *Service) deny(sub *subject, req *policy.Request, d policy.Decision, hide bool) error {
	msg := "User: " + sub.caller.ARN() + " is not authorized to perform: " + req.Action + " on resource: " + req.Resource
	if !hide {
		msg += because(d, req.Action)
	}
	e := &Error{Code: AccessDenied, Msg: msg, Reason: decisionReason(d.Reason)}
	plain, err := json.Marshal(newReport(sub.caller, req, d, hide))
	if err != nil {
		return unavailable("authorization_message", err)
	}
	if e.Encoded, err = s.o.Messages.Seal(sub.caller.Principal.Account, plain); err != nil {
		return unavailable("authorization_message", err)
	}
	return e
}

// decisionReason is the audit reason of a refusing decision
// ("policy_no_resource_policy_allow").
func decisionReason(r policy.Reason) string {
	return "policy_" + strings.ReplaceAll(string(r), "-", "_")
}

// because is the clause AWS adds to say which kind of policy decided
// (IAM User Guide, troubleshoot_access-denied).
func because(d policy.Decision, action string) string {
	switch d.Reason {
	case policy.ExplicitDeny:
		kind := "an identity-based policy"
		if len(d.Matched) > 0 {
			switch n := d.Matched[0].Policy; {
			case strings.HasPrefix(n, "session policy"):
				kind = "a session policy"
			case strings.HasPrefix(n, "trust policy"):
				kind = "a resource-based policy"
			case strings.HasPrefix(n, "permissions boundary"):
				kind = "a permissions boundary"
			}
		}
		return " with an explicit deny in " + kind
	case policy.NoIdentityAllow:
		return " because no identity-based policy allows the " + action + " action"
	case policy.NoBoundaryAllow:
		return " because no permissions boundary allows the " + action + " action"
	case policy.NoSessionAllow:
		return " because no session policy allows the " + action + " action"
	case policy.NoResourceAllow, policy.CrossAccountDenied:
		return " because no resource-based policy allows the " + action + " action"
	}
	return ""
}

// report is a decoded authorization message, in the shape AWS's
// DecodeAuthorizationMessage returns, plus keyless's "reason" and the
// policy each statement came from.
type report struct {
	Allowed           bool                   `json:"allowed"`
	ExplicitDeny      bool                   `json:"explicitDeny"`
	MatchedStatements items[statementReport] `json:"matchedStatements"`
	Failures          items[string]          `json:"failures"`
	Context           reportContext          `json:"context"`
	Reason            string                 `json:"reason"`
}

type items[T any] struct {
	Items []T `json:"items"`
}

type statementReport struct {
	StatementID    string `json:"statementId"`
	Effect         string `json:"effect"`
	Policy         string `json:"policy"`
	StatementIndex int    `json:"statementIndex"`
}

type reportContext struct {
	Principal struct {
		ID  string `json:"id"`
		ARN string `json:"arn"`
	} `json:"principal"`
	Action     string                 `json:"action"`
	Resource   string                 `json:"resource"`
	Conditions items[conditionReport] `json:"conditions"`
}

type conditionReport struct {
	Key    string             `json:"key"`
	Values items[valueReport] `json:"values"`
}

type valueReport struct {
	Value string `json:"value"`
}

// newReport describes a decision. hide leaves out the resource's tags: a
// refused AssumeRole must not tell the caller (of any account) whether the
// role exists, or what it is tagged with (hostile input AR-01).
func newReport(c *Caller, req *policy.Request, d policy.Decision, hide bool) *report {
	r := &report{Allowed: d.Allowed, ExplicitDeny: d.Reason == policy.ExplicitDeny, Reason: string(d.Reason)}
	r.MatchedStatements.Items = []statementReport{}
	r.Failures.Items = []string{}
	for _, m := range d.Matched {
		r.MatchedStatements.Items = append(r.MatchedStatements.Items, statementReport{
			StatementID: m.Sid, Effect: strings.ToUpper(m.Effect.String()), Policy: m.Policy, StatementIndex: m.Index})
	}
	r.Context.Principal.ID, r.Context.Principal.ARN = c.UserID(), c.ARN()
	r.Context.Action, r.Context.Resource = req.Action, req.Resource
	r.Context.Conditions.Items = []conditionReport{}
	req.Context.Each(func(key string, values []string) {
		if hide && strings.HasPrefix(strings.ToLower(key), "aws:resourcetag/") {
			return
		}
		cr := conditionReport{Key: key, Values: items[valueReport]{Items: []valueReport{}}}
		for _, v := range values {
			cr.Values.Items = append(cr.Values.Items, valueReport{Value: v})
		}
		r.Context.Conditions.Items = append(r.Context.Conditions.Items, cr)
	})
	return r
}
