package policy

import (
	"testing"
	"time"
)

// benchTrust is a 10-statement trust policy with conditions, the shape
// issue 3's target names (evaluation under 10 us).
const benchTrust = `{"Version":"2012-10-17","Statement":[
 {"Sid":"DenyOld","Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-01-01T00:00:00Z"}}},
 {"Sid":"DenyOutside","Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16","127.0.0.0/8"]},"Bool":{"aws:ViaAWSService":"false"}}},
 {"Sid":"CI","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ci"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringLike":{"sts:RoleSessionName":"ci-*"}}},
 {"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"partner-7f3a"}}},
 {"Sid":"Ops","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/ops1","arn:aws:iam::111122223333:user/ops2"]},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}},
 {"Sid":"Tags","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:TagSession","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["Project","CostCenter"]},"StringEquals":{"aws:RequestTag/Project":"${aws:PrincipalTag/Project}"}}},
 {"Sid":"Source","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:SetSourceIdentity","Condition":{"StringLike":{"sts:SourceIdentity":"${aws:username}"}}},
 {"Sid":"Devs","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalTag/Team":"platform"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/dev/*"}}},
 {"Sid":"Hours","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"},"StringEquals":{"aws:PrincipalAccount":"111122223333"}}},
 {"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:RoleSessionName":"${aws:username}"},"Bool":{"aws:SecureTransport":"true"}}}]}`

func BenchmarkDecideTrustPolicy(b *testing.B) {
	d, err := Parse(Trust, benchTrust)
	if err != nil {
		b.Fatal(err)
	}
	set := &Set{Resource: &Named{Name: "trust policy", Doc: d}, ResourceAccount: "111122223333", RequireResource: true}
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	ctx := NewContext(16)
	ctx.Set("aws:username", "alice")
	ctx.Set("aws:userid", "AIDAALICEALICEALICE1")
	ctx.Set("aws:PrincipalArn", "arn:aws:iam::111122223333:user/alice")
	ctx.Set("aws:PrincipalAccount", "111122223333")
	ctx.Set("aws:PrincipalType", "User")
	ctx.Set("aws:PrincipalTag/Team", "platform")
	ctx.Set("aws:SourceIp", "10.1.2.3")
	ctx.Set("aws:SecureTransport", "true")
	ctx.Set("aws:CurrentTime", now.Format(time.RFC3339))
	ctx.Set("aws:EpochTime", "1795255200")
	ctx.Set("sts:RoleSessionName", "alice")
	ctx.Set("aws:RequestTag/Project", "x")
	ctx.Set("aws:TagKeys", "Project")
	req := &Request{
		Principal: Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice", UniqueID: "AIDAALICEALICEALICE1"},
		Action:    "sts:AssumeRole",
		Resource:  "arn:aws:iam::111122223333:role/Target",
		Context:   ctx,
	}
	if dec := Decide(set, req); !dec.Allowed {
		b.Fatalf("benchmark request is denied: %+v", dec)
	}
	b.ReportAllocs()
	for b.Loop() {
		Decide(set, req)
	}
}
