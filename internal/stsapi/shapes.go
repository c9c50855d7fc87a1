package stsapi

import (
	"strconv"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Shapes shared by the actions that issue sessions, from the botocore STS
// model (aws-sts.md section 4.0).
var (
	roleARN     = awsquery.String{Name: "RoleArn", Required: true, Min: 20, Max: 2048, Pattern: isARNChars, PatternRE: arnPatternRE}
	sessionName = awsquery.String{Name: "RoleSessionName", Required: true, Min: 2, Max: 64, Pattern: arn.IsNameChars, PatternRE: `[\w+=,.@-]*`}
	// The model sets no maximum on AssumeRole's Policy since 2023; the
	// documented 2048-character limit on the plain text still holds.
	sessionPolicy  = awsquery.String{Name: "Policy", Min: 1, Max: 2048, Pattern: isPolicyChars, PatternRE: `[\u0009\u000A\u000D\u0020-\u00FF]+`}
	policyARNElem  = awsquery.String{Min: 20, Max: 2048, Pattern: isARNChars, PatternRE: arnPatternRE}
	tagKey         = awsquery.String{Name: "Key", Required: true, Min: 1, Max: 128, Pattern: credential.IsTagText, PatternRE: `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`}
	tagValue       = awsquery.String{Name: "Value", Required: true, Max: 256, Pattern: credential.IsTagText, PatternRE: `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`}
	transitiveKey  = awsquery.String{Min: 1, Max: 128, Pattern: credential.IsTagText, PatternRE: `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`}
	externalID     = awsquery.String{Name: "ExternalId", Min: 2, Max: 1224, Pattern: arn.IsSerialChars, PatternRE: `[\w+=,.@:\/-]*`}
	sourceIdentity = awsquery.String{Name: "SourceIdentity", Min: 2, Max: 64, Pattern: arn.IsNameChars, PatternRE: `[\w+=,.@-]*`}
	roleDuration   = awsquery.Int{Name: "DurationSeconds", Min: 900, Max: 43200}
	// AssumeRoleWithWebIdentity's own parameters.
	webIdentityToken = awsquery.String{Name: "WebIdentityToken", Required: true, Min: 4, Max: 20000, Sensitive: true}
	providerID       = awsquery.String{Name: "ProviderId", Min: 4, Max: 2048, Pattern: isARNChars, PatternRE: arnPatternRE}
)

// Documented list limits (STS API reference: PolicyArns, Tags,
// TransitiveTagKeys).
const (
	maxPolicyARNs = 10
	maxTags       = 50
)

const arnPatternRE = `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`

// isARNChars checks arnType's character class.
func isARNChars(s string) bool {
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r', r >= 0x20 && r <= 0x7e, r == 0x85,
			r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		default:
			return false
		}
	}
	return true
}

// isPolicyChars checks sessionPolicyDocumentType's class: tab, LF, CR and
// U+0020..U+00FF.
func isPolicyChars(s string) bool {
	for _, r := range s {
		if r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r > 0xff) {
			return false
		}
	}
	return true
}

// sessionAttributes decodes Policy, PolicyArns and Tags, and records them
// in the audit event's parameters as CloudTrail does.
func sessionAttributes(d *awsquery.Decoder, params map[string]any) (policy string, arns []string, tags []credential.Tag) {
	policy, arns = sessionPolicies(d, params)
	return policy, arns, sessionTags(d, params)
}

// sessionPolicies decodes Policy and PolicyArns.
func sessionPolicies(d *awsquery.Decoder, params map[string]any) (policy string, arns []string) {
	if p, ok := d.String(sessionPolicy); ok {
		policy = p
		params["policy"] = p
	}
	if n, _, ok := d.ListLen("PolicyArns", maxPolicyARNs); ok && n > 0 {
		var list []any
		for i := 1; i <= n; i++ {
			e := policyARNElem
			e.Name, e.Required = "PolicyArns.member."+strconv.Itoa(i)+".arn", true
			if a, ok := d.String(e); ok {
				arns = append(arns, a)
				list = append(list, map[string]string{"arn": a})
			}
		}
		params["policyArns"] = list
	}
	return policy, arns
}

// sessionTags decodes Tags.
func sessionTags(d *awsquery.Decoder, params map[string]any) (tags []credential.Tag) {
	if n, _, ok := d.ListLen("Tags", maxTags); ok && n > 0 {
		var list []any
		for i := 1; i <= n; i++ {
			k, v := tagKey, tagValue
			k.Name, v.Name = "Tags.member."+strconv.Itoa(i)+".Key", "Tags.member."+strconv.Itoa(i)+".Value"
			key, okK := d.String(k)
			val, okV := d.String(v)
			if okK && okV {
				tags = append(tags, credential.Tag{Key: key, Value: val})
				list = append(list, map[string]string{"key": key, "value": val})
			}
		}
		params["tags"] = list
	}
	return tags
}

// sessionCredentials records issued credentials in the audit event and
// returns the Credentials member.
func sessionCredentials(x *call, c sts.Credentials) awsquery.Field {
	x.Event.IssuedKeyID = c.AccessKeyID
	x.Event.ResponseElements = map[string]any{"credentials": map[string]string{
		"accessKeyId": c.AccessKeyID,
		"expiration":  c.Expiration.UTC().Format(awsquery.TimeFormat),
	}}
	return credentialsField(c)
}
