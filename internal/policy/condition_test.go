package policy

import (
	"fmt"
	"strings"
	"testing"
)

// condCase decides one Condition block against a context.
type condCase struct {
	name string
	cond string // the Condition element's JSON
	ctx  map[string][]string
	want bool
}

func ctxOf(m map[string][]string) *Context {
	c := NewContext(len(m))
	for k, v := range m {
		c.Set(k, v...)
	}
	return c
}

func one(k, v string) map[string][]string { return map[string][]string{k: {v}} }

// evalCondition parses an identity policy whose only statement carries
// cond and reports whether it allows s3:GetObject on a fixed resource.
func evalCondition(t *testing.T, version, cond string, ctx *Context) bool {
	t.Helper()
	doc := fmt.Sprintf(`{"Version":%q,"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":%s}}`, version, cond)
	d, err := Parse(Identity, doc)
	if err != nil {
		t.Fatalf("Parse(%s): %v", cond, err)
	}
	return allows(d, &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctx})
}

// allows reports whether d alone has an Allow statement that applies.
func allows(d *Document, req *Request) bool {
	m, _ := d.allows("", req, strings.ToLower(req.Action))
	return len(m) > 0
}

func TestConditionOperators(t *testing.T) {
	none := map[string][]string{}
	tags := map[string][]string{"aws:TagKeys": {"Dept", "Project"}}
	cases := []condCase{
		// String family.
		{"StringEquals hit", `{"StringEquals":{"aws:username":"alice"}}`, one("aws:username", "alice"), true},
		{"StringEquals is case-sensitive", `{"StringEquals":{"aws:username":"alice"}}`, one("aws:username", "Alice"), false},
		{"StringEquals key name case-insensitive", `{"StringEquals":{"AWS:UserName":"alice"}}`, one("aws:username", "alice"), true},
		{"StringEquals values are ORed", `{"StringEquals":{"aws:username":["bob","alice"]}}`, one("aws:username", "alice"), true},
		{"StringEquals absent key", `{"StringEquals":{"aws:username":"alice"}}`, none, false},
		{"StringEquals * is literal", `{"StringEquals":{"aws:username":"*"}}`, one("aws:username", "alice"), false},
		{"StringNotEquals miss", `{"StringNotEquals":{"aws:username":"alice"}}`, one("aws:username", "bob"), true},
		{"StringNotEquals hit", `{"StringNotEquals":{"aws:username":"alice"}}`, one("aws:username", "alice"), false},
		{"StringNotEquals values are NORed", `{"StringNotEquals":{"aws:username":["bob","alice"]}}`, one("aws:username", "alice"), false},
		{"StringNotEquals absent key is true", `{"StringNotEquals":{"aws:username":"alice"}}`, none, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}`, one("aws:username", "alice"), true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}}`, one("aws:username", "alice"), false},
		{"StringLike star", `{"StringLike":{"sts:RoleSessionName":"ci-*"}}`, one("sts:RoleSessionName", "ci-1234"), true},
		{"StringLike star spans slashes", `{"StringLike":{"s3:prefix":"home/*"}}`, one("s3:prefix", "home/a/b"), true},
		{"StringLike question mark", `{"StringLike":{"sts:RoleSessionName":"ci-?"}}`, one("sts:RoleSessionName", "ci-12"), false},
		{"StringLike question mark is one rune", `{"StringLike":{"aws:username":"j?rg"}}`, one("aws:username", "jörg"), true},
		{"StringLike is case-sensitive", `{"StringLike":{"aws:username":"A*"}}`, one("aws:username", "alice"), false},
		{"StringLike escaped star is literal", `{"StringLike":{"aws:username":"a${*}"}}`, one("aws:username", "abc"), false},
		{"StringLike escaped star matches a star", `{"StringLike":{"aws:username":"a${*}"}}`, one("aws:username", "a*"), true},
		{"StringNotLike", `{"StringNotLike":{"aws:username":"a*"}}`, one("aws:username", "bob"), true},
		{"StringNotLike absent", `{"StringNotLike":{"aws:username":"a*"}}`, none, true},
		{"keys are ANDed", `{"StringEquals":{"aws:username":"alice","aws:PrincipalAccount":"111122223333"}}`, one("aws:username", "alice"), false},
		{"operators are ANDed", `{"StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"}}`, map[string][]string{"aws:username": {"alice"}, "aws:SecureTransport": {"true"}}, true},

		// Numeric.
		{"NumericEquals", `{"NumericEquals":{"s3:max-keys":"10"}}`, one("s3:max-keys", "10"), true},
		{"NumericEquals as number", `{"NumericEquals":{"s3:max-keys":10}}`, one("s3:max-keys", "10.0"), true},
		{"NumericNotEquals", `{"NumericNotEquals":{"s3:max-keys":"10"}}`, one("s3:max-keys", "11"), true},
		{"NumericLessThan", `{"NumericLessThan":{"s3:max-keys":"10"}}`, one("s3:max-keys", "9"), true},
		{"NumericLessThan equal", `{"NumericLessThan":{"s3:max-keys":"10"}}`, one("s3:max-keys", "10"), false},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"s3:max-keys":"10"}}`, one("s3:max-keys", "10"), true},
		{"NumericGreaterThan", `{"NumericGreaterThan":{"s3:max-keys":"10"}}`, one("s3:max-keys", "10.5"), true},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"s3:max-keys":"-1"}}`, one("s3:max-keys", "-1"), true},
		{"Numeric unparsable context value", `{"NumericEquals":{"s3:max-keys":"10"}}`, one("s3:max-keys", "ten"), false},
		{"Numeric refuses NaN", `{"NumericEquals":{"s3:max-keys":"10"}}`, one("s3:max-keys", "NaN"), false},
		{"Numeric refuses hex", `{"NumericEquals":{"s3:max-keys":"16"}}`, one("s3:max-keys", "0x10"), false},
		{"MultiFactorAuthAge", `{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}`, one("aws:MultiFactorAuthAge", "120"), true},

		// Date.
		{"DateLessThan", `{"DateLessThan":{"aws:CurrentTime":"2026-12-31T23:59:59Z"}}`, one("aws:CurrentTime", "2026-11-21T10:00:00Z"), true},
		{"DateLessThan after", `{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, one("aws:CurrentTime", "2026-11-21T10:00:00Z"), false},
		{"DateGreaterThan date only", `{"DateGreaterThan":{"aws:CurrentTime":"2026-11-20"}}`, one("aws:CurrentTime", "2026-11-21T00:00:00Z"), true},
		{"DateEquals epoch against ISO", `{"DateEquals":{"aws:EpochTime":"1795258800"}}`, one("aws:EpochTime", "2026-11-21T11:00:00Z"), true},
		{"DateEquals offset", `{"DateEquals":{"aws:CurrentTime":"2026-11-21T12:00:00+02:00"}}`, one("aws:CurrentTime", "2026-11-21T10:00:00Z"), true},
		{"DateNotEquals", `{"DateNotEquals":{"aws:CurrentTime":"2026-11-21T10:00:00Z"}}`, one("aws:CurrentTime", "2026-11-21T10:00:00Z"), false},
		{"DateLessThanEquals", `{"DateLessThanEquals":{"aws:TokenIssueTime":"2026-11-21T10:00:00Z"}}`, one("aws:TokenIssueTime", "2026-11-21T10:00:00Z"), true},
		{"DateGreaterThanEquals", `{"DateGreaterThanEquals":{"aws:TokenIssueTime":"2026-11-21T10:00:01Z"}}`, one("aws:TokenIssueTime", "2026-11-21T10:00:00Z"), false},
		{"revocation policy on a session without the key", `{"DateLessThan":{"aws:TokenIssueTime":"2026-11-21T10:00:00Z"}}`, none, false},

		// Bool.
		{"Bool true", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, one("aws:MultiFactorAuthPresent", "true"), true},
		{"Bool JSON true", `{"Bool":{"aws:MultiFactorAuthPresent":true}}`, one("aws:MultiFactorAuthPresent", "TRUE"), true},
		{"Bool false vs true", `{"Bool":{"aws:MultiFactorAuthPresent":"false"}}`, one("aws:MultiFactorAuthPresent", "true"), false},
		{"Bool absent", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, none, false},
		{"Bool garbage context", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, one("aws:MultiFactorAuthPresent", "yes"), false},
		{"BoolIfExists absent", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}`, none, true},
		{"BoolIfExists present", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}`, one("aws:MultiFactorAuthPresent", "true"), false},

		// Binary.
		{"BinaryEquals", `{"BinaryEquals":{"key:bin":"QmluYXJ5VmFsdWU="}}`, one("key:bin", "QmluYXJ5VmFsdWU="), true},
		{"BinaryEquals miss", `{"BinaryEquals":{"key:bin":"QmluYXJ5VmFsdWU="}}`, one("key:bin", "b3RoZXI="), false},

		// IP.
		{"IpAddress in CIDR", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, one("aws:SourceIp", "203.0.113.7"), true},
		{"IpAddress outside", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, one("aws:SourceIp", "198.51.100.7"), false},
		{"IpAddress single address", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, one("aws:SourceIp", "203.0.113.7"), true},
		{"IpAddress IPv6", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, one("aws:SourceIp", "2001:db8::1"), true},
		{"IpAddress v4-mapped v6 caller", `{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}`, one("aws:SourceIp", "::ffff:127.0.0.1"), true},
		{"IpAddress unmasked CIDR", `{"IpAddress":{"aws:SourceIp":"10.1.2.3/8"}}`, one("aws:SourceIp", "10.200.0.1"), true},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}`, one("aws:SourceIp", "203.0.113.7"), true},
		{"NotIpAddress inside", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}`, one("aws:SourceIp", "10.0.0.1"), false},
		{"IpAddress garbage context", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, one("aws:SourceIp", "localhost"), false},

		// ARN.
		{"ArnEquals", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Demo"}}`, one("aws:PrincipalArn", "arn:aws:iam::111122223333:role/Demo"), true},
		{"ArnLike component wildcard", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Demo"}}`, one("aws:PrincipalArn", "arn:aws:iam::444455556666:role/Demo"), true},
		{"ArnLike star does not cross components", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::1111*"}}`, one("aws:PrincipalArn", "arn:aws:iam::111122223333:role/Demo"), false},
		{"ArnLike resource takes the rest", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:*"}}`, one("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic:sub"), true},
		{"ArnLike not an ARN", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}`, one("aws:PrincipalArn", "role/Demo"), false},
		{"ArnNotLike", `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin*"}}`, one("aws:PrincipalArn", "arn:aws:iam::111122223333:role/Demo"), true},
		{"ArnNotEquals absent", `{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Demo"}}`, none, true},
		{"ArnEqualsIfExists absent", `{"ArnEqualsIfExists":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Demo"}}`, none, true},

		// Null.
		{"Null true, absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, none, true},
		{"Null true, present", `{"Null":{"aws:TokenIssueTime":"true"}}`, one("aws:TokenIssueTime", "2026-11-21T10:00:00Z"), false},
		{"Null false, present", `{"Null":{"aws:TokenIssueTime":false}}`, one("aws:TokenIssueTime", "2026-11-21T10:00:00Z"), true},
		{"Null false, absent", `{"Null":{"aws:TokenIssueTime":"false"}}`, none, false},
		{"Null false, empty set", `{"Null":{"aws:TagKeys":"false"}}`, map[string][]string{"aws:TagKeys": {}}, false},

		// IfExists.
		{"StringEqualsIfExists absent", `{"StringEqualsIfExists":{"sts:ExternalId":"x1"}}`, none, true},
		{"StringEqualsIfExists present wrong", `{"StringEqualsIfExists":{"sts:ExternalId":"x1"}}`, one("sts:ExternalId", "x2"), false},
		{"StringNotEqualsIfExists present equal", `{"StringNotEqualsIfExists":{"sts:ExternalId":"x1"}}`, one("sts:ExternalId", "x1"), false},

		// Set operators.
		{"ForAllValues subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["Dept","Project","Cost"]}}`, tags, true},
		{"ForAllValues not subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["Dept"]}}`, tags, false},
		{"ForAllValues absent is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["Dept"]}}`, none, true},
		{"ForAllValues empty set is true", `{"ForAllValues:StringEquals":{"aws:TagKeys":["Dept"]}}`, map[string][]string{"aws:TagKeys": {}}, true},
		{"ForAllValues StringLike", `{"ForAllValues:StringLike":{"aws:TagKeys":"*"}}`, tags, true},
		{"ForAllValues StringNotLike none match", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, map[string][]string{"aws:TagKeys": {"key2:audit"}}, true},
		{"ForAllValues StringNotLike one matches", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, map[string][]string{"aws:TagKeys": {"key1:legal", "key2"}}, false},
		{"ForAnyValue overlap", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["Project"]}}`, tags, true},
		{"ForAnyValue no overlap", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["Cost"]}}`, tags, false},
		{"ForAnyValue absent is false", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["Cost"]}}`, none, false},
		{"ForAnyValue StringNotEquals", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["Dept"]}}`, tags, true},
		{"ForAnyValue StringNotEquals all equal", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["Dept","Project"]}}`, tags, false},
		{"ForAnyValue StringEqualsIfExists absent", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["Cost"]}}`, none, true},
		{"unqualified positive on a multi-valued key: any", `{"StringEquals":{"aws:TagKeys":"Project"}}`, tags, true},
		{"unqualified negated on a multi-valued key: none", `{"StringNotEquals":{"aws:TagKeys":"Project"}}`, tags, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := evalCondition(t, "2012-10-17", c.cond, ctxOf(c.ctx)); got != c.want {
				t.Errorf("%s with %v = %v, want %v", c.cond, c.ctx, got, c.want)
			}
		})
	}
}

