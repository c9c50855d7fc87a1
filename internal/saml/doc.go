// Package saml holds what keyless knows about a SAML 2.0 assertion once its
// signature has been checked: the typed Assertion, the checks that need no
// XML (issuer, audience, recipient, validity window, bearer confirmation),
// the attributes AWS reads and the condition keys it derives from them
// (aws-sts.md 4.3 and 5.9; IAM User Guide,
// id_roles_providers_create_saml_assertions and condition-keys-saml).
//
// It never sees XML: package samlxml parses and verifies a Response and
// hands over an Assertion through the Verifier port.
package saml
