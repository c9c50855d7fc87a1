// Package hostile is the identity-boundary hostile-input suite: the rows of
// ../shared/reference/security.md section 3 that apply to the actions
// keyless serves, as table tests named by the rows' stable ids, run
// against the real HTTP handler and server limits with an in-memory store
// and a fake clock.
//
// Every refusal is checked the same way (assertDenied): the exact AWS code
// and HTTP status, no credentials in the body, exactly one audit event for
// the request carrying that code, and no secret in any audit event or log
// line (checked once more over everything at the end of the suite).
package hostile
