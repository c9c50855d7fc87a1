package saml

import (
	"context"
	"crypto/x509"
	"time"
)

// Assertion is the content of the one assertion a verified SAML Response
// carries, read only from the element its signature covers (security.md
// V-31, V-37). Times are zero when the element is absent.
type Assertion struct {
	// ID is the assertion's ID, single-use until it expires (SAML
	// profiles 4.1.4.5).
	ID           string
	Issuer       string
	IssueInstant time.Time

	// Destination and ResponseIssuer come from the enclosing Response;
	// empty when absent.
	Destination    string
	ResponseIssuer string

	// Subject is the NameID's value and SubjectFormat its Format
	// attribute ("" when absent).
	Subject       string
	SubjectFormat string

	// Confirmations are the Subject's SubjectConfirmation elements.
	Confirmations []Confirmation

	// NotBefore and NotOnOrAfter are the Conditions element's.
	NotBefore    time.Time
	NotOnOrAfter time.Time
	// AudienceRestrictions lists each AudienceRestriction's audiences;
	// a relying party must be in every one (SAML core 2.5.1.4).
	AudienceRestrictions [][]string
	// OneTimeUse is set when Conditions carries OneTimeUse.
	OneTimeUse bool

	// SessionNotOnOrAfter is the first AuthnStatement's; credentials
	// never outlive it.
	SessionNotOnOrAfter time.Time
	// AuthnStatements counts AuthnStatement elements.
	AuthnStatements int

	// Attributes in document order; several Attribute elements with one
	// Name are kept apart.
	Attributes []Attribute
}

// Confirmation is one SubjectConfirmation (SAML core 2.4.1).
type Confirmation struct {
	Method       string
	Recipient    string
	NotBefore    time.Time
	NotOnOrAfter time.Time
	InResponseTo string
	// HasData reports a SubjectConfirmationData element.
	HasData bool
}

// Attribute is one Attribute of an AttributeStatement, with the full text
// of each AttributeValue.
type Attribute struct {
	Name       string
	NameFormat string
	Values     []string
}

// Keys is what a Response's signature may be checked against: a SAML
// provider's registered signing certificates, never one the document
// carries (security.md SAML-08).
type Keys struct {
	Certificates []*x509.Certificate
	// AllowSHA1 admits rsa-sha1 signatures and sha1 digests; off unless
	// the provider's configuration says otherwise (SAML-07).
	AllowSHA1 bool
}

// Verifier decodes a base64 SAML Response, checks its shape and its
// signature against keys at time now, and returns the assertion that the
// signature covers. Every refusal is an *Error of kind Invalid.
//
// Issuer returns the Issuer an encoded Response claims, unverified: it only
// picks which providers' keys to try, and is never trusted.
//
// Both may wait for a free parsing slot, no longer than ctx allows; a
// wait given up is an error that is not an *Error (the service is busy).
type Verifier interface {
	Verify(ctx context.Context, encoded string, keys Keys, now time.Time) (*Assertion, error)
	Issuer(ctx context.Context, encoded string) (string, error)
}

// Values returns the values of every attribute called name (names are
// case-sensitive, as AWS reads them), and whether one was present.
func (a *Assertion) Values(name string) ([]string, bool) {
	var out []string
	found := false
	for _, at := range a.Attributes {
		if at.Name == name {
			found = true
			out = append(out, at.Values...)
		}
	}
	return out, found
}
