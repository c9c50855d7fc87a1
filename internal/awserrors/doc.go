// Package awserrors is the one table from refusals to AWS error codes,
// HTTP statuses and messages (aws-sts.md sections 1.2 and 3.8), for every
// surface that answers with AWS error codes: the STS Query API, the
// authorization API and the sign-in pages. Anything it does not recognise
// is an internal failure whose details stay in the server log.
package awserrors
