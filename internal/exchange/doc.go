// Package exchange is keyless workload authentication: a workload proves
// who it is with an OIDC JWT from its platform or an AWS-signed
// GetCallerIdentity request, the proof is matched against the identity
// providers the operator declared (issuer, subject pattern, audiences,
// claim conditions), and the provider that matches grants a role session.
//
// It is domain code: no HTTP, no XML, no storage driver. Verifying an AWS
// proof needs the network, so it sits behind AWSVerifier (internal/awsproof
// implements it); OIDC tokens are verified by internal/idtoken with the
// key sets of internal/jwks.
package exchange
