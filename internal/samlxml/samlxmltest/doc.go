// Package samlxmltest is a test SAML identity provider for keyless's
// tests: it makes a key and a self-signed certificate, publishes IdP
// metadata, and signs SAML Responses (with goxmldsig, exclusive
// canonicalization, enveloped signatures placed after the Issuer as the
// SAML schema requires) in the shapes real IdPs send: Okta, AD FS, Entra
// ID, and a generic one that declares its namespaces once on the Response.
//
// It also builds hostile documents from signed ones: Mutate edits the XML
// tree, XSW builds the nine signature wrapping permutations (SAMLRaider
// numbering), MultipleAssertions the CVE-2022-41912 case, and Resign lets a
// test alter a SignedInfo and still carry a signature that verifies over
// it.
//
// Nothing here is for production: keys are made on the spot and errors
// panic.
package samlxmltest
