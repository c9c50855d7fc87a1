package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxDocumentBytes bounds what Parse reads. IAM's own limits are lower
// (2048 characters for a session policy, 6144 for a managed policy,
// 10240 for a role's inline policies); callers enforce those.
const MaxDocumentBytes = 128 << 10

// MalformedError is a document that is not a valid policy. Its message
// says what is wrong, for MalformedPolicyDocument.
type MalformedError struct{ Msg string }

func (e *MalformedError) Error() string { return e.Msg }

func malformed(format string, args ...any) error {
	return &MalformedError{Msg: fmt.Sprintf(format, args...)}
}

// Parse validates text as a policy of the given kind and compiles it.
func Parse(kind Kind, text string) (*Document, error) {
	if len(text) > MaxDocumentBytes {
		return nil, malformed("The policy is larger than %d bytes.", MaxDocumentBytes)
	}
	if !utf8.ValidString(text) {
		return nil, malformed("The policy is not valid UTF-8.")
	}
	root, err := decodeJSON([]byte(text))
	if err != nil {
		return nil, malformed("Syntax errors in policy.")
	}
	if root.kind != jObject {
		return nil, malformed("Syntax errors in policy.")
	}
	d := &Document{Kind: kind, Version: V2008, Text: text}
	var stmts *jvalue
	for i := range root.members {
		m := &root.members[i]
		switch m.name {
		case "Version":
			if m.value.kind != jString {
				return nil, malformed("The policy must contain a valid version string.")
			}
			switch m.value.text {
			case "2012-10-17":
				d.Version = V2012
			case "2008-10-17":
			default:
				return nil, malformed("The policy must contain a valid version string.")
			}
		case "Id":
			if m.value.kind != jString {
				return nil, malformed("Id must be a string.")
			}
			d.ID = m.value.text
		case "Statement":
			stmts = &m.value
		default:
			return nil, malformed("Unknown field %s.", m.name)
		}
	}
	if stmts == nil {
		return nil, malformed("Missing required field Statement.")
	}
	list := stmts.list()
	if len(list) == 0 {
		return nil, malformed("The policy must contain at least one statement.")
	}
	sids := map[string]bool{}
	for i := range list {
		s, err := d.parseStatement(i, &list[i])
		if err != nil {
			if m, ok := err.(*MalformedError); ok && len(list) > 1 {
				return nil, malformed("%s (statement %d)", m.Msg, i+1)
			}
			return nil, err
		}
		if s.Sid != "" {
			if sids[s.Sid] {
				return nil, malformed("Statement IDs (SID) in a single policy must be unique: %q.", s.Sid)
			}
			sids[s.Sid] = true
		}
		d.Statements = append(d.Statements, s)
	}
	return d, nil
}

