package saml

import (
	"slices"
	"time"
)

// Bearer is the only subject confirmation method accepted (SAML profiles
// 4.1.4.2).
const Bearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

// maxSubject bounds a NameID and its Format.
const maxSubject = 256

// Expectations are what an assertion must show to be for us, from us-side
// configuration only.
type Expectations struct {
	// Issuer is the provider's entity ID.
	Issuer string
	// Audiences are our service provider entity IDs; every
	// AudienceRestriction must name one.
	Audiences []string
	// Recipients are our sign-in URLs (the assertion consumer
	// endpoints); the bearer confirmation's Recipient must be one.
	Recipients []string
	// Leeway absorbs clock skew in every time comparison.
	Leeway time.Duration
	// MaxAge bounds how long after IssueInstant an assertion is redeemed.
	MaxAge time.Duration
}

// Check applies the checks of SAML profiles 4.1.4.2 and 4.1.4.3 that need
// no XML, and returns the Recipient that matched (saml:aud and the
// Audience member of the answer). It runs on a verified assertion only.
func Check(a *Assertion, e Expectations, now time.Time) (recipient string, err error) {
	if a.Issuer == "" || a.Issuer != e.Issuer || (a.ResponseIssuer != "" && a.ResponseIssuer != e.Issuer) {
		return "", invalid("issuer_mismatch", MsgIssuer)
	}
	if a.Destination != "" && !slices.Contains(e.Recipients, a.Destination) {
		return "", Refuse("destination_mismatch")
	}
	if a.ID == "" {
		return "", Refuse("assertion_id_missing")
	}
	if a.Subject == "" {
		return "", Refuse("subject_missing")
	}
	// The subject and its format are carried in the session token: bound
	// them like an OIDC sub, and refuse a format that names nothing.
	if len(a.Subject) > maxSubject || len(a.SubjectFormat) > maxSubject || SubjectType(a.SubjectFormat) == "" {
		return "", Refuse("subject_invalid")
	}
	if len(a.AudienceRestrictions) == 0 {
		return "", invalid("audience_missing", MsgAudience)
	}
	for _, r := range a.AudienceRestrictions {
		if !slices.ContainsFunc(r, func(aud string) bool { return slices.Contains(e.Audiences, aud) }) {
			return "", invalid("audience_mismatch", MsgAudience)
		}
	}
	if len(a.Confirmations) != 1 {
		return "", Refuse("subject_confirmation_count")
	}
	c := a.Confirmations[0]
	switch {
	case c.Method != Bearer:
		return "", Refuse("subject_confirmation_not_bearer")
	case !c.HasData || c.NotOnOrAfter.IsZero():
		return "", Refuse("subject_confirmation_data_missing")
	case !slices.Contains(e.Recipients, c.Recipient):
		return "", Refuse("recipient_mismatch")
	}

	late := now.Add(-e.Leeway) // a deadline at or before this has passed
	early := now.Add(e.Leeway) // a start after this has not come
	switch {
	case a.IssueInstant.IsZero():
		return "", Refuse("issue_instant_missing")
	case a.IssueInstant.After(early):
		return "", Refuse("issued_in_future")
	case !c.NotBefore.IsZero() && c.NotBefore.After(early):
		return "", Refuse("confirmation_not_yet_valid")
	case !a.NotBefore.IsZero() && a.NotBefore.After(early):
		return "", Refuse("not_yet_valid")
	case !c.NotOnOrAfter.After(late):
		return "", &Error{Kind: Expired, Reason: "confirmation_expired", Msg: MsgExpired}
	case !a.NotOnOrAfter.IsZero() && !a.NotOnOrAfter.After(late):
		return "", &Error{Kind: Expired, Reason: "conditions_expired", Msg: MsgExpired}
	case e.MaxAge > 0 && a.IssueInstant.Add(e.MaxAge).Before(late):
		return "", &Error{Kind: Expired, Reason: "issued_too_long_ago", Msg: MsgExpired}
	case !a.SessionNotOnOrAfter.IsZero() && !a.SessionNotOnOrAfter.After(now):
		return "", &Error{Kind: Expired, Reason: "session_expired", Msg: MsgExpired}
	}
	return c.Recipient, nil
}

// UsableUntil is how long the assertion's ID must stay single-use: until
// the last of its deadlines, plus the leeway.
func (a *Assertion) UsableUntil(leeway time.Duration) time.Time {
	t := a.NotOnOrAfter
	for _, c := range a.Confirmations {
		if c.NotOnOrAfter.After(t) {
			t = c.NotOnOrAfter
		}
	}
	return t.Add(leeway)
}
