package samlxmltest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/saml"
)

// Defaults of a test IdP and of the Responses it signs.
const (
	// SSOLocation is the SingleSignOnService location in Metadata.
	SSOLocation = "https://idp.example.test/sso"
	// DefaultRecipient is the Destination and Recipient when a Response
	// names none: AWS's sign-in endpoint.
	DefaultRecipient = "https://signin.aws.amazon.com/saml"
	// DefaultAudience is the Audience when a Response names none.
	DefaultAudience = "urn:amazon:webservices"
)

// IdP is a test SAML identity provider: an entity ID, a signing key and its
// self-signed certificate.
//
//lint:ignore ST1003 IdP is SAML's own spelling (SAML glossary), used by callers
type IdP struct {
	EntityID string
	key      crypto.Signer
	cert     *x509.Certificate
}

// IdPOptions choose the key and the certificate's validity.
//
//lint:ignore ST1003 IdP is SAML's own spelling, used by callers
type IdPOptions struct {
	// NotBefore and NotAfter bound the certificate; zero means
	// 2000-01-01 and 2100-01-01.
	NotBefore, NotAfter time.Time
	// ECDSA makes a P-256 key instead of RSA-2048.
	ECDSA bool
	// RSABits overrides the RSA key size (default 2048), for testing
	// refusals of weak keys.
	RSABits int
}

// NewIdP returns an IdP with an RSA-2048 key and a certificate valid from
// 2000 to 2100.
//
//lint:ignore ST1003 IdP is SAML's own spelling, used by callers
func NewIdP(entityID string) *IdP { return NewIdPWith(entityID, IdPOptions{}) }

// NewIdPWith returns an IdP with the given key type and validity.
//
//lint:ignore ST1003 IdP is SAML's own spelling, used by callers
func NewIdPWith(entityID string, o IdPOptions) *IdP {
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var key crypto.Signer
	var err error
	if o.ECDSA {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		bits := o.RSABits
		if bits == 0 {
			bits = 2048
		}
		key, err = rsa.GenerateKey(rand.Reader, bits)
	}
	must(err)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	must(err)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "samlxmltest " + entityID},
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	must(err)
	cert, err := x509.ParseCertificate(der)
	must(err)
	return &IdP{EntityID: entityID, key: key, cert: cert}
}

// Certificate is the IdP's signing certificate.
func (p *IdP) Certificate() *x509.Certificate { return p.cert }

// Keys are the IdP's certificate as a SAML provider registers it.
func (p *IdP) Keys() saml.Keys {
	return saml.Keys{Certificates: []*x509.Certificate{p.cert}}
}

// CertificateBase64 is the certificate's DER in base64, as metadata and
// KeyInfo carry it.
func (p *IdP) CertificateBase64() string {
	return base64.StdEncoding.EncodeToString(p.cert.Raw)
}

// Metadata is the IdP's metadata (SAML metadata 2.3.2, 2.4.3): one
// IDPSSODescriptor for SAML 2.0 with the signing certificate and an
// HTTP-POST and HTTP-Redirect SingleSignOnService at SSOLocation.
func (p *IdP) Metadata() []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + escape(p.EntityID) + `">` + "\n")
	b.WriteString(`  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` + "\n")
	b.WriteString(`    <md:KeyDescriptor use="signing">` + "\n")
	b.WriteString(`      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + "\n")
	cert := p.CertificateBase64()
	for len(cert) > 64 {
		b.WriteString("        " + cert[:64] + "\n")
		cert = cert[64:]
	}
	b.WriteString("        " + cert + "\n")
	b.WriteString(`      </ds:X509Certificate></ds:X509Data></ds:KeyInfo>` + "\n")
	b.WriteString(`    </md:KeyDescriptor>` + "\n")
	b.WriteString(`    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>` + "\n")
	b.WriteString(`    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>` + "\n")
	b.WriteString(`    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + SSOLocation + `"/>` + "\n")
	b.WriteString(`    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + SSOLocation + `"/>` + "\n")
	b.WriteString(`  </md:IDPSSODescriptor>` + "\n")
	b.WriteString(`</md:EntityDescriptor>` + "\n")
	return []byte(b.String())
}

// Encode is the base64 a browser posts as SAMLResponse and AWS clients
// send as SAMLAssertion.
func Encode(xml []byte) string { return base64.StdEncoding.EncodeToString(xml) }

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;").Replace(s)
}

func must(err error) {
	if err != nil {
		panic("samlxmltest: " + err.Error())
	}
}
