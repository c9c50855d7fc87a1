// Package loginapi is the HTTP edge of developer sign-in's authorization
// server (package login), at the root of the public URL as the clients
// require (signin-and-issuer.md section 1.6): POST /v1/token, AWS's
// CreateOAuth2Token (rest-json, unsigned, DPoP on every call), with its
// errors as the clients parse them ({"error","message"} and the
// x-amzn-errortype header).
package loginapi
