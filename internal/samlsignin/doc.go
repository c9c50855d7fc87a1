// Package samlsignin is keyless's browser sign-in for SAML 2.0: the pages
// at BASE/saml and BASE/REGION/saml that an identity provider posts a
// SAML Response to (SAML bindings 3.5, HTTP-POST), as it posts to
// https://signin.aws.amazon.com/saml. The page lists the roles the
// assertion's Role attribute offers, the user picks one, and instead of a
// console session gets a page of CLI credentials (IAM User Guide,
// id_roles_providers_enable-console-saml).
//
// It also serves keyless's service provider metadata at
// BASE/saml/metadata.xml (SAML metadata 2.4.4) and the page's static
// script and style sheet. The domain (sts.Service) verifies and decides
// everything; this package is the edge: bounds, headers, pages and one
// audit event per POST.
package samlsignin
