// Package oidcsignin is keyless's browser sign-in through an external
// OpenID Connect provider (Dex here; Okta, Entra ID or Google in
// production): keyless is the provider's relying party, with the
// authorization code flow, PKCE (RFC 7636, S256), a state bound to the
// browser by a cookie and a nonce (OpenID Connect Core 3.1), using
// golang.org/x/oauth2 and coreos/go-oidc. The person then chooses among
// the roles of the configured account whose trust policies admit their
// ID token (STS verifies it again, by the account's OIDC provider, and
// decides as AssumeRoleWithWebIdentity), and the sign-in becomes a
// browser session that aws login can continue as.
//
// Providers are configured (signin.oidc); their URLs come from the
// configuration and their discovery documents, never from a request, and
// the client follows no redirect.
package oidcsignin
