// Package exchangeapi is the token exchange's HTTP edge: Mondoo-style
// POST /SecureTokenService/ExchangeExternalToken (JSON), the RFC 8693 token
// endpoint POST /v1/token, challenges for signed AWS requests, and the
// operator's SigV4-authenticated explain. Requests are bounded and parsed
// strictly here; refusals are RFC 6749 section 5.2 error objects, generic
// for the caller, with the failed check kept for the audit log.
package exchangeapi
