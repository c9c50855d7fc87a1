package policy

import "strings"

// Request is what is being decided: who asks to do what to which resource,
// with which condition keys.
type Request struct {
	Principal Principal
	Action    string // "service:Action"; matched case-insensitively
	Resource  string // an ARN
	Context   *Context
}

// Named is a document with the name a decision reports it by (a managed
// policy ARN, "inline policy NAME of role/Demo", "trust policy", …).
type Named struct {
	Name string
	Doc  *Document
}

// Set is every policy that applies to one request.
type Set struct {
	Identity []Named // the principal's identity-based policies
	Boundary *Named  // the principal's permissions boundary, if any
	// Session holds the session policies. HasSession marks a session
	// that was given session policies, or that needs them to have any
	// permission (a federated user): with HasSession and no allowing
	// session policy nothing is allowed.
	Session    []Named
	HasSession bool
	// Resource is the resource-based policy (a role's trust policy), if
	// any, and ResourceAccount the account that owns the resource; empty
	// means the principal's own account.
	Resource        *Named
	ResourceAccount string
	// RequireResource: the resource policy must allow, whatever else
	// does (a role's trust policy for AssumeRole*).
	RequireResource bool
}

// Match is a statement that matched the request.
type Match struct {
	Policy string
	Sid    string
	Index  int
	Effect Effect
}

// Reason says what decided, as a stable code.
type Reason string

// Reasons.
const (
	Allowed            Reason = "allowed"
	ExplicitDeny       Reason = "explicit-deny"
	NoResourceAllow    Reason = "no-resource-policy-allow"
	NoIdentityAllow    Reason = "no-identity-policy-allow"
	NoBoundaryAllow    Reason = "no-permissions-boundary-allow"
	NoSessionAllow     Reason = "no-session-policy-allow"
	CrossAccountDenied Reason = "cross-account-not-allowed"
)

// Decision is the outcome of Decide.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Matched holds the statements that decided: every matching Deny for
	// an explicit deny, the allowing statements for an allow, and none
	// for an implicit deny.
	Matched []Match
}

// Decide evaluates a request against a set of policies (IAM User Guide,
// "Policy evaluation logic"): an explicit Deny anywhere wins; otherwise a
// resource policy that names the principal itself allows within its
// account; one that names a session's role or everyone allows within the
// boundary and session policies; one that names the account delegates to
// identity policies; identity policies allow within the boundary and
// session policies; across accounts both sides must allow.
func Decide(set *Set, req *Request) Decision {
	action := strings.ToLower(req.Action)
	var denies []Match
	scan := func(ns []Named) {
		for _, n := range ns {
			denies = n.Doc.collect(n.Name, Deny, req, action, denies)
		}
	}
	scan(set.Identity)
	scan(set.Session)
	if set.Boundary != nil {
		denies = set.Boundary.Doc.collect(set.Boundary.Name, Deny, req, action, denies)
	}
	if set.Resource != nil {
		denies = set.Resource.Doc.collect(set.Resource.Name, Deny, req, action, denies)
	}
	if len(denies) > 0 {
		return Decision{Reason: ExplicitDeny, Matched: denies}
	}

	var resAllows []Match
	best := grantNone
	if set.Resource != nil {
		resAllows, best = set.Resource.Doc.allows(set.Resource.Name, req, action)
	}
	sameAccount := set.ResourceAccount == "" || set.ResourceAccount == req.Principal.Account
	if set.RequireResource && best == grantNone {
		return Decision{Reason: NoResourceAllow}
	}
	if sameAccount && best == grantDirect {
		return Decision{Allowed: true, Reason: Allowed, Matched: resAllows}
	}

	var boundary, session []Match
	if set.Boundary != nil {
		if boundary, _ = set.Boundary.Doc.allows(set.Boundary.Name, req, action); len(boundary) == 0 {
			return Decision{Reason: NoBoundaryAllow}
		}
	}
	if set.HasSession {
		for _, n := range set.Session {
			m, _ := n.Doc.allows(n.Name, req, action)
			session = append(session, m...)
		}
		if len(session) == 0 {
			return Decision{Reason: NoSessionAllow}
		}
	}
	if sameAccount && best == grantParent {
		return Decision{Allowed: true, Reason: Allowed, Matched: concat(resAllows, boundary, session)}
	}
	if !sameAccount && best == grantNone {
		return Decision{Reason: CrossAccountDenied}
	}
	var identity []Match
	for _, n := range set.Identity {
		m, _ := n.Doc.allows(n.Name, req, action)
		identity = append(identity, m...)
	}
	if len(identity) == 0 {
		return Decision{Reason: NoIdentityAllow}
	}
	return Decision{Allowed: true, Reason: Allowed, Matched: concat(identity, resAllows, boundary, session)}
}

func concat(lists ...[]Match) []Match {
	var out []Match
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// collect appends the statements of effect e that apply to req.
func (d *Document) collect(name string, e Effect, req *Request, action string, out []Match) []Match {
	for _, s := range d.Statements {
		if s.Effect != e {
			continue
		}
		if g := s.applies(req, action); g != grantNone {
			out = append(out, Match{Policy: name, Sid: s.Sid, Index: s.Index, Effect: e})
		}
	}
	return out
}

// allows returns the Allow statements that apply and the strongest
// principal grant among them (grantDirect for identity documents).
func (d *Document) allows(name string, req *Request, action string) ([]Match, grant) {
	var out []Match
	best := grantNone
	for _, s := range d.Statements {
		if s.Effect != Allow {
			continue
		}
		if g := s.applies(req, action); g != grantNone {
			out = append(out, Match{Policy: name, Sid: s.Sid, Index: s.Index, Effect: Allow})
			best = max(best, g)
		}
	}
	return out, best
}

// applies reports whether the statement applies to req, and how its
// Principal names the caller (grantDirect when it has no Principal).
func (s *Statement) applies(req *Request, action string) grant {
	g := grantDirect
	if s.principals != nil {
		if s.notPrincipal {
			if s.principals.excludes(&req.Principal) {
				return grantNone
			}
			g = grantParent
		} else if g = s.principals.match(&req.Principal); g == grantNone {
			return grantNone
		}
	}
	if matchAny(s.actions, req.Context, action) == s.notAction {
		return grantNone
	}
	if s.resources != nil {
		hit := false
		for i := range s.resources {
			if s.resources[i].match(req.Context, req.Resource) {
				hit = true
				break
			}
		}
		if hit == s.notResource {
			return grantNone
		}
	}
	for i := range s.conditions {
		if !s.conditions[i].eval(req.Context) {
			return grantNone
		}
	}
	return g
}

func matchAny(ps []pattern, ctx *Context, s string) bool {
	for i := range ps {
		if ps[i].match(ctx, s) {
			return true
		}
	}
	return false
}
