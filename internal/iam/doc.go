// Package iam holds the identities keyless knows: accounts, IAM users, their
// access keys and virtual MFA devices, as plain values with no wire or
// storage tags. A Directory is an immutable snapshot of them, built from
// configuration and looked up on every request.
package iam
