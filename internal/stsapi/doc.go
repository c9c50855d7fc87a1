// Package stsapi is the STS Query API surface, mounted at "/" on the shared
// edge (internal/edge), which starts the audit event, bounds the body,
// recovers panics, stores the event before the answer and counts the
// request. stsapi runs STS's own phases, so that no action can skip one:
//
//	path and method -> AWS Query parameters -> Action and Version
//	-> SigV4 (edge.Call.Authenticate: parse, credential lookup, verify,
//	caller checks) -> action
//
// and writes the answer: XML, or JSON for Accept: application/json. Each
// action has its own file that decodes its parameters into typed sts
// requests and encodes the result; refusals go through AWS's one error
// table, internal/awserrors.
package stsapi
