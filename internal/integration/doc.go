// Package integration reaches other AWS accounts without stored keys: an
// integration names a role in a target account, and keyless obtains the
// role's short-lived credentials from the target's STS, either with a
// token from its own OIDC issuer for the integration's WIF subject
// (AssumeRoleWithWebIdentity, "workload identity federation") or, to
// retire it, with an IAM user's access key (AssumeRole or
// GetSessionToken). It checks each integration (periodically, once per
// deployment, and on demand), keeps its status (configuring, active,
// error, missing, deleted) with a diagnosis a person can act on, explains
// the target's set-up, and hands credentials to permitted consumers from
// a cache, so that many consumers do not become many AssumeRole calls.
//
// The target's STS is reached through the Target port (package stsclient
// implements it); statuses live in storage.IntegrationStates.
package integration
