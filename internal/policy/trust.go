package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/arn"
)

// AWSPrincipals returns every value of the document's AWS principals, in
// order, "*" excluded.
func (d *Document) AWSPrincipals() []string {
	var out []string
	for _, s := range d.Statements {
		if s.principals != nil {
			out = append(out, s.principals.aws...)
		}
	}
	return out
}

// BindPrincipals returns a copy of the document in which every AWS
// principal for which bind returns a unique id is replaced by it. IAM
// stores trust-policy principals that name a user or role this way, so
// that a principal deleted and re-created under the same name is no longer
// trusted (IAM User Guide, reference_policies_elements_principal).
func (d *Document) BindPrincipals(bind func(principal string) (uniqueID string, ok bool)) *Document {
	c := *d
	c.Statements = make([]*Statement, len(d.Statements))
	for i, s := range d.Statements {
		cs := *s
		if s.principals != nil {
			ps := *s.principals
			ps.aws = make([]string, len(s.principals.aws))
			for j, p := range s.principals.aws {
				if id, ok := bind(p); ok {
					p = id
				}
				ps.aws[j] = p
			}
			cs.principals = &ps
		}
		c.Statements[i] = &cs
	}
	return &c
}

// BroadTrust lists the Allow statements of a trust policy that would let
// anyone in, or anyone in another account, or anyone holding a token from
// an identity provider, assume the role without a condition (security.md
// AR-20). account is the role's own account.
func (d *Document) BroadTrust(account string) []string {
	var out []string
	for _, s := range d.Statements {
		if s.Effect != Allow || s.principals == nil || len(s.conditions) > 0 {
			continue
		}
		name := fmt.Sprintf("statement %d", s.Index+1)
		if s.Sid != "" {
			name += " (" + s.Sid + ")"
		}
		ps := s.principals
		if ps.anyone {
			out = append(out, name+" trusts every principal")
		}
		for _, p := range ps.aws {
			acct := p
			if a, err := arn.Parse(p); err == nil && a.Resource == "root" {
				acct = a.AccountID
			}
			if arn.IsAccountID(acct) && acct != account {
				out = append(out, name+" trusts every principal of account "+acct)
			}
		}
		if len(ps.federated) > 0 {
			out = append(out, name+" trusts every identity of "+strings.Join(ps.federated, ", "))
		}
	}
	return out
}

// CharCount is the size IAM checks policy quotas against: characters other
// than white space (IAM User Guide, reference_iam-quotas).
func CharCount(text string) int {
	n := 0
	for _, r := range text {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// FederatedGrant is an Allow statement of a trust policy whose Principal
// names an identity provider.
type FederatedGrant struct {
	Index int
	Sid   string
	// Keys are the condition keys the statement restricts to values it
	// names (see restricts), lower-cased.
	Keys []string
}

// FederatedGrants lists the Allow statements naming an identity provider,
// by any of its names, as a Federated principal (or naming everyone), for
// checking that a trust in a provider shared by many tenants is scoped
// (security.md V-21).
func (d *Document) FederatedGrants(names ...string) []FederatedGrant {
	var out []FederatedGrant
	for _, s := range d.Statements {
		if s.Effect != Allow || s.principals == nil || s.notPrincipal {
			continue
		}
		named := s.principals.anyone
		for _, f := range s.principals.federated {
			named = named || slices.Contains(names, f)
		}
		if !named {
			continue
		}
		g := FederatedGrant{Index: s.Index, Sid: s.Sid}
		for i := range s.conditions {
			if c := &s.conditions[i]; c.restricts() {
				g.Keys = append(g.Keys, c.key)
			}
		}
		out = append(out, g)
	}
	return out
}

// restricts reports whether the condition holds only for values that name
// one tenant: a positive operator (not Null, not ...IfExists, not
// ForAllValues, which is true when the key is absent), and every value
// narrow (values are ORed, so one broad value makes the condition broad).
// A string is narrow when it is exact, or when the literal text before its
// first wildcard or variable contains a "/" ("repo:org/*" is narrow;
// "repo:*" and "repo:org*" are not). Numbers and dates are narrow only
// with an Equals operator (security.md V-21).
func (c *condition) restricts() bool {
	if c.negate || c.fam == famNull || c.ifExists || c.set == setAll || len(c.values) == 0 {
		return false
	}
	for _, v := range c.values {
		switch c.fam {
		case famString, famStringIgnoreCase, famStringLike:
			if !narrow(v.pat) {
				return false
			}
		case famARN:
			if v.arn.any {
				return false
			}
			for _, p := range v.arn.parts {
				if !narrow(p) {
					return false
				}
			}
		case famNumeric, famDate:
			if c.cmp != cmpEq {
				return false
			}
		case famBool, famBinary:
		default:
			return false
		}
	}
	return true
}

// narrow reports whether a pattern is exact, or fixes a prefix that ends a
// path segment.
func narrow(p pattern) bool {
	prefix := ""
	for _, sg := range p.segs {
		if sg.kind != segLit {
			return strings.Contains(prefix, "/")
		}
		prefix += sg.text
	}
	return true // exact
}
