// Package sigauth authenticates a SigV4-signed request against keyless's
// credentials: parse the signature, look up the access key (long-term, or a
// session token), verify the signature in constant time, then check the
// session (expiry, revocation, principal still present). The STS edge and
// the authorization API both use it, so a request is authenticated the
// same way wherever it arrives.
package sigauth
