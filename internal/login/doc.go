// Package login is the domain of developer sign-in's authorization
// server, the one `aws login` and the SDKs' login credential providers
// talk to (signin-and-issuer.md sections 1 and 2): single-use
// authorization codes bound to a PKCE challenge and a redirect URI, and
// refresh token families bound to the client's DPoP key (RFC 9449
// section 5), each refresh rotating the token, with a short grace window
// for processes that share one cache file and race, reuse detection that
// ends the family, and a cap on the whole session.
//
// A refresh token names its family and generation and is authenticated
// by an HMAC under a master key (package keyring): nothing secret is
// stored, and the current token can be given again within the grace
// window. Codes and families are storage.Records.
//
// No HTTP here: package loginapi is the edge, and the credentials,
// permissions and ID token come from an Issuer.
package login
