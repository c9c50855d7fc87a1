package exchange

import (
	"strings"
	"testing"
)

func TestBroadOIDC(t *testing.T) {
	tenantClaims := []string{"repository_owner", "repository_owner_id"}
	owner := func(op Operator, values ...string) Condition {
		return mustCondition(t, "repository_owner", op, values...)
	}
	tests := []struct {
		name       string
		subject    string // "" for no subject pattern
		conditions []Condition
		broad      bool
	}{
		// Subjects that are scoped on their own.
		{"exact", "repo:octo-org/app:ref:refs/heads/main", nil, false},
		{"repository, any context", "repo:octo-org/app:*", nil, false},
		{"branches of a repository", "repo:octo-org/app:ref:refs/heads/*", nil, false},
		{"anything in a repository", "repo:octo-org/app:**", nil, false},
		{"gitlab project", "project_path:group/project:ref_type:branch:ref:*", nil, false},
		{"gitlab subgroup", "project_path:group/sub/*", nil, false},
		{"exact without separators", "system:serviceaccount", nil, false},
		// Subjects that cover a whole organization or more.
		{"any repository of an org", "repo:octo-org/*", nil, true},
		{"any repository of an org, deep", "repo:octo-org/**", nil, true},
		{"repository name prefix", "repo:octo-org/app*", nil, true},
		{"repository name prefix then rest", "repo:octo-org/app*:**", nil, true},
		{"any org", "repo:*", nil, true},
		{"org prefix", "repo:octo-org*", nil, true},
		{"everything", "**", nil, true},
		{"star", "*", nil, true},
		{"double slash is no name", "repo://:*", nil, true},
		{"no subject", "", nil, true},
		// Conditions that pin the tenant.
		{"owner equals", "repo:octo-org/*", []Condition{owner(Equals, "octo-org")}, false},
		{"owner any_of", "**", []Condition{owner(AnyOf, "octo-org", "octo-labs")}, false},
		{"owner like exact", "repo:*", []Condition{owner(Like, "octo-org")}, false},
		{"owner id equals", "repo:*", []Condition{mustCondition(t, "repository_owner_id", Equals, "123456")}, false},
		{"no subject, owner pinned", "", []Condition{owner(Equals, "octo-org")}, false},
		// Conditions that do not.
		{"owner like wildcard", "repo:*", []Condition{owner(Like, "octo-*")}, true},
		{"owner empty value", "repo:*", []Condition{owner(Equals, "octo-org", "")}, true},
		{"owner value with star", "repo:*", []Condition{owner(Equals, "octo*")}, true},
		{"owner not_equals", "repo:*", []Condition{owner(NotEquals, "evil")}, true},
		{"owner not_like", "repo:*", []Condition{owner(NotLike, "evil")}, true},
		{"owner all_of", "repo:*", []Condition{owner(AllOf, "octo-org")}, true},
		{"exact condition on another claim", "repo:*", []Condition{mustCondition(t, "repository", Equals, "octo-org/app")}, true},
		{"aud only", "**", []Condition{mustCondition(t, "aud", Equals, "sts.amazonaws.com")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var subject Pattern
			if tt.subject != "" {
				subject = mustPattern(t, tt.subject)
			}
			reason := BroadOIDC(subject, tt.conditions, tenantClaims)
			if (reason != "") != tt.broad {
				t.Fatalf("BroadOIDC(%q) = %q, want broad=%v", tt.subject, reason, tt.broad)
			}
			if tt.broad && !strings.Contains(reason, "any tenant") {
				t.Errorf("reason %q does not say why", reason)
			}
		})
	}
	reason := BroadOIDC(mustPattern(t, "repo:*"), nil, tenantClaims)
	if !strings.Contains(reason, `subject "repo:*"`) || !strings.Contains(reason, "repository_owner, repository_owner_id") {
		t.Errorf("reason = %q, want it to name the subject and the tenant claims", reason)
	}
	if reason := BroadOIDC(mustPattern(t, "repo:*"), nil, nil); strings.Contains(reason, "condition") {
		t.Errorf("reason without tenant claims suggests a condition: %q", reason)
	}
	if reason := BroadOIDC(Pattern{}, nil, nil); !strings.HasPrefix(reason, "no subject pattern") {
		t.Errorf("reason for no subject = %q", reason)
	}
}

