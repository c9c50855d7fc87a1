// Package stsclient calls a target account's STS for integrations (the
// integration.Target port): AssumeRoleWithWebIdentity (unsigned),
// AssumeRole, GetSessionToken and GetCallerIdentity (SigV4), over the
// Query protocol (aws-sts.md section 2), through the guarded outbound
// client: operator-configured endpoints only, no redirects, bounded
// answers. Answers are parsed strictly into typed results; the target's
// error code and message are kept, bounded, for the diagnosis.
package stsclient
