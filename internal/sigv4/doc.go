// Package sigv4 verifies AWS Signature Version 4 on incoming requests, in both
// the Authorization-header form and the presigned query-string form.
//
// It follows "Create a signed AWS API request" in the IAM User Guide
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
// canonical request, string to sign, derived signing key, HMAC-SHA256,
// compared in constant time. Verification is split in two so that the caller
// can look the access key up in between: Parse checks the shape of the
// signature without any secret, Verify recomputes it with the secret.
//
// The package knows HTTP header and query conventions but nothing about STS
// actions, credentials or storage.
package sigv4
