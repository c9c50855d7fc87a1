package policy

import (
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/arn"
)

// Principal is who makes a request, in the forms a Principal element can
// name (reference_policies_elements_principal).
type Principal struct {
	// Account is the principal's account; for a web-identity or SAML
	// caller, the account of the identity provider it came through (the
	// role's), so that the trust policy is a same-account grant.
	Account string
	// ARN is the principal itself: a user ARN, an assumed-role session
	// ARN, a federated-user ARN, or the account's root ARN.
	ARN string
	// ParentARN is the role of a role session, or the IAM user a
	// federated user federates from.
	ParentARN string
	// UniqueID is a user's AIDA… id or a session's role AROA… id.
	UniqueID string
	// Federated names the identity provider of a web-identity or SAML
	// request: its ARN and any well-known name it also goes by.
	Federated []string
	// Service is an AWS-style service principal name.
	Service string
}

// grant is how strongly a resource policy's Principal names the caller,
// which decides what else must allow (policy evaluation logic,
// "Cross-account" and "Same-account" sections).
type grant uint8

const (
	grantNone grant = iota
	// grantAccount: the account (delegation); identity policies must
	// also allow.
	grantAccount
	// grantParent: the role of a session, the user of a federated user,
	// or everyone; boundaries and session policies still apply.
	grantParent
	// grantDirect: the principal's own ARN or unique id.
	grantDirect
)

type principalSet struct {
	anyone    bool
	aws       []string // account ids, ARNs and unique ids
	federated []string
	service   []string
}

// wellKnownFederated are the built-in web identity providers a trust
// policy may name without an ARN.
var wellKnownFederated = map[string]bool{
	"accounts.google.com":            true,
	"cognito-identity.amazonaws.com": true,
	"www.amazon.com":                 true,
	"graph.facebook.com":             true,
}

// parsePrincipal validates a Principal or NotPrincipal element.
func parsePrincipal(v *jvalue) (*principalSet, error) {
	ps := &principalSet{}
	if v.kind == jString {
		if v.text != "*" {
			return nil, malformed("Invalid principal in policy: %q", v.text)
		}
		ps.anyone = true
		return ps, nil
	}
	if v.kind != jObject || len(v.members) == 0 {
		return nil, malformed("Invalid principal in policy")
	}
	for _, m := range v.members {
		for _, item := range m.value.list() {
			if item.kind != jString {
				return nil, malformed("Invalid principal in policy: %q must be a string or a list of strings", m.name)
			}
			s := item.text
			bad := malformed("Invalid principal in policy: \"%s\":%q", m.name, s)
			switch m.name {
			case "AWS":
				if s == "*" {
					ps.anyone = true
					continue
				}
				if !validAWSPrincipal(s) {
					return nil, bad
				}
				ps.aws = append(ps.aws, s)
			case "Federated":
				if !validFederated(s) {
					return nil, bad
				}
				ps.federated = append(ps.federated, s)
			case "Service":
				if !validService(s) {
					return nil, bad
				}
				ps.service = append(ps.service, s)
			default:
				return nil, malformed("Invalid principal in policy: unsupported principal type %q", m.name)
			}
		}
	}
	return ps, nil
}

// validAWSPrincipal accepts an account id, an account root, user, role,
// assumed-role or federated-user ARN, or an AIDA/AROA unique id. No
// wildcards: "You cannot use a wildcard to match part of a principal name
// or ARN."
func validAWSPrincipal(s string) bool {
	if arn.IsAccountID(s) || isUniqueID(s) {
		return true
	}
	a, err := arn.Parse(s)
	if err != nil || a.Partition != arn.Partition || a.Region != "" || !arn.IsAccountID(a.AccountID) || strings.ContainsAny(s, "*?") {
		return false
	}
	typ, rest, _ := strings.Cut(a.Resource, "/")
	switch {
	case a.Service == "iam" && a.Resource == "root":
		return true
	case a.Service == "iam" && (typ == "user" || typ == "role"):
		return rest != "" && !strings.HasSuffix(rest, "/")
	case a.Service == "sts" && typ == "assumed-role":
		role, session, ok := strings.Cut(rest, "/")
		return ok && arn.IsName(role) && arn.IsNameChars(session) && len(session) >= 2 && len(session) <= 64
	case a.Service == "sts" && typ == "federated-user":
		return arn.IsNameChars(rest) && len(rest) >= 2 && len(rest) <= 32
	}
	return false
}

func isUniqueID(s string) bool {
	if len(s) < 16 || len(s) > 128 || !(strings.HasPrefix(s, "AIDA") || strings.HasPrefix(s, "AROA")) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validFederated(s string) bool {
	if wellKnownFederated[s] {
		return true
	}
	a, err := arn.Parse(s)
	if err != nil || a.Service != "iam" || !arn.IsAccountID(a.AccountID) || strings.ContainsAny(s, "*?") {
		return false
	}
	return strings.HasPrefix(a.Resource, "oidc-provider/") && len(a.Resource) > len("oidc-provider/") ||
		strings.HasPrefix(a.Resource, "saml-provider/") && len(a.Resource) > len("saml-provider/")
}

func validService(s string) bool {
	if s == "" || len(s) > 128 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" || !strings.Contains(s, ".") {
		return false
	}
	return !strings.HasPrefix(s, ".") && !strings.HasSuffix(s, ".")
}

// match says how this principal set names p.
func (ps *principalSet) match(p *Principal) grant {
	best := grantNone
	if ps.anyone {
		best = grantParent
	}
	for _, s := range ps.aws {
		var g grant
		switch {
		case s == p.ARN && p.ARN != "":
			g = grantDirect
			if p.ARN == arn.Root(p.Account) {
				g = grantAccount
			}
		case s == p.UniqueID && isUniqueID(s):
			g = grantDirect
			if p.ParentARN != "" { // a role id names every session of the role
				g = grantParent
			}
		case s == p.ParentARN && p.ParentARN != "":
			g = grantParent
		case p.Account != "" && (s == p.Account || s == arn.Root(p.Account)):
			g = grantAccount
		}
		best = max(best, g)
	}
	for _, s := range ps.federated {
		if slices.Contains(p.Federated, s) {
			return grantDirect
		}
	}
	if p.Service != "" {
		for _, s := range ps.service {
			if s == p.Service {
				return grantDirect
			}
		}
	}
	return best
}

// excludes reports whether a NotPrincipal set leaves p out: only when it
// names p itself or everyone, not p's account or role (AWS requires the
// session ARN in NotPrincipal to exclude a role session).
func (ps *principalSet) excludes(p *Principal) bool {
	if ps.anyone {
		return true
	}
	for _, s := range ps.aws {
		if s == p.ARN && p.ARN != "" || s == p.UniqueID && isUniqueID(s) && p.ParentARN == "" {
			return true
		}
	}
	for _, s := range ps.federated {
		if slices.Contains(p.Federated, s) {
			return true
		}
	}
	for _, s := range ps.service {
		if s == p.Service && p.Service != "" {
			return true
		}
	}
	return false
}
