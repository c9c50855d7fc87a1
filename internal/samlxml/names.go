package samlxml

// XML namespaces (SAML core 1.2; XML-DSig 1.3; Exclusive XML
// Canonicalization 1.0; XML Schema part 1, 2.6).
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
	nsXSI       = "http://www.w3.org/2001/XMLSchema-instance"
	nsXML       = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS     = "http://www.w3.org/2000/xmlns/"
)

// SAML URIs (SAML core 3.2.2.2, 8.3.6).
const (
	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	formatEntity  = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
	samlVersion   = "2.0"
)

// XML-DSig algorithm identifiers (XML-DSig 6; RFC 6931 2.1.3, 2.3.2, 2.3.6).
const (
	algExcC14N      = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algEnveloped    = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	algRSASHA1      = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	algRSASHA256    = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algRSASHA384    = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	algRSASHA512    = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	algECDSASHA256  = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	algECDSASHA384  = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	algECDSASHA512  = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
	algDigestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	algDigestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	algDigestSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	algDigestSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

// Bounds applied before and while parsing (security.md SAML-21, SAML-25).
const (
	maxEncodedLength       = 100_000    // AWS STS API reference, AssumeRoleWithSAML: SAMLAssertion
	maxValueBytes          = 64 << 10   // one text node or attribute value
	minMetadataBytes       = 1_000      // IAM API reference, CreateSAMLProvider: SAMLMetadataDocument
	maxMetadataBytes       = 10_000_000 // idem
	maxEntityIDLength      = 1024
	maxAttributes          = 200
	maxValuesPerAttribute  = 100
	maxAudiences           = 20
	defaultMaxDepth        = 32
	defaultMaxTokens       = 20_000
	defaultMaxAttrsPerElem = 64
	// A Response has a few hundred elements and fewer than ten prefixes
	// in scope (Okta re-declares xs and xsi on every AttributeValue, but
	// the same two); these bound exclusive c14n's elements x prefixes.
	defaultMaxElements = 2_000
	defaultMaxPrefixes = 24
)
