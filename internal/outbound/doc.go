// Package outbound is the guarded HTTP client for every fetch keyless makes to
// an operator-configured address (OIDC discovery documents, JWKS) and every
// POST to an upstream STS (GetCallerIdentity, security.md V-01). It refuses
// internal and metadata addresses on the resolved IP at dial time, never
// follows redirects, caps body size and time, and can pin certificate
// thumbprints as IAM OIDC providers do.
package outbound
