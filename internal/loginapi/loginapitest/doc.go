// Package loginapitest drives the client side of `aws login` as the AWS CLI
// v2 does (signin-and-issuer.md sections 1 and 2): PKCE with the method
// SHA-256, a P-256 DPoP key and its proofs, the authorization URL with
// the CLI's parameters, a scripted browser that signs in on keyless's
// pages and consents, the token call, and the cache file the SDKs
// refresh from. Tests and make bench use it where the real CLI cannot run
// (see docs/compatibility.md).
package loginapitest