func TestBroadAWS(t *testing.T) {
	tests := []struct {
		subject string // "" for no subject pattern
		broad   bool
		why     string // a substring of the reason when broad
	}{
		// The four scoped shapes.
		{"arn:aws:iam::123456789012:user/UserName", false, ""},
		{"arn:aws:iam::123456789012:role/RoleName", false, ""},
		{"arn:aws:sts::123456789012:assumed-role/RoleName/*", false, ""},
		{"arn:aws:sts::123456789012:assumed-role/RoleName/SessionName", false, ""},
		{"arn:aws:iam::123456789012:user/team/UserName", false, ""},
		{"arn:aws:iam::123456789012:user/a/b/c/UserName", false, ""},
		{"arn:aws-cn:sts::123456789012:assumed-role/R+=,.@_-/i-0abc", false, ""},
		{"arn:aws-us-gov:iam::123456789012:role/RoleName", false, ""},
		// Wildcards in the wrong place.
		{"**", true, "'**'"},
		{"arn:aws:iam::123456789012:**", true, "'**'"},
		{"arn:aws:sts::123456789012:assumed-role/RoleName/**", true, "'**'"},
		{"arn:aws:iam::123456789012:*", true, "wildcard in the resource"},
		{"arn:aws:sts::123456789012:*", true, "wildcard in the resource"},
		{"arn:aws:sts::123456789012:assumed-role/*/*", true, "wildcard in the role name"},
		{"arn:aws:sts::123456789012:assumed-role/Role*/*", true, "wildcard in the role name"},
		{"arn:aws:sts::123456789012:assumed-role/RoleName/ci-*", true, "whole session name"},
		{"arn:aws:iam::123456789012:role/*", true, "wildcard in the role name"},
		{"arn:aws:iam::123456789012:role/Role*", true, "wildcard in the role name"},
		{"arn:aws:iam::123456789012:user/*", true, "wildcard in the user name or path"},
		{"arn:aws:iam::123456789012:user/*/UserName", true, "wildcard in the user name or path"},
		{"arn:aws:iam::*:role/RoleName", true, "wildcard in the account"},
		{"arn:aws:iam::1234567890*:role/RoleName", true, "wildcard in the account"},
		{"arn:*:iam::123456789012:role/RoleName", true, "wildcard in the partition"},
		{"arn:aws:*::123456789012:role/RoleName", true, "wildcard in the service"},
		{"*:aws:iam::123456789012:role/RoleName", true, "not an ARN"},
		// Not one of the shapes.
		{"", true, "no AWS subject pattern"},
		{"RoleName", true, "not an ARN"},
		{"arn:aws:iam::123456789012:role/path/RoleName", true, "without their path"},
		{"arn:aws:iam::12345678901:role/RoleName", true, "not 12 digits"},
		{"arn:aws:iam::123456789012:root", true, "user/NAME or role/NAME"},
		{"arn:aws:iam::123456789012:group/G", true, "user/NAME or role/NAME"},
		{"arn:aws:sts::123456789012:federated-user/Bob", true, "assumed-role/NAME/SESSION"},
		{"arn:aws:sts::123456789012:assumed-role/RoleName", true, "no session segment"},
		{"arn:aws:sts::123456789012:assumed-role/RoleName/a/b", true, "session name is not valid"},
		{"arn:aws:sts::123456789012:assumed-role/RoleName/x", true, "session name is not valid"},
		{"arn:aws:sts::123456789012:assumed-role//S1", true, "role name is not valid"},
		{"arn:aws:sts:us-east-1:123456789012:assumed-role/R/S1", true, "no region"},
		{"arn:aws:s3::123456789012:bucket", true, "iam or sts"},
		{"arn:AWS:iam::123456789012:role/R", true, "partition is not valid"},
		{"arn::iam::123456789012:role/R", true, "partition is not valid"},
		{"arn:aws:iam::123456789012:role/Role?", true, "role name is not valid"},
		{"arn:aws:iam::123456789012:role/" + strings.Repeat("r", 65), true, "role name is not valid"},
		{"arn:aws:iam::123456789012:user/", true, "user name is not valid"},
		{"arn:aws:iam::123456789012:user//UserName", true, "user path is not valid"},
		{"arn:aws:iam::123456789012:user/a:b/UserName", true, "user path is not valid"},
	}
	for _, tt := range tests {
		var subject Pattern
		if tt.subject != "" {
			subject = mustPattern(t, tt.subject)
		}
		reason := BroadAWS(subject)
		if (reason != "") != tt.broad {
			t.Errorf("BroadAWS(%q) = %q, want broad=%v", tt.subject, reason, tt.broad)
			continue
		}
		if tt.broad && !strings.Contains(reason, tt.why) {
			t.Errorf("BroadAWS(%q) = %q, want it to contain %q", tt.subject, reason, tt.why)
		}
	}
}
