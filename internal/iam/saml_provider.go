package iam

import "crypto/x509"

// SAMLProvider is an IAM SAML identity provider: an IdP whose signed SAML
// Responses roles of its account may trust (IAM User Guide,
// id_roles_providers_create_saml). It is declared from the IdP's metadata.
type SAMLProvider struct {
	Account string
	Name    string
	// EntityID is the IdP's entity ID, compared exactly with an
	// assertion's Issuer.
	EntityID string
	// Certificates are the usable signing certificates of the metadata,
	// several during a rotation. Never empty.
	Certificates []*x509.Certificate
	// SkippedCertificates say why the metadata's other certificates are
	// not used (logged when keyless starts).
	SkippedCertificates []string
	// AllowSHA1 admits SHA-1 signatures and digests from this IdP.
	AllowSHA1 bool
}

// ARN is arn:aws:iam::ACCOUNT:saml-provider/NAME.
func (p *SAMLProvider) ARN() string {
	return "arn:aws:iam::" + p.Account + ":saml-provider/" + p.Name
}

// SAMLProvider finds an account's SAML provider by name.
func (d *Directory) SAMLProvider(account, name string) (*SAMLProvider, bool) {
	p, ok := d.saml[account+"/"+name]
	return p, ok
}

// SAMLProvidersFor lists the providers, in any account, whose entity ID is
// issuer: the candidates for a sign-in page, which learns the account
// only from the assertion.
func (d *Directory) SAMLProvidersFor(issuer string) []*SAMLProvider {
	return d.samlByIssuer[issuer]
}
