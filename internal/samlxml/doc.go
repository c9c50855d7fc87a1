// Package samlxml is the XML edge of SAML 2.0 federation: it turns the
// base64 SAML Response of AssumeRoleWithSAML or a sign-in page post into a
// verified saml.Assertion (Verifier, the saml.Verifier port), and an IdP
// metadata document into a SAML provider's entity ID and signing
// certificates (ParseMetadata).
//
// Verify runs a fixed pipeline and fails closed at the first refusal:
//
//  1. bound and strictly decode the base64 (SAML bindings 3.5.4: POST
//     binding only, never inflated; security.md SAML-21);
//  2. pre-scan the bytes token by token before any tree is built: no DTD or
//     entity (SAML-11), no comment (V-30), no processing instruction but the
//     XML declaration, UTF-8 only, bounded depth, tokens, attributes and
//     value sizes (SAML-25);
//  3. mattermost/xml-roundtrip-validator (V-33, SAML-12);
//  4. parse with etree and apply the shape rules that make signature
//     wrapping impossible (V-31, SAML-03, SAML-04): exactly one Assertion,
//     a direct child of the Response; Signatures only as direct children of
//     the Response or the Assertion; unique IDs; no encrypted elements
//     (SAML-22);
//  5. check each Signature's structure before the signature library sees
//     it (XML-DSig 4.3-4.4; SAML-06, SAML-07, CVE-2026-33487);
//  6. verify every Signature present with russellhaering/goxmldsig, against
//     the provider's registered certificates only (SAML-08, SAML-09);
//  7. read the identity only from the elements the library returns
//     (V-37).
//
// Time checks (validity windows, audience, recipient) are package saml's
// Check; this package only checks that the certificate is valid at the
// time it is given.
package samlxml
