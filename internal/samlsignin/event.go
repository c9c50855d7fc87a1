package samlsignin

import (
	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/awsquery"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Event names of the two steps. Listing the roles is keyless's own
// event; signing in is recorded as the STS API records
// AssumeRoleWithSAML (CloudTrail User Guide, "AWS STS API calls with
// SAML").
const (
	EventRoles  = "SAMLSignInRoles"
	EventAssume = "AssumeRoleWithSAML"
)

// recordOffer puts what a verified Response offered into the listing's
// event: the SAML subject as a SAMLUser (CloudTrail User Guide,
// cloudtrail-event-reference-user-identity), the provider that verified
// it, and the pairs offered (set by the caller).
func recordOffer(ev *audit.Event, offer sts.SAMLOffer) {
	if offer.Subject != "" {
		ev.UserIdentity = audit.UserIdentity{Type: "SAMLUser", UserName: offer.Subject}
	}
	extra := map[string]string{}
	if offer.Provider != "" {
		ev.RecipientAccountID = accountOf(offer.Provider)
		extra["samlProvider"] = offer.Provider
	}
	if offer.Issuer != "" {
		extra["issuer"] = offer.Issuer
	}
	if len(extra) > 0 {
		ev.AdditionalEventData = extra
	}
}

// recordAssume fills an AssumeRoleWithSAML event as the STS edge does:
// requestParameters with the assertion's ID (never the assertion),
// userIdentity SAMLUser with principalId NAMEQUALIFIER:SUBJECT, and
// responseElements with the access key id only (never the secret or
// the session token).
func recordAssume(ev *audit.Event, role string, res sts.SAMLResult) {
	params := ev.RequestParameters
	if res.AssertionID != "" {
		params["sAMLAssertionID"] = res.AssertionID
	}
	if len(res.Tags) > 0 {
		tags := map[string]any{}
		var transitive []any
		for _, t := range res.Tags {
			tags[t.Key] = t.Value
			if t.Transitive {
				transitive = append(transitive, t.Key)
			}
		}
		params["principalTags"] = tags
		if len(transitive) > 0 {
			params["transitiveTagKeys"] = transitive
		}
	}
	if res.Subject != "" && res.NameQualifier != "" {
		ev.UserIdentity = audit.UserIdentity{
			Type:             "SAMLUser",
			PrincipalID:      res.NameQualifier + ":" + res.Subject,
			UserName:         res.Subject,
			IdentityProvider: res.NameQualifier,
		}
	}
	switch {
	case res.Provider != "":
		ev.RecipientAccountID = accountOf(res.Provider)
	case res.AssumedRoleARN != "":
		ev.RecipientAccountID = accountOf(role)
	}
	c := res.Credentials
	if c.AccessKeyID == "" {
		return
	}
	ev.IssuedKeyID = c.AccessKeyID
	out := map[string]any{
		"credentials":     map[string]any{"accessKeyId": c.AccessKeyID, "expiration": c.Expiration.UTC().Format(awsquery.TimeFormat)},
		"assumedRoleUser": map[string]any{"assumedRoleId": res.AssumedRoleID, "arn": res.AssumedRoleARN},
		"subject":         res.Subject,
		"subjectType":     res.SubjectType,
		"issuer":          res.Issuer,
		"audience":        res.Audience,
		"nameQualifier":   res.NameQualifier,
	}
	if res.HasPackedPolicySize {
		out["packedPolicySize"] = res.PackedPolicySize
	}
	if res.SourceIdentity != "" {
		out["sourceIdentity"] = res.SourceIdentity
	}
	ev.ResponseElements = out
}
