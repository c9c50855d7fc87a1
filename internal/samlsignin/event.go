package samlsignin

import (
	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/edge"
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
		ev.RecipientAccountID = arn.AccountOf(offer.Provider)
		extra["samlProvider"] = offer.Provider
	}
	if offer.Issuer != "" {
		extra["issuer"] = offer.Issuer
	}
	if len(extra) > 0 {
		ev.AdditionalEventData = extra
	}
}

// recordAssume fills an AssumeRoleWithSAML event as the STS API does: the
// assertion's ID (never the assertion), userIdentity SAMLUser, and for a
// granted session the access key id only (never the secret or the
// session token).
func recordAssume(ev *audit.Event, res sts.SAMLResult) {
	edge.SAMLUser(ev, res)
	if res.Credentials.AccessKeyID != "" {
		edge.SAMLSession(ev, res)
	}
}
