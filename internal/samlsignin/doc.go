// Package samlsignin is keyless's browser sign-in for SAML 2.0: the pages
// at BASE/saml and BASE/REGION/saml that an identity provider posts a
// SAML Response to (SAML bindings 3.5, HTTP-POST), as it posts to
// https://signin.aws.amazon.com/saml. The page lists the roles the
// assertion's Role attribute offers, the user picks one, and instead of a
// console session gets a page of CLI credentials (IAM User Guide,
// id_roles_providers_enable-console-saml).
//
// It also serves keyless's service provider metadata at
// BASE/saml/metadata.xml (SAML metadata 2.4.4) and the pages' static
// script and style sheet. The domain (sts.Service) verifies and decides
// everything; what every browser sign-in shares (pages, headers, the role
// chooser and its CSRF cookie, the credentials page) is internal/signin;
// this package holds only SAML's part: its routes, the posted
// SAMLResponse, and one audit event per POST through the shared edge.
package samlsignin