func TestPolicyVariables(t *testing.T) {
	alice := map[string][]string{"aws:username": {"alice"}, "aws:PrincipalTag/Team": {"blue"}}
	cases := []struct {
		name    string
		version string
		cond    string
		ctx     map[string][]string
		want    bool
	}{
		{"variable in StringEquals", "2012-10-17", `{"StringEquals":{"sts:RoleSessionName":"${aws:username}"}}`, merge(alice, one("sts:RoleSessionName", "alice")), true},
		{"variable is case-insensitive", "2012-10-17", `{"StringEquals":{"sts:RoleSessionName":"${AWS:UserName}"}}`, merge(alice, one("sts:RoleSessionName", "alice")), true},
		{"variable mismatch", "2012-10-17", `{"StringEquals":{"sts:RoleSessionName":"${aws:username}"}}`, merge(alice, one("sts:RoleSessionName", "bob")), false},
		{"variable in StringLike", "2012-10-17", `{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}`, merge(alice, one("s3:prefix", "home/alice/x")), true},
		{"variable value is literal, not a wildcard", "2012-10-17", `{"StringLike":{"s3:prefix":"home/${aws:username}"}}`, map[string][]string{"aws:username": {"*"}, "s3:prefix": {"home/bob"}}, false},
		{"absent variable matches nothing", "2012-10-17", `{"StringEquals":{"sts:RoleSessionName":"${aws:username}"}}`, one("sts:RoleSessionName", "alice"), false},
		{"absent variable in a negated operator", "2012-10-17", `{"StringNotEquals":{"sts:RoleSessionName":"${aws:username}"}}`, one("sts:RoleSessionName", "alice"), true},
		{"default value", "2012-10-17", `{"StringEquals":{"sts:RoleSessionName":"${aws:PrincipalTag/Dept, 'none'}"}}`, one("sts:RoleSessionName", "none"), true},
		{"default with a quote", "2012-10-17", `{"StringEquals":{"sts:RoleSessionName":"${aws:PrincipalTag/Dept,'it''s'}"}}`, one("sts:RoleSessionName", "it's"), true},
		{"default not used when present", "2012-10-17", `{"StringEquals":{"sts:RoleSessionName":"${aws:PrincipalTag/Team, 'none'}"}}`, merge(alice, one("sts:RoleSessionName", "blue")), true},
		{"tag variable", "2012-10-17", `{"StringEquals":{"aws:RequestTag/Team":"${aws:PrincipalTag/team}"}}`, merge(alice, one("aws:RequestTag/Team", "blue")), true},
		{"multi-valued variable does not resolve", "2012-10-17", `{"StringEquals":{"sts:RoleSessionName":"${aws:TagKeys}"}}`, map[string][]string{"aws:TagKeys": {"a", "b"}, "sts:RoleSessionName": {"a"}}, false},
		{"escape dollar", "2012-10-17", `{"StringEquals":{"aws:username":"${$}{aws:username}"}}`, one("aws:username", "${aws:username}"), true},
		{"2008 has no variables", "2008-10-17", `{"StringEquals":{"sts:RoleSessionName":"${aws:username}"}}`, merge(alice, one("sts:RoleSessionName", "${aws:username}")), true},
		{"2008 has no variables (2)", "2008-10-17", `{"StringEquals":{"sts:RoleSessionName":"${aws:username}"}}`, merge(alice, one("sts:RoleSessionName", "alice")), false},
		{"variable in an ARN condition", "2012-10-17", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::${aws:username}-*"}}`, merge(alice, one("aws:SourceArn", "arn:aws:s3:::alice-bucket")), true},
		{"variable with a colon stays in its component", "2012-10-17", `{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::${aws:PrincipalTag/Team}"}}`, map[string][]string{"aws:PrincipalTag/Team": {"x:y"}, "aws:SourceArn": {"arn:aws:s3:::x:y"}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := evalCondition(t, c.version, c.cond, ctxOf(c.ctx)); got != c.want {
				t.Errorf("%s with %v = %v, want %v", c.cond, c.ctx, got, c.want)
			}
		})
	}
}

func merge(ms ...map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestResourceVariables(t *testing.T) {
	d, err := Parse(Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/${aws:PrincipalTag/TenantID}/*"}}`)
	if err != nil {
		t.Fatal(err)
	}
	tenant := ctxOf(one("aws:PrincipalTag/TenantID", "t-42"))
	for _, c := range []struct {
		res  string
		ctx  *Context
		want bool
	}{
		{"arn:aws:s3:::bucket/t-42/data.csv", tenant, true},
		{"arn:aws:s3:::bucket/t-43/data.csv", tenant, false},
		{"arn:aws:s3:::bucket/t-42", tenant, false},
		{"arn:aws:s3:::bucket/t-42/data.csv", nil, false}, // no tag: matches nothing
	} {
		if got := allows(d, &Request{Action: "s3:GetObject", Resource: c.res, Context: c.ctx}); got != c.want {
			t.Errorf("%s: %v, want %v", c.res, got, c.want)
		}
	}
	old, err := Parse(Identity, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bucket/${aws:username}/*"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if !allows(old, &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/${aws:username}/x", Context: ctxOf(one("aws:username", "alice"))}) {
		t.Error("2008-10-17: ${aws:username} should be literal text")
	}
}

func TestActionAndResourceMatching(t *testing.T) {
	d, err := Parse(Identity, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:Get*","iam:?etUser"],"Resource":["arn:aws:s3:::b/*","arn:aws:iam::111122223333:user/*"]},
		{"Effect":"Allow","NotAction":"s3:*","Resource":"arn:aws:ec2:*:*:instance/*"},
		{"Effect":"Allow","Action":"sqs:SendMessage","NotResource":"arn:aws:sqs:*:*:secret-*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		action, res string
		want        bool
	}{
		{"s3:GetObject", "arn:aws:s3:::b/k", true},
		{"S3:getobject", "arn:aws:s3:::b/k", true}, // actions are case-insensitive
		{"s3:PutObject", "arn:aws:s3:::b/k", false},
		{"s3:GetObject", "arn:aws:s3:::B/k", false}, // resources are not
		{"iam:GetUser", "arn:aws:iam::111122223333:user/alice", true},
		{"iam:SetUser", "arn:aws:iam::111122223333:user/alice", true},
		{"iam:ResetUser", "arn:aws:iam::111122223333:user/alice", false},
		{"ec2:RunInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", true},
		{"s3:GetObject", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", false},
		{"sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:jobs", true},
		{"sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:secret-jobs", false},
		{"ec2:RunInstances", "arn:aws:ec2:us-east-1:111122223333:volume/v-1", false},
	} {
		if got := allows(d, &Request{Action: c.action, Resource: c.res}); got != c.want {
			t.Errorf("%s on %s: %v, want %v", c.action, c.res, got, c.want)
		}
	}
}
