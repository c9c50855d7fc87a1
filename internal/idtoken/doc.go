// Package idtoken verifies OpenID Connect ID tokens and other JWTs that
// identity providers issue: compact JWS only (RFC 7515 section 7.1), an
// algorithm allow-list per provider, no keys taken from the token itself,
// strict decoding, and the iss/aud/azp/exp/nbf/iat rules of OpenID Connect
// Core 1.0 section 3.1.3.7 and AWS's AssumeRoleWithWebIdentity. It is pure:
// keys come from a KeySource (package jwks fetches them).
package idtoken
