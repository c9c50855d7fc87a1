package samlxmltest

// Shape is how an IdP writes a Response: namespace prefixes and where
// they are declared, signature prefix, time format, typed attribute
// values. Signatures and content are the Response's.
type Shape struct {
	// Name identifies the shape; a Response whose Shape has no Name is
	// written in DefaultShape().
	Name string
	// ProtocolPrefix prefixes the protocol elements (Response, Status).
	ProtocolPrefix string
	// AssertionPrefix prefixes the assertion elements; "" declares the
	// assertion namespace as the default namespace on the Issuer and the
	// Assertion (AD FS, Entra ID).
	AssertionPrefix string
	// AssertionNSOnResponse declares the assertion prefix once, on the
	// Response, so that the Assertion relies on its ancestor's
	// declaration (SimpleSAMLphp, Shibboleth).
	AssertionNSOnResponse bool
	// SignaturePrefix prefixes XML-DSig elements; "" declares the
	// namespace as the default on Signature (Entra ID).
	SignaturePrefix string
	// IssuerFormat writes Format="...:entity" on Issuer elements (Okta).
	IssuerFormat bool
	// TypedValues writes xsi:type="xs:string" on each AttributeValue
	// with xs and xsi declared on it (Okta).
	TypedValues bool
	// InclusivePrefixes is the PrefixList of an InclusiveNamespaces on
	// the exc-c14n transform (Okta: "xs").
	InclusivePrefixes string
	// TimeLayout formats every time.
	TimeLayout string
	// NameIDFormat is the NameID Format when the Response names none.
	NameIDFormat string
	// Consent is the Response's Consent attribute, if any (AD FS).
	Consent string
	// AttributesFirst puts the AttributeStatement before the
	// AuthnStatement (AD FS, Entra ID).
	AttributesFirst bool
}

// NameID formats (SAML core 8.3).
const (
	FormatPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	FormatTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	FormatEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	FormatUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

// DefaultShape is a generic IdP's: samlp and saml prefixes both declared
// on the Response only, ds signatures, whole-second times.
func DefaultShape() Shape {
	return Shape{
		Name:                  "default",
		ProtocolPrefix:        "samlp",
		AssertionPrefix:       "saml",
		AssertionNSOnResponse: true,
		SignaturePrefix:       "ds",
		TimeLayout:            "2006-01-02T15:04:05Z",
		NameIDFormat:          FormatTransient,
	}
}

// OktaShape is Okta's: saml2p and saml2, saml2 declared on each top-level
// element that uses it, Issuer Format entity, xs:string-typed values and
// an InclusiveNamespaces PrefixList="xs", millisecond times.
func OktaShape() Shape {
	return Shape{
		Name:              "okta",
		ProtocolPrefix:    "saml2p",
		AssertionPrefix:   "saml2",
		SignaturePrefix:   "ds",
		IssuerFormat:      true,
		TypedValues:       true,
		InclusivePrefixes: "xs",
		TimeLayout:        "2006-01-02T15:04:05.000Z",
		NameIDFormat:      FormatUnspecified,
	}
}

// ADFSShape is AD FS's: samlp, the assertion namespace as the default
// namespace on Issuer and Assertion, ds signatures, Consent, millisecond
// times, persistent NameIDs, the AttributeStatement before the
// AuthnStatement. AD FS signs the assertion only.
func ADFSShape() Shape {
	return Shape{
		Name:            "adfs",
		ProtocolPrefix:  "samlp",
		AssertionPrefix: "",
		SignaturePrefix: "ds",
		TimeLayout:      "2006-01-02T15:04:05.000Z",
		NameIDFormat:    FormatPersistent,
		Consent:         "urn:oasis:names:tc:SAML:2.0:consent:unspecified",
		AttributesFirst: true,
	}
}

// EntraShape is Microsoft Entra ID's: samlp, default namespaces for the
// assertion and for Signature, seven-digit fractional seconds,
// emailAddress NameIDs, the AttributeStatement before the
// AuthnStatement.
func EntraShape() Shape {
	return Shape{
		Name:            "entra",
		ProtocolPrefix:  "samlp",
		AssertionPrefix: "",
		SignaturePrefix: "",
		TimeLayout:      "2006-01-02T15:04:05.0000000Z",
		NameIDFormat:    FormatEmail,
		AttributesFirst: true,
	}
}
