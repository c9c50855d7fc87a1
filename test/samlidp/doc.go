// Command samlidp is the SAML 2.0 identity provider keyless's end-to-end
// tests run (test/e2e/samlidp_test.go): crewjam/saml's samlidp server,
// whose REST API creates users (PUT /users/NAME), service providers
// (PUT /services/NAME with SP metadata) and IdP-initiated shortcuts
// (PUT /shortcuts/NAME), and whose GET /login/SHORTCUT answers an
// auto-posting form carrying a signed Response (SAML bindings 3.5, HTTP
// POST; SAML profiles 4.1.5, unsolicited responses).
//
// It adds what an IdP application built for AWS sends: the attributes of
// IAM User Guide, id_roles_providers_create_saml_assertions (Role,
// RoleSessionName, SourceIdentity, SessionDuration, PrincipalTag:KEY,
// TransitiveTagKeys), kept per user in memory, set with
// PUT /aws-attributes/NAME (a JSON object of attribute name to values)
// or loaded at start from the -attributes file (user name to such an
// object). It signs with RSA-SHA256 unless -signature-method says
// otherwise (crewjam's default is RSA-SHA1), and keeps its RSA-2048 key
// and self-signed certificate in the -state directory, made on first
// start. When it serves, it prints "samlidp listening on URL".
//
// It is a test fixture on loopback, not an identity provider to deploy:
// users and sessions live in memory, and its REST API is open.
//
// It is a module of its own, so keyless's go.mod does not depend on
// crewjam/saml; scripts/test-deps.sh builds it.
package main