func (d *Document) parseStatement(index int, v *jvalue) (*Statement, error) {
	if v.kind != jObject {
		return nil, malformed("Syntax errors in policy.")
	}
	s := &Statement{Index: index}
	var principal, action, resource, condition *jvalue
	var seenPrincipal, seenAction, seenResource string
	for i := range v.members {
		m := &v.members[i]
		switch m.name {
		case "Sid":
			if m.value.kind != jString || !validSid(d.Kind, m.value.text) {
				return nil, malformed("Statement IDs (SID) must be alpha-numeric.")
			}
			s.Sid = m.value.text
		case "Effect":
			switch {
			case m.value.kind == jString && m.value.text == "Allow":
				s.Effect = Allow
			case m.value.kind == jString && m.value.text == "Deny":
				s.Effect = Deny
			default:
				return nil, malformed("Invalid effect: the Effect must be Allow or Deny.")
			}
		case "Principal", "NotPrincipal":
			if principal != nil {
				return nil, malformed("Statement cannot contain both %s and %s.", seenPrincipal, m.name)
			}
			principal, seenPrincipal = &m.value, m.name
		case "Action", "NotAction":
			if action != nil {
				return nil, malformed("Statement cannot contain both %s and %s.", seenAction, m.name)
			}
			action, seenAction = &m.value, m.name
		case "Resource", "NotResource":
			if resource != nil {
				return nil, malformed("Statement cannot contain both %s and %s.", seenResource, m.name)
			}
			resource, seenResource = &m.value, m.name
		case "Condition":
			condition = &m.value
		default:
			return nil, malformed("Unknown field %s.", m.name)
		}
	}
	if s.Effect == 0 {
		return nil, malformed("Missing required field Effect.")
	}

	switch {
	case d.Kind == Identity && principal != nil:
		return nil, malformed("Policy document should not specify a principal.")
	case d.Kind != Identity && principal == nil:
		return nil, malformed("Missing required field Principal.")
	case principal != nil:
		ps, err := parsePrincipal(principal)
		if err != nil {
			return nil, err
		}
		s.principals, s.notPrincipal = ps, seenPrincipal == "NotPrincipal"
		if s.notPrincipal && (d.Kind == Trust || s.Effect == Allow) {
			return nil, malformed("NotPrincipal may be used only with Deny in a resource policy.")
		}
	}

	if action == nil {
		return nil, malformed("Policy statement must contain actions.")
	}
	s.notAction = seenAction == "NotAction"
	for _, a := range action.list() {
		if a.kind != jString || !validAction(a.text) {
			return nil, malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
		}
		if d.Kind == Trust && !trustAction(a.text) {
			return nil, malformed("AssumeRole policy may only specify STS AssumeRole actions.")
		}
		p, err := compile(strings.ToLower(a.text), compileOpts{wild: true})
		if err != nil {
			return nil, malformed("Invalid action %q.", a.text)
		}
		s.actions = append(s.actions, p)
	}
	if len(s.actions) == 0 {
		return nil, malformed("Policy statement must contain actions.")
	}
	if d.Kind == Trust && s.notAction {
		return nil, malformed("AssumeRole policy may only specify STS AssumeRole actions.")
	}

	switch {
	case d.Kind == Trust && resource != nil:
		return nil, malformed("Has prohibited field %s.", seenResource)
	case d.Kind != Trust && resource == nil:
		return nil, malformed("Policy statement must contain resources.")
	case resource != nil:
		s.notResource = seenResource == "NotResource"
		for _, r := range resource.list() {
			if r.kind != jString || r.text != "*" && !strings.HasPrefix(r.text, "arn:") {
				return nil, malformed("Resource %s must be in ARN format or \"*\".", describe(&r))
			}
			if r.text != "*" && len(splitARN(r.text)) < 6 {
				return nil, malformed("Resource %s must be in ARN format or \"*\".", r.text)
			}
			p, err := compileARN(r.text, compileOpts{vars: d.Version == V2012, wild: true})
			if err != nil {
				return nil, malformed("Resource %s has an invalid policy variable.", r.text)
			}
			s.resources = append(s.resources, p)
		}
		if len(s.resources) == 0 {
			return nil, malformed("Policy statement must contain resources.")
		}
	}

	if condition != nil {
		cs, err := d.parseConditions(condition)
		if err != nil {
			return nil, err
		}
		s.conditions = cs
	}
	return s, nil
}

func (d *Document) parseConditions(v *jvalue) ([]condition, error) {
	if v.kind != jObject {
		return nil, malformed("Syntax errors in policy: Condition must be an object.")
	}
	var out []condition
	for _, op := range v.members {
		base, ok := parseOperator(op.name)
		if !ok {
			return nil, malformed("Invalid Condition type : %s.", op.name)
		}
		if op.value.kind != jObject || len(op.value.members) == 0 {
			return nil, malformed("Condition %s must map condition keys to values.", op.name)
		}
		for _, kv := range op.value.members {
			if !validKey(kv.name) {
				return nil, malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. (condition key %q)", kv.name)
			}
			c := base
			c.key, c.keyName = strings.ToLower(kv.name), kv.name
			vars := d.Version == V2012
			items := kv.value.list()
			if len(items) == 0 {
				return nil, malformed("Condition %s on %s has no values.", op.name, kv.name)
			}
			for _, item := range items {
				switch item.kind {
				case jString, jNumber, jBool:
				default:
					return nil, malformed("Condition %s on %s: values must be strings, numbers or booleans.", op.name, kv.name)
				}
				cv, err := c.compileValue(item.text, vars)
				if err != nil {
					return nil, malformed("%s on %s.", err.Error(), kv.name)
				}
				c.values = append(c.values, cv)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// validSid: IAM accepts only letters and digits in the Sid of identity and
// trust policies; resource policies accept any text.
func validSid(k Kind, sid string) bool {
	if k == Resource {
		return len(sid) <= 1024
	}
	for i := 0; i < len(sid); i++ {
		c := sid[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validAction accepts "*" and "vendor:action" where the action may hold
// wildcards.
func validAction(a string) bool {
	if a == "*" {
		return true
	}
	vendor, name, ok := strings.Cut(a, ":")
	if !ok || vendor == "" || name == "" || len(a) > 256 {
		return false
	}
	for i := 0; i < len(vendor); i++ {
		c := vendor[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '*' || c == '?' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// trustAction: a trust policy may name only sts actions.
func trustAction(a string) bool {
	return a == "*" || strings.HasPrefix(strings.ToLower(a), "sts:")
}

func describe(v *jvalue) string {
	if v.kind == jString {
		return v.text
	}
	return "value"
}
