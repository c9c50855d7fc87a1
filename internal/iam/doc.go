// Package iam holds the identities keyless knows: accounts, IAM users and
// roles, their access keys, virtual MFA devices and compiled policies, as
// plain values with no wire or storage tags. A Directory is an immutable
// snapshot of them, built from configuration and looked up on every
// request.
package iam
