// Package websession keeps browser sign-in sessions, several per browser
// as the AWS console's multi-session does: a browser holds one random
// cookie value, and keyless keeps, under its hash, the sessions signed in
// from it, each with an idle and an absolute timeout. Signing in gives
// the browser a new cookie value, so that a value planted before the
// sign-in is worth nothing after it (session fixation, OWASP). Forms carry
// a token derived from a per-browser secret (CSRF).
//
// Records are storage.Records; no HTTP here.
package websession
