package samlxml

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Metadata is what keyless takes from a SAML provider's IdP metadata
// (SAML metadata 2.3.2, 2.4.3): its entity ID and the signing
// certificates usable now.
type Metadata struct {
	EntityID     string
	Certificates []*x509.Certificate
	// Skipped says why each certificate that is not usable was left out.
	Skipped []string
}

// MetadataError is a refused metadata document. Reason is a stable code;
// Detail, when set, says more (never the document's content beyond
// certificate subjects and dates).
type MetadataError struct {
	Reason string
	Detail string
}

func (e *MetadataError) Error() string {
	if e.Detail == "" {
		return "SAML metadata refused: " + e.Reason
	}
	return "SAML metadata refused: " + e.Reason + ": " + e.Detail
}

func refuseMetadata(reason string) error { return &MetadataError{Reason: reason} }

// metadataLimits: an operator's file, larger than a Response; comments
// are allowed, a DTD is not.
func metadataLimits() limits {
	return limits{
		maxDepth:      defaultMaxDepth,
		maxTokens:     500_000,
		maxAttrs:      defaultMaxAttrsPerElem,
		maxValue:      maxValueBytes,
		allowComments: true,
	}
}

// ParseMetadata reads an IdP metadata document: an EntityDescriptor, or
// an EntitiesDescriptor holding exactly one (SAML metadata 2.3.1, 2.3.2),
// of 1,000 to 10,000,000 bytes as IAM's CreateSAMLProvider accepts. It
// must have exactly one IDPSSODescriptor supporting SAML 2.0 (2.4.3) and
// at least one signing certificate usable at now (security.md SAML-09,
// V-36); SingleSignOnService locations must be https, or http on a
// loopback host, with no userinfo or fragment (V-35).
//
// Metadata signatures are not checked: the document's trust comes from
// the operator's configuration file that names it, not from a signature
// inside it. For the same reason validUntil and cacheDuration are not
// enforced; the certificates' own validity is.
func ParseMetadata(data []byte, now time.Time) (*Metadata, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 BOM from an editor
	if len(data) < minMetadataBytes {
		return nil, refuseMetadata("too_short")
	}
	if len(data) > maxMetadataBytes {
		return nil, refuseMetadata("too_long")
	}
	if r := notXML(data); r != "" {
		return nil, refuseMetadata(r)
	}
	if r := prescan(data, metadataLimits()); r != "" {
		return nil, refuseMetadata(r)
	}
	if r := roundTrip(data); r != "" {
		return nil, refuseMetadata(r)
	}
	root, r := parseTree(data, metadataLimits())
	if r != "" {
		return nil, refuseMetadata(r)
	}

	ed := root
	if is(root, nsMetadata, "EntitiesDescriptor") {
		var eds []*etree.Element
		for _, c := range root.ChildElements() {
			switch {
			case is(c, nsMetadata, "EntityDescriptor"):
				eds = append(eds, c)
			case is(c, nsMetadata, "EntitiesDescriptor"):
				return nil, refuseMetadata("entity_count")
			}
		}
		if len(eds) != 1 {
			return nil, refuseMetadata("entity_count")
		}
		ed = eds[0]
	}
	if !is(ed, nsMetadata, "EntityDescriptor") {
		return nil, refuseMetadata("not_entity_descriptor")
	}
	md := &Metadata{}
	md.EntityID, _ = attr(ed, "entityID")
	if md.EntityID == "" || len(md.EntityID) > maxEntityIDLength || trimXMLSpace(md.EntityID) != md.EntityID {
		return nil, refuseMetadata("entity_id_invalid")
	}

	idps := children(ed, nsMetadata, "IDPSSODescriptor")
	if len(idps) != 1 {
		return nil, refuseMetadata("idp_descriptor_count")
	}
	idp := idps[0]
	pse, _ := attr(idp, "protocolSupportEnumeration")
	supported := false
	for _, p := range strings.Fields(pse) {
		supported = supported || p == nsProtocol
	}
	if !supported {
		return nil, refuseMetadata("saml2_not_supported")
	}
	for _, sso := range children(idp, nsMetadata, "SingleSignOnService") {
		for _, key := range []string{"Location", "ResponseLocation"} {
			if loc, ok := attr(sso, key); ok && !safeURL(loc) {
				return nil, refuseMetadata("sso_location_invalid")
			}
		}
	}

	n := 0
	for _, kd := range children(idp, nsMetadata, "KeyDescriptor") {
		use, _ := attr(kd, "use")
		switch use {
		case "", "signing":
		case "encryption":
			for range keyDescriptorCerts(kd) {
				n++
				md.Skipped = append(md.Skipped, fmt.Sprintf("certificate %d: use=\"encryption\"", n))
			}
			continue
		default:
			return nil, refuseMetadata("key_use_invalid")
		}
		for _, text := range keyDescriptorCerts(kd) {
			n++
			c, why := usableCertificate(text, now)
			for _, have := range md.Certificates {
				if c != nil && have.Equal(c) {
					c, why = nil, "duplicate"
				}
			}
			if c == nil {
				md.Skipped = append(md.Skipped, fmt.Sprintf("certificate %d: %s", n, why))
				continue
			}
			md.Certificates = append(md.Certificates, c)
		}
	}
	if len(md.Certificates) == 0 {
		return nil, &MetadataError{Reason: "no_signing_certificate", Detail: strings.Join(md.Skipped, "; ")}
	}
	return md, nil
}

// keyDescriptorCerts returns the text of each X509Certificate in a
// KeyDescriptor's KeyInfo (SAML metadata 2.4.1.1; XML-DSig 4.4.4).
func keyDescriptorCerts(kd *etree.Element) []string {
	var out []string
	for _, ki := range children(kd, nsDSig, "KeyInfo") {
		for _, xd := range children(ki, nsDSig, "X509Data") {
			for _, xc := range children(xd, nsDSig, "X509Certificate") {
				if t, ok := textOnly(xc); ok {
					out = append(out, t)
				} else {
					out = append(out, "")
				}
			}
		}
	}
	return out
}

// usableCertificate parses one X509Certificate and returns it, or nil and
// why it cannot sign Responses for keyless: not valid at now, an RSA key
// under 2048 bits, an ECDSA curve other than P-256/384/521, or another
// key type.
func usableCertificate(text string, now time.Time) (*x509.Certificate, string) {
	der, err := base64.StdEncoding.DecodeString(stripSpace(text))
	if err != nil || len(der) == 0 {
		return nil, "not base64"
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "not an X.509 certificate"
	}
	label := "subject " + c.Subject.String()
	switch {
	case now.Before(c.NotBefore):
		return nil, label + ": not valid before " + c.NotBefore.UTC().Format(time.RFC3339)
	case now.After(c.NotAfter):
		return nil, label + ": expired at " + c.NotAfter.UTC().Format(time.RFC3339)
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Sprintf("%s: RSA key of %d bits (at least 2048)", label, k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		// Responses signed with ECDSA are refused (see signatureMethod).
		return nil, label + ": ECDSA keys are not supported; sign with RSA"
	default:
		return nil, label + ": unsupported key type"
	}
	return c, ""
}

// safeURL accepts an absolute https URL, or http on a loopback host, with
// no userinfo and no fragment (security.md V-35).
func safeURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.User != nil || u.Fragment != "" || strings.Contains(s, "#") || u.Host == "" || u.Opaque != "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		if h == "localhost" {
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
	return false
}
