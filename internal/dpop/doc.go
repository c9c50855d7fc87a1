// Package dpop verifies DPoP proofs (RFC 9449) the way AWS's developer
// sign-in clients send them on every token call (aws login, the Go and
// JavaScript SDKs' login credential providers): a compact JWS with typ
// dpop+jwt, alg ES256 and the client's P-256 public key in the header,
// claiming the request's method (htm) and URL (htu), when it was made
// (iat) and a unique id (jti). The clients send neither ath nor a nonce
// and read no DPoP-Nonce, so none is asked for (signin-and-issuer.md
// section 1.3).
//
// A verified proof yields the key's RFC 7638 thumbprint (jkt), to which
// a refresh token is bound, and its jti, for the caller's replay check.
package dpop
