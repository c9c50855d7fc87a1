// Package awsquery is the AWS Query protocol codec: it turns a request's
// query string and form body into parameters, decodes typed action inputs
// with AWS's server-side constraints and Coral-style ValidationError
// messages, and encodes {Op}Response and ErrorResponse documents in XML (and
// the legacy JSON form for clients that send Accept: application/json).
//
// References: the Smithy awsQuery protocol
// (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html) and the STS
// API reference's common parameters and errors. The package knows nothing of
// STS semantics, credentials or storage.
package awsquery
