package exchange

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/internal/arn"
)

// awsSubjectForms lists the AWS subject shapes BroadAWS accepts.
const awsSubjectForms = "arn:P:iam::ACCOUNT:user/[PATH/]NAME, arn:P:iam::ACCOUNT:role/NAME, " +
	"arn:P:sts::ACCOUNT:assumed-role/NAME/* or arn:P:sts::ACCOUNT:assumed-role/NAME/SESSION"

// BroadOIDC returns why a binding to a multi-tenant issuer could match
// workloads of any tenant, or "" when it is scoped. It is scoped when the
// subject is exact, when its literal prefix names a tenant's resource up
// to a separator (a '/', a name, then ':' or '/': "repo:org/app:*"), or
// when a condition admits only literal, non-empty values of one of
// tenantClaims (such as repository_owner).
func BroadOIDC(subject Pattern, conditions []Condition, tenantClaims []string) string {
	if subject.Exact() || scopedPrefix(subject.LiteralPrefix()) {
		return ""
	}
	for _, c := range conditions {
		if pinsTenant(c, tenantClaims) {
			return ""
		}
	}
	what := "no subject pattern"
	if subject.String() != "" {
		what = fmt.Sprintf("subject %q", subject.String())
	}
	reason := what + " can match workloads of any tenant of this multi-tenant issuer: make the subject exact, " +
		`or end its literal part after a name and a ':' or '/' (like "repo:org/app:**" or "repo:org/app:ref:refs/heads/*")`
	if len(tenantClaims) > 0 {
		reason += ", or add an equals or any_of condition with literal values on " + strings.Join(tenantClaims, ", ")
	}
	return reason
}

// scopedPrefix reports whether prefix has a '/' followed by a non-empty
// name and then a ':' or '/'.
func scopedPrefix(prefix string) bool {
	for i := 0; i < len(prefix); i++ {
		if prefix[i] != '/' {
			continue
		}
		if j := strings.IndexAny(prefix[i+1:], ":/"); j > 0 {
			return true
		}
	}
	return false
}

// pinsTenant reports whether c admits only literal, non-empty values of a
// tenant claim.
func pinsTenant(c Condition, tenantClaims []string) bool {
	if !c.Exact() || !slices.Contains(tenantClaims, c.Claim) {
		return false
	}
	for _, v := range c.Values {
		if v == "" || strings.Contains(v, "*") {
			return false
		}
	}
	return true
}

// BroadAWS returns why an AWS subject pattern could match callers beyond
// one user, one role or one role session, or "" when it is scoped. Scoped
// patterns have a literal partition, service and 12-digit account and a
// literal user or role name; the only wildcard allowed is the whole
// session of assumed-role/NAME/*.
func BroadAWS(subject Pattern) string {
	if subject.String() == "" {
		return "no AWS subject pattern: any AWS caller would match; use " + awsSubjectForms
	}
	if problem := awsSubjectProblem(subject); problem != "" {
		return fmt.Sprintf("AWS subject %q is not scoped to one user, role or role session: %s; use %s",
			subject.String(), problem, awsSubjectForms)
	}
	return ""
}

func awsSubjectProblem(p Pattern) string {
	if p.HasDoubleStar() {
		return "'**' matches across ':' and '/'"
	}
	parts := strings.SplitN(p.String(), ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "it is not an ARN"
	}
	partition, service, region, account, resource := parts[1], parts[2], parts[3], parts[4], parts[5]
	switch {
	case strings.Contains(partition, "*"):
		return "a wildcard in the partition"
	case !lintPartition(partition):
		return "the partition is not valid"
	case strings.Contains(service, "*"):
		return "a wildcard in the service"
	case region != "":
		return "IAM and STS caller ARNs have no region"
	case strings.Contains(account, "*"):
		return "a wildcard in the account"
	case !arn.IsAccountID(account):
		return "the account is not 12 digits"
	}
	switch service {
	case "iam":
		kind, rest, _ := strings.Cut(resource, "/")
		switch kind {
		case "user":
			if strings.Contains(rest, "*") {
				return "a wildcard in the user name or path"
			}
			segs := strings.Split(rest, "/")
			for _, seg := range segs[:len(segs)-1] {
				if !lintPathSegment(seg) {
					return "the user path is not valid"
				}
			}
			if !lintIAMName(segs[len(segs)-1]) {
				return "the user name is not valid"
			}
			return ""
		case "role":
			switch {
			case strings.Contains(rest, "*"):
				return "a wildcard in the role name"
			case strings.Contains(rest, "/"):
				return "GetCallerIdentity reports roles without their path, so name the role without it"
			case !lintIAMName(rest):
				return "the role name is not valid"
			}
			return ""
		}
		if strings.Contains(resource, "*") {
			return "a wildcard in the resource"
		}
		return "an iam subject must be user/NAME or role/NAME"
	case "sts":
		rest, ok := strings.CutPrefix(resource, "assumed-role/")
		if !ok {
			if strings.Contains(resource, "*") {
				return "a wildcard in the resource"
			}
			return "an sts subject must be assumed-role/NAME/SESSION"
		}
		role, session, ok := strings.Cut(rest, "/")
		switch {
		case strings.Contains(role, "*"):
			return "a wildcard in the role name"
		case !lintIAMName(role):
			return "the role name is not valid"
		case !ok:
			return "no session segment (write assumed-role/NAME/* for any session)"
		case session == "*":
			return ""
		case strings.Contains(session, "*"):
			return "a wildcard is allowed only as the whole session name"
		case !lintSessionName(session):
			return "the session name is not valid"
		}
		return ""
	}
	return "the service must be iam or sts"
}

// lintPartition reports whether s looks like a partition: aws, aws-cn,
// aws-us-gov, aws-iso-b, ...
func lintPartition(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// lintIAMName reports whether s is a user or role name: 1–64 of
// [A-Za-z0-9+=,.@_-].
func lintIAMName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isSessionNameByte(s[i]) {
			return false
		}
	}
	return true
}

// lintSessionName reports whether s is a role session name: 2–64 of
// [A-Za-z0-9+=,.@_-].
func lintSessionName(s string) bool { return len(s) >= 2 && lintIAMName(s) }

// lintPathSegment reports whether s is a non-empty segment of an IAM path:
// printable ASCII other than space, '/' and ':'.
func lintPathSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}
