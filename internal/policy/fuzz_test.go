package policy

import "testing"

// FuzzParse: no document makes Parse or Decide panic, and a document that
// parses evaluates deterministically.
func FuzzParse(f *testing.F) {
	f.Add(benchTrust)
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username, 'x'}/*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":"a${*}?"}}}}`)
	f.Add(`{"Statement":[{"Effect":"Deny","NotAction":"s3:*","NotResource":"arn:*:*:*:*:*"}]}`)
	f.Fuzz(func(t *testing.T, text string) {
		ctx := NewContext(4)
		ctx.Set("aws:username", "alice")
		ctx.Set("aws:TagKeys", "a*", "b")
		ctx.Set("aws:SourceIp", "10.0.0.1")
		req := &Request{
			Principal: Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice"},
			Action:    "sts:AssumeRole", Resource: "arn:aws:s3:::b/alice/x", Context: ctx,
		}
		for _, k := range []Kind{Identity, Trust, Resource} {
			d, err := Parse(k, text)
			if err != nil {
				continue
			}
			set := &Set{Identity: []Named{{Doc: d}}}
			if k != Identity {
				set = &Set{Resource: &Named{Doc: d}}
			}
			first, second := Decide(set, req), Decide(set, req)
			if first.Allowed != second.Allowed || first.Reason != second.Reason {
				t.Fatal("nondeterministic decision")
			}
		}
	})
}
