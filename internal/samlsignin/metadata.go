package samlsignin

import (
	"encoding/xml"
)

// DefaultEntityID is the SP entity ID IdP applications built for AWS
// send as the Audience (https://signin.aws.amazon.com/static/saml-metadata.xml).
const DefaultEntityID = "urn:amazon:webservices"

// SAML 2.0 names used in the metadata (SAML metadata 2.4.4; SAML
// bindings 3.5; SAML core 8.3).
const (
	nsMetadata        = "urn:oasis:names:tc:SAML:2.0:metadata"
	protocolSAML2     = "urn:oasis:names:tc:SAML:2.0:protocol"
	bindingHTTPPost   = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	nameIDPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	nameIDTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	metadataMediaType = "application/samlmetadata+xml"
)

// entityDescriptor is SAML metadata 2.3.2's EntityDescriptor with one
// SPSSODescriptor. Only the root names the namespace: its children,
// unqualified, are in it as its default namespace.
type entityDescriptor struct {
	XMLName  xml.Name     `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID string       `xml:"entityID,attr"`
	SP       spDescriptor `xml:"SPSSODescriptor"`
}

// spDescriptor is SAML metadata 2.4.4's SPSSODescriptor: keyless signs no
// AuthnRequest (sign-in is IdP-initiated) and wants signed assertions.
type spDescriptor struct {
	ProtocolSupport      string     `xml:"protocolSupportEnumeration,attr"`
	AuthnRequestsSigned  bool       `xml:"AuthnRequestsSigned,attr"`
	WantAssertionsSigned bool       `xml:"WantAssertionsSigned,attr"`
	NameIDFormats        []string   `xml:"NameIDFormat"`
	ACS                  []endpoint `xml:"AssertionConsumerService"`
}

// endpoint is an IndexedEndpointType (SAML metadata 2.2.3).
type endpoint struct {
	Binding   string `xml:"Binding,attr"`
	Location  string `xml:"Location,attr"`
	Index     int    `xml:"index,attr"`
	IsDefault bool   `xml:"isDefault,attr,omitempty"`
}

// Metadata is keyless's SP metadata: entityID, and one HTTP-POST
// AssertionConsumerService per sign-in URL, indexed in order, the first
// the default (SAML metadata 2.2.3, 2.4.4).
func Metadata(entityID string, signInURLs []string) []byte {
	d := entityDescriptor{EntityID: entityID, SP: spDescriptor{
		ProtocolSupport:      protocolSAML2,
		WantAssertionsSigned: true,
		NameIDFormats:        []string{nameIDPersistent, nameIDTransient},
	}}
	for i, u := range signInURLs {
		d.SP.ACS = append(d.SP.ACS, endpoint{Binding: bindingHTTPPost, Location: u, Index: i, IsDefault: i == 0})
	}
	out, err := xml.MarshalIndent(d, "", "  ")
	if err != nil {
		// Only strings, ints and bools: encoding/xml cannot fail on them.
		panic("samlsignin: metadata: " + err.Error())
	}
	return append([]byte(xml.Header), append(out, '\n')...)
}
