// Package portal is keyless's signed-in browser side: the password sign-in
// page (with TOTP for users with an MFA device), the browser's sessions
// (several at once, as the AWS console's multi-session: switch, get
// credentials, sign out), and the browser half of `aws login`: GET
// /v1/authorize, the consent step that issues the authorization code, and
// the cross-device confirmation page (signin-and-issuer.md sections 1
// and 2).
//
// Pages are internal/signin's (html/template, strict CSP, no framing).
// Every state-changing form is tied to the browser: the sign-in form by a
// SameSite=Strict nonce cookie (login CSRF), the others by a token derived
// from the browser's own secret (websession.Browser.FormToken). The
// session cookie is HttpOnly, SameSite=Lax, Secure and __Host- prefixed
// on https, and replaced at every sign-in (session fixation). Every POST
// records one audit event through the shared edge.
package portal
