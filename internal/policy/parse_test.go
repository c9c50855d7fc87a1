package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefusesMalformedDocuments(t *testing.T) {
	const ok = `"Effect":"Allow","Action":"s3:GetObject","Resource":"*"`
	trust := `"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"`
	cases := []struct {
		name string
		kind Kind
		doc  string
		want string
	}{
		{"not JSON", Identity, `Version: 2012`, "Syntax errors in policy."},
		{"not an object", Identity, `["x"]`, "Syntax errors in policy."},
		{"trailing garbage", Identity, `{"Statement":{` + ok + `}} x`, "Syntax errors in policy."},
		{"two documents", Identity, `{"Statement":{` + ok + `}}{}`, "Syntax errors in policy."},
		{"duplicate top-level key", Identity, `{"Version":"2012-10-17","Version":"2012-10-17","Statement":{` + ok + `}}`, "Syntax errors in policy."},
		{"duplicate statement key", Identity, `{"Statement":{"Effect":"Allow","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}}`, "Syntax errors in policy."},
		{"trailing comma", Identity, `{"Statement":{` + ok + `,}}`, "Syntax errors in policy."},
		{"too deep", Identity, `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"a:b":[[[[["x"]]]]]}}}}`, "Syntax errors in policy."},
		{"invalid UTF-8", Identity, "{\"Statement\":{" + ok + ",\"Sid\":\"\xff\"}}", "The policy is not valid UTF-8."},
		{"bad version", Identity, `{"Version":"2012-10-18","Statement":{` + ok + `}}`, "The policy must contain a valid version string."},
		{"version not a string", Identity, `{"Version":2012,"Statement":{` + ok + `}}`, "The policy must contain a valid version string."},
		{"unknown top-level field", Identity, `{"Statment":{` + ok + `}}`, "Unknown field Statment."},
		{"lower-case element name", Identity, `{"statement":{` + ok + `}}`, "Unknown field statement."},
		{"no statement", Identity, `{"Version":"2012-10-17"}`, "Missing required field Statement."},
		{"empty statement list", Identity, `{"Statement":[]}`, "The policy must contain at least one statement."},
		{"unknown statement field", Identity, `{"Statement":{` + ok + `,"Conditions":{}}}`, "Unknown field Conditions."},
		{"no effect", Identity, `{"Statement":{"Action":"s3:GetObject","Resource":"*"}}`, "Missing required field Effect."},
		{"bad effect", Identity, `{"Statement":{"Effect":"allow","Action":"s3:GetObject","Resource":"*"}}`, "Invalid effect: the Effect must be Allow or Deny."},
		{"no action", Identity, `{"Statement":{"Effect":"Allow","Resource":"*"}}`, "Policy statement must contain actions."},
		{"empty action list", Identity, `{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, "Policy statement must contain actions."},
		{"action without vendor", Identity, `{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}`, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"action not a string", Identity, `{"Statement":{"Effect":"Allow","Action":7,"Resource":"*"}}`, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"Action and NotAction", Identity, `{"Statement":{` + ok + `,"NotAction":"s3:*"}}`, "Statement cannot contain both Action and NotAction."},
		{"no resource", Identity, `{"Statement":{"Effect":"Allow","Action":"s3:GetObject"}}`, "Policy statement must contain resources."},
		{"resource not an ARN", Identity, `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"bucket/*"}}`, `Resource bucket/* must be in ARN format or "*".`},
		{"short ARN resource", Identity, `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3"}}`, `Resource arn:aws:s3 must be in ARN format or "*".`},
		{"Resource and NotResource", Identity, `{"Statement":{` + ok + `,"NotResource":"*"}}`, "Statement cannot contain both Resource and NotResource."},
		{"bad variable", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username"}}`, "Resource arn:aws:s3:::b/${aws:username has an invalid policy variable."},
		{"principal in identity policy", Identity, `{"Statement":{` + ok + `,"Principal":"*"}}`, "Policy document should not specify a principal."},
		{"Sid with a dash", Identity, `{"Statement":{` + ok + `,"Sid":"a-b"}}`, "Statement IDs (SID) must be alpha-numeric."},
		{"duplicate Sid", Identity, `{"Statement":[{` + ok + `,"Sid":"A"},{` + ok + `,"Sid":"A"}]}`, `Statement IDs (SID) in a single policy must be unique: "A".`},
		{"error names the statement", Identity, `{"Statement":[{` + ok + `},{"Effect":"Allow","Resource":"*"}]}`, "Policy statement must contain actions. (statement 2)"},
		{"unknown condition operator", Identity, `{"Statement":{` + ok + `,"Condition":{"StringEqualz":{"aws:username":"a"}}}}`, "Invalid Condition type : StringEqualz."},
		{"IfExists on Null", Identity, `{"Statement":{` + ok + `,"Condition":{"NullIfExists":{"aws:username":"true"}}}}`, "Invalid Condition type : NullIfExists."},
		{"set operator on Null", Identity, `{"Statement":{` + ok + `,"Condition":{"ForAllValues:Null":{"aws:username":"true"}}}}`, "Invalid Condition type : ForAllValues:Null."},
		{"condition key without vendor", Identity, `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"username":"a"}}}}`, `Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. (condition key "username")`},
		{"condition not an object", Identity, `{"Statement":{` + ok + `,"Condition":"x"}}`, "Syntax errors in policy: Condition must be an object."},
		{"condition without keys", Identity, `{"Statement":{` + ok + `,"Condition":{"StringEquals":{}}}}`, "Condition StringEquals must map condition keys to values."},
		{"condition without values", Identity, `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"aws:username":[]}}}}`, "Condition StringEquals on aws:username has no values."},
		{"null condition value", Identity, `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"aws:username":null}}}}`, "Condition StringEquals on aws:username: values must be strings, numbers or booleans."},
		{"bad number", Identity, `{"Statement":{` + ok + `,"Condition":{"NumericLessThan":{"s3:max-keys":"1e3"}}}}`, `invalid value for NumericLessThan: "1e3" on s3:max-keys.`},
		{"bad date", Identity, `{"Statement":{` + ok + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}}`, `invalid value for DateLessThan: "tomorrow" on aws:CurrentTime.`},
		{"bad bool", Identity, `{"Statement":{` + ok + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}}}`, `invalid value for Bool: "yes" on aws:SecureTransport.`},
		{"bad CIDR", Identity, `{"Statement":{` + ok + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}}`, `invalid value for IpAddress: "10.0.0.0/33" on aws:SourceIp.`},
		{"bad base64", Identity, `{"Statement":{` + ok + `,"Condition":{"BinaryEquals":{"k:b":"%%%"}}}}`, `invalid value for BinaryEquals: "%%%" on k:b.`},
		{"variable in a numeric condition", Identity, `{"Version":"2012-10-17","Statement":{` + ok + `,"Condition":{"NumericEquals":{"s3:max-keys":"${aws:username}"}}}}`, `invalid value for NumericEquals: "${aws:username}" on s3:max-keys.`},

		{"trust policy without principal", Trust, `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`, "Missing required field Principal."},
		{"trust policy with a resource", Trust, `{"Statement":{` + trust + `,"Resource":"*"}}`, "Has prohibited field Resource."},
		{"trust policy with a non-sts action", Trust, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject"}}`, "AssumeRole policy may only specify STS AssumeRole actions."},
		{"trust policy with NotAction", Trust, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"NotAction":"sts:AssumeRole"}}`, "AssumeRole policy may only specify STS AssumeRole actions."},
		{"trust policy with NotPrincipal", Trust, `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}`, "NotPrincipal may be used only with Deny in a resource policy."},
		{"principal string other than *", Trust, `{"Statement":{"Effect":"Allow","Principal":"111122223333","Action":"sts:AssumeRole"}}`, `Invalid principal in policy: "111122223333"`},
		{"principal wildcard account", Trust, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"sts:AssumeRole"}}`, `Invalid principal in policy: "AWS":"arn:aws:iam::*:root"`},
		{"principal partial wildcard", Trust, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ci-*"},"Action":"sts:AssumeRole"}}`, `Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:role/ci-*"`},
		{"principal short account", Trust, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::12:root"},"Action":"sts:AssumeRole"}}`, `Invalid principal in policy: "AWS":"arn:aws:iam::12:root"`},
		{"principal of an unknown type", Trust, `{"Statement":{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df9"},"Action":"sts:AssumeRole"}}`, `Invalid principal in policy: unsupported principal type "CanonicalUser"`},
		{"federated principal not a provider", Trust, `{"Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:role/x"},"Action":"sts:AssumeRoleWithWebIdentity"}}`, `Invalid principal in policy: "Federated":"arn:aws:iam::111122223333:role/x"`},
		{"empty principal object", Trust, `{"Statement":{"Effect":"Allow","Principal":{},"Action":"sts:AssumeRole"}}`, "Invalid principal in policy"},
		{"resource policy without resource", Resource, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}}`, "Policy statement must contain resources."},
		{"NotPrincipal with Allow", Resource, `{"Statement":{"Effect":"Allow","NotPrincipal":"*","Action":"s3:GetObject","Resource":"*"}}`, "NotPrincipal may be used only with Deny in a resource policy."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.kind, c.doc)
			var m *MalformedError
			if !errors.As(err, &m) {
				t.Fatalf("Parse = %v, want a MalformedError", err)
			}
			if m.Msg != c.want {
				t.Errorf("message %q, want %q", m.Msg, c.want)
			}
		})
	}
}

func TestParseAcceptsTheDocumentedForms(t *testing.T) {
	for _, c := range []struct {
		name string
		kind Kind
		doc  string
	}{
		{"statement object", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`},
		{"no version", Identity, `{"Statement":[{"Effect":"Deny","NotAction":["s3:*","iam:*"],"NotResource":"arn:aws:s3:::b/*"}]}`},
		{"2008", Identity, `{"Version":"2008-10-17","Id":"x","Statement":[{"Sid":"A1","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
		{"every principal form", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Principal":{"AWS":[
			"111122223333","arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:user/dev/alice","arn:aws:iam::111122223333:role/Demo",
			"arn:aws:sts::111122223333:assumed-role/Demo/sess","arn:aws:sts::111122223333:federated-user/fed","AIDAJQABLZS4A3QDU576Q","AROADBQP57FF2AEXAMPLE"]}},
			{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity","Principal":{"Federated":["arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com","accounts.google.com"]}},
			{"Effect":"Allow","Action":"sts:AssumeRoleWithSAML","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/Okta"}},
			{"Effect":"Allow","Action":"sts:*","Principal":{"Service":"ec2.amazonaws.com"}},
			{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"*"}}]}`},
		{"resource policy", Resource, `{"Version":"2012-10-17","Statement":[{"Sid":"Any text, even spaces","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}`},
		{"every operator", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{` + everyOperator() + `}}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse(c.kind, c.doc)
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind != c.kind || len(d.Statements) == 0 || d.Text != c.doc {
				t.Errorf("parsed %+v", d)
			}
		})
	}
}

// everyOperator returns a Condition body that uses every operator, each
// with IfExists and both set qualifiers where they are allowed.
func everyOperator() string {
	value := map[family]string{
		famString: `"x"`, famStringIgnoreCase: `"x"`, famStringLike: `"x*"`, famNumeric: `"1.5"`,
		famDate: `"2026-01-01T00:00:00Z"`, famBool: `true`, famBinary: `"eA=="`, famIP: `"10.0.0.0/8"`,
		famARN: `"arn:aws:iam::*:role/*"`, famNull: `"true"`,
	}
	var parts []string
	for name, info := range operators {
		forms := []string{name}
		if info.fam != famNull {
			forms = append(forms, name+"IfExists", "ForAllValues:"+name, "ForAnyValue:"+name+"IfExists")
		}
		for _, f := range forms {
			parts = append(parts, `"`+f+`":{"k:v":`+value[info.fam]+`}`)
		}
	}
	return strings.Join(parts, ",")
}

func TestParseBoundsInput(t *testing.T) {
	big := `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Sid":"` + strings.Repeat("a", MaxDocumentBytes) + `"}}`
	if _, err := Parse(Identity, big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Parse of %d bytes = %v", len(big), err)
	}
}
