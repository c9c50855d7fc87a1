// Package awsproof verifies a workload's AWS identity from a serialized,
// SigV4-signed sts:GetCallerIdentity request (Google STS's AWS subject
// token: {"url", "method", "headers", "body"}) that an upstream STS
// executes on keyless's behalf.
//
// The verifier never forwards what the client sent (security.md V-01,
// CVE-2020-16250): it checks the envelope strictly, refuses before any
// connection whatever is not the one allowed shape, and rebuilds the
// outbound request from a fixed template, copying in only the signed
// values. In particular:
//
//   - duplicate and case-variant keys and header names are refused (V-05);
//   - the endpoint comes from an allow-list and the credential scope's
//     region must be the endpoint's (V-06, V-07);
//   - the audience header and every forwarded header must be signed, and
//     an optional single-use server challenge can be required (V-08);
//   - an optional client nonce (X-Keyless-Nonce), which makes requests
//     signed in the same second differ, must be signed and is bounded;
//   - a signature is accepted once, within a 5 minute window (V-08);
//   - redirects are never followed (V-04), and the answer is read as
//     exactly one GetCallerIdentityResponse document (V-01).
//
// Binding to a role's unique ID rather than its ARN (V-09) is the caller's
// job: the identity carries UserId for that.
package awsproof
